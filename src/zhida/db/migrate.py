"""Schema migrations: Alembic, with its scripts inside the package (`zhida/db/migrations/`).

    upgrade(engine)            to the latest revision (also adopts a database made before
                               migrations existed: see `adopt`)
    downgrade(engine, "0002_json_columns")
    current(engine), head()    where a database is, where the code is
    require_current(engine)    refuse a database whose schema is not the code's

No alembic.ini: the configuration is built here and the migrations run on a connection this
module opens, so the embedded SQLite file, PostgreSQL and the tests' schemas take one path.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from zhida.db.errors import DatabaseError, SchemaOutOfDate

SCRIPTS = Path(__file__).parent / "migrations"
BASELINE = "0001_baseline"
LEGACY_TABLES = ("match_runs", "match_updates", "match_update_enterprises", "match_events", "data_use")


def _config(conn: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


def head() -> str:
    """The latest revision of this code."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: sa.Engine) -> str | None:
    """The database's revision (None: not under migrations, or empty)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _known(revision: str) -> None:
    if revision in ("head", "base"):
        return
    try:
        ScriptDirectory.from_config(_config()).get_revision(revision)
    except CommandError:
        pass
    else:
        return
    raise DatabaseError(f"没有名为 {revision} 的数据库结构版本；"
                        f"可用的版本：{'、'.join(revisions())}（或 head、base）。")


def revisions() -> list[str]:
    """Every revision, oldest first."""
    return [r.revision for r in reversed(list(ScriptDirectory.from_config(_config()).walk_revisions()))]


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Migrate to `revision` (default: the latest). Cheap when already there."""
    _known(revision)
    if revision == "head" and current(engine) == head():
        return
    with engine.begin() as conn:
        adopt(conn)
        command.upgrade(_config(conn), revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    _known(revision)
    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)


def stamp(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.stamp(_config(conn), revision)


def adopt(conn: sa.Connection) -> bool:
    """A database made before migrations existed (commit f70b948 and earlier): its tables are
    those of the baseline, so it is stamped at the baseline and upgraded from there with its
    rows. A file older still, from before `match_runs.near_misses`, gets that column first."""
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    if "alembic_version" in tables or not tables & set(LEGACY_TABLES):
        return False
    missing = [t for t in LEGACY_TABLES if t not in tables]
    if missing:
        raise SchemaOutOfDate(f"数据库中有早期版本的表，但缺少 {'、'.join(missing)}，无法自动升级；"
                              "请先备份该数据库文件，再用 zhida db upgrade 在新的数据目录中重建。")
    if "near_misses" not in {c["name"] for c in inspector.get_columns("match_runs")}:
        conn.execute(sa.text("ALTER TABLE match_runs ADD COLUMN near_misses VARCHAR(8) DEFAULT 'marked' NOT NULL"))
    command.stamp(_config(conn), BASELINE)
    return True


def require_current(engine: sa.Engine) -> None:
    """Refuse a database whose schema is not this code's (a server database is upgraded by
    an operator, never silently)."""
    found, expected = current(engine), head()
    if found != expected:
        raise SchemaOutOfDate(
            f"数据库结构版本为 {found or '（未初始化）'}，本程序需要 {expected}；"
            "请先备份数据库，再运行 zhida db upgrade（或设置 ZHIDA_AUTO_UPGRADE=true）。")
