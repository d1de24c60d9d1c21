"""Databases for the integration tests: every test that takes `database` runs on embedded SQLite
and on PostgreSQL.

PostgreSQL is never skipped: when the server at ZHIDA_TEST_DATABASE_URL (default: the local
one, 127.0.0.1:5432, database `test`) cannot be reached the test fails and says so. Each test
gets a schema of its own there (dropped afterwards), so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from zhida.db import Database, create_engine
from zhida.db.migrate import upgrade

POSTGRES_URL = os.environ.get("ZHIDA_TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def postgres_admin() -> sa.Engine:
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as e:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} (set ZHIDA_TEST_DATABASE_URL, or start the "
                    f"server): {e.orig}", pytrace=False)
    return engine


def empty_engine(backend: str, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'zhida.sqlite'}")
        yield engine
        engine.dispose()
        return
    admin = postgres_admin()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty database on each backend (no tables)."""
    yield from empty_engine(request.param, tmp_path)


@pytest.fixture
def database(db_engine: sa.Engine) -> Database:
    """The store at the latest schema, on each backend."""
    upgrade(db_engine)
    return Database(db_engine)


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    """The store at the latest schema on PostgreSQL only: for races (SQLite serialises writers,
    so it has none to show) and for row-level security."""
    gen = empty_engine("postgresql", tmp_path)
    engine = next(gen)
    upgrade(engine)
    yield Database(engine)
    gen.close()
