"""Schema migrations: Alembic, with its scripts inside the package (`zhida/db/migrations/`).

    upgrade(engine)            to the latest revision (also adopts a database made before
                               migrations existed: see `adopt`)
    downgrade(engine, "0002_json_columns")
    current(engine), head()    where a database is, where the code is
    require_current(engine)    refuse a database whose schema is not the code's
    draft(message)             write a draft revision by comparing the tables with the migrations

No alembic.ini: the configuration is built here and the migrations run on a connection this
module opens, in one transaction holding a lock (`_migrating`), so the embedded SQLite file,
PostgreSQL and the tests' schemas take one path, and two processes starting on a fresh file
migrate it once.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from argparse import Namespace
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError

from zhida.db.errors import DatabaseError, SchemaOutOfDate

SCRIPTS = Path(__file__).parent / "migrations"
BASELINE = "0001_baseline"
LEGACY_TABLES = ("match_runs", "match_updates", "match_update_enterprises", "match_events", "data_use")
POSTGRES_LOCK = 0x7A68696461  # "zhida": the advisory lock a migration holds on PostgreSQL

# alembic's `op` and `context` are module globals: one migration at a time in a process
_in_process = threading.Lock()
# How long a process starting on an embedded file that others are migrating keeps retrying
SQLITE_BUSY_PATIENCE_S = 120.0


def _config(conn: sa.Connection | None = None, scripts: Path = SCRIPTS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.set_main_option("file_template", "%%(rev)s")  # revision ids are NNNN_slug already
    config.cmd_opts = Namespace(quiet=True)                # callers say what happened, in Chinese
    if conn is not None:
        config.attributes["connection"] = conn
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The latest revision of this code."""
    revision = _scripts().get_current_head()
    assert revision is not None
    return revision


def revisions() -> list[str]:
    """Every revision, oldest first."""
    return [r.revision for r in reversed(list(_scripts().walk_revisions()))]


def current(engine: sa.Engine) -> str | None:
    """The database's revision (None: not under migrations, or empty)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def legacy(engine: sa.Engine) -> bool:
    """Whether the database was made before migrations existed (its tables, no revision)."""
    with engine.connect() as conn:
        return _legacy_tables(conn) is not None


def _known(revision: str) -> None:
    if revision in ("head", "base"):
        return
    try:
        _scripts().get_revision(revision)
    except CommandError:
        pass
    else:
        return
    raise DatabaseError(f"没有名为 {revision} 的数据库结构版本；"
                        f"可用的版本：{'、'.join(revisions())}（或 head、base）。")


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Migrate to `revision` (default: the latest). Cheap when already there, so it may run on
    every start; a concurrent caller waits for the lock and then finds nothing to do."""
    _known(revision)

    def run() -> None:
        if revision == "head" and current(engine) == head():
            return
        with _migrating(engine) as conn:
            adopt(conn)
            command.upgrade(_config(conn), revision)

    _retrying_busy_sqlite(engine, run)


def _retrying_busy_sqlite(engine: sa.Engine, run: Callable[[], None]) -> None:
    """Run `run`, again while an embedded file answers "database is locked".

    SQLite waits for a lock (the connection's busy timeout) except where waiting could
    deadlock, e.g. a connection switching a fresh file to write-ahead logging while another
    process does the same; then it refuses at once. A migration is one transaction, rolled back
    whole on that refusal, so it is simply tried again, for a bounded time."""
    deadline = time.monotonic() + SQLITE_BUSY_PATIENCE_S
    pause = 0.01
    while True:
        try:
            run()
            return
        except sa.exc.OperationalError as error:
            locked = engine.dialect.name == "sqlite" and "database is locked" in str(error.orig)
            if not locked or time.monotonic() > deadline:
                raise
            engine.dispose()                     # no connection kept from the refused attempt
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Migrate down to `revision` ("base": no tables). Drops what newer revisions added."""
    _known(revision)
    with _migrating(engine) as conn:
        command.downgrade(_config(conn), revision)


def stamp(engine: sa.Engine, revision: str) -> None:
    """Record `revision` as the database's without running anything."""
    _known(revision)
    with _migrating(engine) as conn:
        command.stamp(_config(conn), revision)


def require_current(engine: sa.Engine) -> None:
    """Refuse a database whose schema is not this code's (a server database is upgraded by
    an operator, never silently)."""
    found, expected = current(engine), head()
    if found == expected:
        return
    where = found or ("早期版本创建（尚无结构版本记录）" if legacy(engine) else "（未初始化）")
    raise SchemaOutOfDate(
        f"数据库结构版本为 {where}，本程序需要 {expected}；"
        "请先备份数据库，再运行 zhida db upgrade（或设置 ZHIDA_AUTO_UPGRADE=true）。")


# --- one migration at a time ---------------------------------------------------------------


