"""The transactional store: one engine, units of work on it, its schema kept current.

Embedded SQLite (a file under the data directory) is upgraded to the latest migration on first
use; a server database (PostgreSQL) is upgraded by an operator with `zhida db upgrade`, and
refused with that advice until it is.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zhida.db import migrate
from zhida.db.uow import Sealer, UnitOfWork


def create_engine(url: str, **kw: Any) -> sa.Engine:
    """An engine with the store's connection settings (SQLite: foreign keys on, write-ahead
    logging so pages are read while a decision is written, waits for a writer instead of
    failing at once; commits stay fully synchronous: an acknowledged decision survives a crash)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **kw)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kw)


class Database:
    """The store behind one URL. `uow()` gives a new unit of work for one service call."""

    def __init__(self, engine: sa.Engine, sealer: Sealer | None = None) -> None:
        self.engine = engine
        self.sealer = sealer      # personal values sealed at rest (None: stored as given)

    @classmethod
    def open(cls, url: str, *, upgrade: bool | None = None, sealer: Sealer | None = None) -> Database:
        """Open the store at `url`. `upgrade`: migrate to the latest schema first (default:
        yes for embedded SQLite, no for a server, whose schema must then already be current)."""
        engine = create_engine(url)
        if upgrade if upgrade is not None else engine.dialect.name == "sqlite":
            migrate.upgrade(engine)
        else:
            migrate.require_current(engine)
        return cls(engine, sealer)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.sealer)

    def dispose(self) -> None:
        self.engine.dispose()
