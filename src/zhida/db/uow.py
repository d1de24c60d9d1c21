"""The unit of work: one transaction that a service opens, writes through and commits.

Services own the transaction (cosmicpython's pattern, on SQLAlchemy Core):

    def approve(uow: UnitOfWork, ...) -> ...:
        with uow:
            uow.conn.execute(...)      # repositories take uow.conn and never commit
            uow.conn.execute(...)
            uow.commit()               # both writes, or (on any error before this) neither

Leaving the block without `commit()` rolls everything back. A service called inside another
service's `with uow:` joins that transaction: its `commit()` is left to the outermost block,
so composed services commit together or not at all.

Work that must happen last in a transaction (the audit log takes its one lock there, after
every other lock, so appenders never deadlock with each other) is staged with `staged(key)`
and written by a `before_commit` hook, which runs at the outermost commit.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

import sqlalchemy as sa


class Sealer(Protocol):
    """Seals personal values at rest (zhida.sealing.Sealer); the store only carries it."""

    def seal(self, text: str, *, context: str) -> str: ...

    def open(self, stored: str, *, context: str) -> str: ...


class UnitOfWork:
    def __init__(self, engine: sa.Engine, sealer: Sealer | None = None) -> None:
        self.engine = engine
        self.sealer = sealer
        self._conn: sa.Connection | None = None
        self._tx: sa.RootTransaction | None = None
        self._depth = 0
        self._staged: dict[str, list[Any]] = {}
        self._hooks: list[Callable[[UnitOfWork], None]] = []

    @property
    def conn(self) -> sa.Connection:
        """The connection of the open transaction (only inside `with uow:`)."""
        if self._conn is None:
            raise RuntimeError("no transaction is open: use the unit of work as `with uow: ...`")
        return self._conn

    @property
    def active(self) -> bool:
        return self._conn is not None

    @property
    def outermost(self) -> bool:
        """Inside `with uow:` and not inside another service's block."""
        return self._depth == 1

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            self._conn = self.engine.connect()
            self._tx = self._conn.begin()
        self._depth += 1
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        conn, tx = self._conn, self._tx
        self._conn, self._tx = None, None
        self._staged, self._hooks = {}, []
        try:
            if tx is not None and tx.is_active:
                tx.rollback()
        finally:
            if conn is not None:
                conn.close()

    def commit(self) -> None:
        """Commit, when this is the outermost block; inside another service's block, the
        outermost commit decides."""
        if self._tx is None:
            raise RuntimeError("commit() outside `with uow:`")
        if self._depth == 1:
            hooks, self._hooks = self._hooks, []
            for hook in hooks:
                hook(self)
            self._staged = {}
            self._tx.commit()

    def staged(self, key: str) -> list[Any]:
        """A list that lives as long as this transaction, for work written at commit."""
        self.conn  # noqa: B018  (only inside `with uow:`)
        return self._staged.setdefault(key, [])

    def before_commit(self, hook: Callable[[UnitOfWork], None]) -> None:
        """Run `hook(uow)` once, at the outermost commit, before the transaction commits."""
        self._hooks.append(hook)

    def rollback(self) -> None:
        """Undo everything written in this transaction (the whole one, when nested)."""
        self._staged, self._hooks = {}, []
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()
