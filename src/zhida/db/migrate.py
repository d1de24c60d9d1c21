"""Schema migrations (Alembic). PLACEHOLDER until the migrations land: creates the declared tables."""

from __future__ import annotations

import sqlalchemy as sa

from zhida.db.metadata import metadata
from zhida.db import tables as _tables  # noqa: F401  (registers every table)


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    metadata.create_all(engine)


def require_current(engine: sa.Engine) -> None:
    return None
