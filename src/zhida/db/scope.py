"""Row scoping for a transaction, enforced by PostgreSQL itself (row-level security).

A service that reads on a user's behalf checks the user first (zhida.accounts.authz), filters
its queries, and then also narrows the transaction:

    with uow:
        restrict(uow, Scope(department="hrss"))   # PostgreSQL: this transaction sees hrss rows only
        uow.conn.execute(sa.select(offers))       # a forgotten filter still returns nothing foreign

On PostgreSQL `restrict` switches the transaction to the role `zhida_scoped` (SET LOCAL ROLE)
and sets `zhida.department` / `zhida.uscc` / `zhida.everything` (SET LOCAL, so they end with
the transaction); the policies of migration 0012_row_security admit only the matching rows.
The application's own login role must be a member of `zhida_scoped` (docs/security.md). On the
embedded SQLite store, which has no such mechanism, it does nothing: the services' own checks
and filters are the protection there.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from zhida.db.uow import UnitOfWork

SCOPED_ROLE = "zhida_scoped"


@dataclass(frozen=True)
class Scope:
    department: str | None = None   # only this department's rows
    uscc: str | None = None         # only this firm's rows
    everything: bool = False        # oversight: every department's rows

    def __post_init__(self) -> None:
        if not (self.everything or self.department or self.uscc):
            raise ValueError("a scope names a department, a firm, or everything")


def restrict(uow: UnitOfWork, scope: Scope) -> None:
    """Narrow the open transaction to `scope` (PostgreSQL); a no-op on SQLite, and inside
    another service's transaction (that service owns the transaction and its scope)."""
    conn = uow.conn
    if conn.dialect.name != "postgresql" or not uow.outermost:
        return
    conn.execute(sa.text(f"SET LOCAL ROLE {SCOPED_ROLE}"))
    conn.execute(sa.select(sa.func.set_config("zhida.department", scope.department or "", True),
                           sa.func.set_config("zhida.uscc", scope.uscc or "", True),
                           sa.func.set_config("zhida.everything", "on" if scope.everything else "off", True)))
