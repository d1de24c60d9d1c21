"""Data-use records (数据使用记录): who used which fields of which enterprise, why, on what basis.

Every read of an enterprise's data for a purpose is recorded: one row per enterprise, or one
row for a whole-population use (matching every enterprise), which then appears in every
enterprise's list. SQLAlchemy Core; SQLite under the data directory by default, PostgreSQL
when configured.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from zhida.profiles.errors import ProfileError

POPULATION = "population"
ENTERPRISE = "enterprise"


class DataUseError(ProfileError):
    """A data use without a purpose, an actor, or a legal basis or consent."""


@dataclass(frozen=True)
class DataUse:
    id: int
    used_at: datetime
    scope: str
    uscc: str | None
    fields: tuple[str, ...]
    purpose: str
    actor: str
    legal_basis: str | None
    consent_ref: str | None
    as_of: date | None
    enterprises: int


def _table(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name, metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=True, index=True),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("legal_basis", sa.String(300), nullable=True),
        sa.Column("consent_ref", sa.String(100), nullable=True),
        sa.Column("as_of", sa.Date, nullable=True),
        sa.Column("enterprises", sa.Integer, nullable=False),
    )


class DataUseLog:
    """Append-only log of data uses. The caller's transaction is respected: `record` takes a
    connection when given one, else commits its own."""

    def __init__(self, engine: sa.Engine, table_name: str = "data_use", schema: str | None = None) -> None:
        self.engine = engine
        self.metadata = sa.MetaData(schema=schema)
        self.table = _table(self.metadata, table_name)

    @classmethod
    def from_url(cls, url: str, **kw: str | None) -> DataUseLog:
        log = cls(sa.create_engine(url), **kw)  # type: ignore[arg-type]
        log.create()
        return log

    def create(self) -> None:
        self.metadata.create_all(self.engine)

    def drop(self) -> None:
        self.metadata.drop_all(self.engine)

    def record(
        self,
        *,
        fields: Sequence[str],
        purpose: str,
        actor: str,
        used_at: datetime,
        uscc: str | None = None,
        legal_basis: str | None = None,
        consent_ref: str | None = None,
        as_of: date | None = None,
        enterprises: int = 1,
        conn: sa.Connection | None = None,
    ) -> int:
        """Record one use. `uscc=None` means a whole-population use of `enterprises` rows."""
        problems = []
        if not purpose.strip():
            problems.append("缺少用途（purpose）")
        if not actor.strip():
            problems.append("缺少使用人（actor）")
        if not (legal_basis or consent_ref):
            problems.append("缺少法律依据（legal_basis）或企业授权编号（consent_ref）")
        if not fields:
            problems.append("缺少使用的字段清单")
        if problems:
            raise DataUseError("数据使用记录不完整：" + "；".join(problems) + "。请补齐后再使用数据。")
        row = {
            "used_at": used_at, "scope": ENTERPRISE if uscc else POPULATION, "uscc": uscc,
            "fields": json.dumps(sorted(set(fields)), ensure_ascii=False), "purpose": purpose,
            "actor": actor, "legal_basis": legal_basis, "consent_ref": consent_ref, "as_of": as_of,
            "enterprises": 1 if uscc else enterprises,
        }
        stmt = sa.insert(self.table).values(**row).returning(self.table.c.id)
        if conn is not None:
            return int(conn.execute(stmt).scalar_one())
        with self.engine.begin() as own:
            return int(own.execute(stmt).scalar_one())

    def for_enterprise(self, uscc: str) -> list[DataUse]:
        """Every use that touched this enterprise, newest first (population-wide uses included)."""
        t = self.table
        q = sa.select(t).where(sa.or_(t.c.uscc == uscc, t.c.scope == POPULATION)).order_by(
            t.c.used_at.desc(), t.c.id.desc())
        with self.engine.connect() as conn:
            return [self._use(r) for r in conn.execute(q).mappings()]

    @staticmethod
    def _use(r: sa.RowMapping) -> DataUse:
        return DataUse(
            id=r["id"], used_at=r["used_at"], scope=r["scope"], uscc=r["uscc"],
            fields=tuple(json.loads(r["fields"])), purpose=r["purpose"], actor=r["actor"],
            legal_basis=r["legal_basis"], consent_ref=r["consent_ref"], as_of=r["as_of"],
            enterprises=r["enterprises"],
        )


def requirement_fields(columns: Sequence[str]) -> list[str]:
    """Field, list and tag names read through frame columns (`revenue@2024` -> `revenue`,
    `list@高新技术企业` -> `list:高新技术企业`), for recording a whole-population use."""
    out = []
    for c in columns:
        kind, _, name = c.partition("@")
        if kind in ("list", "list_since", "tag", "zone"):
            out.append(f"{kind}:{name}")
        else:
            out.append(kind)
    return sorted(set(out))
