"""The transactional records of matching: runs, incremental updates and the outbox.

SQLAlchemy 2 Core on the embedded SQLite default or PostgreSQL (zhida.profiles.paths.database_url).
A `prefix` (tests) or `schema` keeps several sets of tables apart in one database.
"""

from __future__ import annotations

import json

import sqlalchemy as sa


class MatchTables:
    """The tables; services open the transactions, this class only names the tables."""

    def __init__(self, engine: sa.Engine, prefix: str = "", schema: str | None = None) -> None:
        self.engine = engine
        self.metadata = sa.MetaData(schema=schema)
        self.runs = sa.Table(
            f"{prefix}match_runs", self.metadata,
            sa.Column("id", sa.String(40), primary_key=True),
            sa.Column("kind", sa.String(16), nullable=False),          # full | sandbox
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("as_of", sa.Date, nullable=False),
            sa.Column("policies", sa.Text, nullable=False),            # JSON [[policy id, content hash], ...]
            sa.Column("snapshot", sa.Text, nullable=False),            # JSON: store root and batches
            sa.Column("enterprises", sa.Integer, nullable=False),
            sa.Column("clauses", sa.Integer, nullable=False),
            sa.Column("eligible", sa.Integer, nullable=False),
            sa.Column("unknown", sa.Integer, nullable=False),
            sa.Column("near_miss", sa.Integer, nullable=False),
            sa.Column("near_misses", sa.String(8), nullable=False, server_default="marked"),  # marked|all|none
            sa.Column("excluded", sa.Integer, nullable=False),
            sa.Column("results_sha256", sa.String(64), nullable=False),
        )
        self.updates = sa.Table(
            f"{prefix}match_updates", self.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("run_id", sa.String(40), nullable=False, index=True),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("file", sa.Text, nullable=False),                # delta file, relative to the run dir
            sa.Column("enterprises", sa.Text, nullable=False),         # JSON list of USCCs, or "*"
            sa.Column("clauses", sa.Text, nullable=False),             # JSON list of clause keys, or "*"
            sa.Column("pairs", sa.Integer, nullable=False),
            sa.Column("policy_id", sa.String(200), nullable=True),     # a published policy version, if any
            sa.Column("policy_version", sa.String(64), nullable=True),
        )
        # which enterprises each enterprise-scoped update re-matched: an enterprise's current
        # results read only the updates that touched it (and those of every enterprise, "*")
        self.update_scope = sa.Table(
            f"{prefix}match_update_enterprises", self.metadata,
            sa.Column("uscc", sa.String(18), primary_key=True),
            sa.Column("update_id", sa.Integer, primary_key=True),
        )
        self.events = sa.Table(
            f"{prefix}match_events", self.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("update_id", sa.Integer, nullable=False, index=True),
            sa.Column("run_id", sa.String(40), nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("uscc", sa.String(18), nullable=False, index=True),
            sa.Column("clause", sa.String(200), nullable=False),
            sa.Column("policy_version", sa.String(64), nullable=True),
            sa.Column("old_status", sa.String(16), nullable=True),
            sa.Column("new_status", sa.String(16), nullable=True),
            sa.Column("old_amount_fen", sa.BigInteger, nullable=True),
            sa.Column("new_amount_fen", sa.BigInteger, nullable=True),
            sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        )

    @classmethod
    def from_url(cls, url: str, prefix: str = "", schema: str | None = None) -> MatchTables:
        tables = cls(sa.create_engine(url), prefix, schema)
        tables.create()
        return tables

    def create(self) -> None:
        self.metadata.create_all(self.engine)
        self._index_earlier_updates()

    def _index_earlier_updates(self) -> None:
        """Scope rows for updates committed before the scope table existed (idempotent)."""
        u, scope = self.updates, self.update_scope
        missing = sa.select(u.c.id, u.c.enterprises).where(
            (u.c.enterprises != "*") & ~sa.exists().where(scope.c.update_id == u.c.id))
        with self.engine.begin() as conn:
            rows = [{"uscc": uscc, "update_id": update_id}
                    for update_id, enterprises in conn.execute(missing) for uscc in json.loads(enterprises)]
            if rows:
                conn.execute(sa.insert(scope), rows)

    def drop(self) -> None:
        self.metadata.drop_all(self.engine)
