"""Alembic environment: run by `zhida.db.migrate` with a connection in `config.attributes`.

Migrations always run on a connection the caller opened, already in a transaction that holds
the migration lock (no URL here, no alembic.ini): the same code path for the embedded SQLite
file, PostgreSQL, and the tests' throwaway schemas. Autogenerate (`zhida db revision`)
compares types and server defaults too, so a draft misses neither.
"""

from __future__ import annotations

from alembic import context

from zhida.db import tables as _tables  # noqa: F401  (registers every table on the metadata)
from zhida.db.metadata import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
    compare_server_default=True,
)
with context.begin_transaction():
    context.run_migrations()