@contextmanager
def _migrating(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in one transaction that holds the database's migration lock: everything
    the migration does commits together or not at all, and a second process migrating the same
    database waits, then finds it migrated (alembic re-reads the revision under the lock)."""
    with _in_process, engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            with _sqlite_immediate(conn):
                yield conn
            return
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK})
            yield conn


@contextmanager
def _sqlite_immediate(conn: sa.Connection) -> Iterator[None]:
    """SQLite's procedure for changing tables: foreign keys off (a batch migration copies a
    table and drops the old one, which must not cascade), the write lock taken up front
    (BEGIN IMMEDIATE), and the foreign keys checked before the commit.

    The driver normally begins transactions itself, and only before DML (its DDL would run in
    autocommit); it is told not to while this transaction runs, and this one is begun here."""
    driver = cast(sqlite3.Connection, conn.connection.driver_connection)
    isolation_level = driver.isolation_level
    foreign_keys = driver.execute("PRAGMA foreign_keys").fetchone()[0]
    driver.execute("PRAGMA foreign_keys=OFF")
    driver.isolation_level = None
    try:
        with conn.begin():
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise DatabaseError(f"迁移后有 {len(broken)} 行外键指向不存在的行（如 {tuple(broken[0])}），"
                                    "已全部回滚；请把数据库文件和这条消息报告给维护者。")
    finally:
        driver.isolation_level = isolation_level
        driver.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")


# --- databases made before migrations ------------------------------------------------------


def _legacy_tables(conn: sa.Connection) -> set[str] | None:
    """The pre-migration tables a database has, when it has any and no revision yet."""
    tables = set(sa.inspect(conn).get_table_names())
    if "alembic_version" in tables or not tables & set(LEGACY_TABLES):
        return None
    return tables & set(LEGACY_TABLES)


def adopt(conn: sa.Connection) -> bool:
    """Bring a database made before migrations existed (commit f70b948 and earlier) to the
    baseline, then stamp it there; `upgrade` carries it on from there with its rows.

    What that code did whenever it opened a database is done once more: tables it would have
    created are created (a file only `zhida data` wrote to has no match tables; one older than
    the scope table lacks it, and its earlier updates are indexed into it), a file from before
    `match_runs.near_misses` gets that column. On PostgreSQL the primary keys `create_all`
    named `<table>_pkey` are renamed `pk_<table>`, as the baseline names them."""
    found = _legacy_tables(conn)
    if found is None:
        return False
    baseline = baseline_tables()
    baseline.create_all(conn, tables=[baseline.tables[t] for t in LEGACY_TABLES if t not in found])
    if "near_misses" not in {c["name"] for c in sa.inspect(conn).get_columns("match_runs")}:
        conn.execute(sa.text("ALTER TABLE match_runs ADD COLUMN near_misses VARCHAR(8) DEFAULT 'marked' NOT NULL"))
    if "match_update_enterprises" not in found:
        _index_earlier_updates(conn, baseline)
    if conn.dialect.name == "postgresql":
        for table in LEGACY_TABLES:
            if sa.inspect(conn).get_pk_constraint(table)["name"] == f"{table}_pkey":
                conn.execute(sa.text(f"ALTER TABLE {table} RENAME CONSTRAINT {table}_pkey TO pk_{table}"))
    command.stamp(_config(conn), BASELINE)
    return True


def baseline_tables() -> sa.MetaData:
    """The pre-migration tables, as the baseline revision declares them."""
    baseline = cast(Script, _scripts().get_revision(BASELINE)).module
    return cast(sa.MetaData, baseline.LEGACY)


def _index_earlier_updates(conn: sa.Connection, baseline: sa.MetaData) -> None:
    """Scope rows for the updates of a file older than the scope table (as that code did)."""
    updates, scope = baseline.tables["match_updates"], baseline.tables["match_update_enterprises"]
    rows = [{"uscc": uscc, "update_id": update_id}
            for update_id, enterprises in conn.execute(
                sa.select(updates.c.id, updates.c.enterprises).where(updates.c.enterprises != "*"))
            for uscc in json.loads(enterprises)]
    if rows:
        conn.execute(sa.insert(scope), rows)


# --- writing a revision --------------------------------------------------------------------


def draft(message: str, rev_id: str | None = None, out: Path = SCRIPTS / "versions") -> Path:
    """Write a draft revision into `out`: Alembic's autogenerate, comparing the declared tables
    with a scratch SQLite database at head. A draft is a start, to be read and edited (names,
    data kept, PostgreSQL `USING` clauses, the downgrade) before it is committed."""
    rev_id = rev_id or f"{int(head()[:4]) + 1:04d}_{_slug(message)}"
    if (out / f"{rev_id}.py").exists():
        raise DatabaseError(f"{out / f'{rev_id}.py'} 已存在；请换一个版本号（--id）。")
    with tempfile.TemporaryDirectory() as tmp:
        scripts = Path(tmp) / "migrations"
        shutil.copytree(SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
        engine = sa.create_engine(f"sqlite:///{Path(tmp) / 'scratch.sqlite'}")
        try:
            upgrade(engine)
            with _in_process, engine.begin() as conn:
                command.revision(_config(conn, scripts), message=message, autogenerate=True, rev_id=rev_id)
        finally:
            engine.dispose()
        out.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(scripts / "versions" / f"{rev_id}.py", out))


def _slug(message: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "revision"
