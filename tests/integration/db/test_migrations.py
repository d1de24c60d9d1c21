"""Migrations: every revision up and down on SQLite and PostgreSQL, the migrated schema equal
to the declared one, databases made by the code before migrations upgraded in place, one
migration at a time, all or nothing."""

import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from zhida.db import Database, create_engine, migrate
from zhida.db import tables as t
from zhida.db.errors import SchemaOutOfDate
from zhida.db.metadata import metadata

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "zhida-f70b948.sqlite"
LEGACY_COUNTS = {"match_runs": 1, "match_updates": 2, "match_update_enterprises": 2, "match_events": 1,
                 "data_use": 2}


def differences(engine: sa.Engine, target: sa.MetaData = metadata) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, target)


def tables_of(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
                for name in LEGACY_COUNTS}


def fixture_copy(tmp_path: Path) -> sa.Engine:
    path = tmp_path / "zhida.sqlite"
    shutil.copy(FIXTURE, path)
    return create_engine(f"sqlite:///{path}")


def made_before_migrations(engine: sa.Engine, tables: tuple[str, ...] = migrate.LEGACY_TABLES) -> None:
    """Tables as the code of f70b948 made them: `create_all`, no revision recorded; on
    PostgreSQL, without a naming convention, the primary keys were named `<table>_pkey`."""
    baseline = migrate.baseline_tables()
    with engine.begin() as conn:
        baseline.create_all(conn, tables=[baseline.tables[name] for name in tables])
        if conn.dialect.name == "postgresql":
            for name in tables:
                conn.execute(sa.text(f"ALTER TABLE {name} RENAME CONSTRAINT pk_{name} TO {name}_pkey"))


def test_the_revisions_form_one_line_from_the_baseline():
    assert migrate.revisions()[0] == migrate.BASELINE and migrate.revisions()[-1] == migrate.head()


def test_the_baseline_is_the_schema_the_code_before_migrations_made(tmp_path):
    engine = fixture_copy(tmp_path)
    assert tables_of(engine) == set(migrate.LEGACY_TABLES)
    assert differences(engine, migrate.baseline_tables()) == []
    engine.dispose()


def test_every_migration_goes_up_and_down_and_the_result_is_the_declared_schema(db_engine):
    for revision in migrate.revisions():
        migrate.upgrade(db_engine, revision)
        assert migrate.current(db_engine) == revision
    assert differences(db_engine) == []
    assert tables_of(db_engine) == set(metadata.tables) | {"alembic_version"}
    for previous in [*reversed(migrate.revisions()[:-1]), "base"]:
        migrate.downgrade(db_engine, previous)
        assert migrate.current(db_engine) == (None if previous == "base" else previous)
    assert tables_of(db_engine) <= {"alembic_version"}
    migrate.upgrade(db_engine)
    assert differences(db_engine) == []


def test_a_diff_would_be_found(db_engine):
    """The comparison can fail: a column the migrations never made is reported."""
    migrate.upgrade(db_engine)
    with db_engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE departments ADD COLUMN stray INTEGER"))
    assert differences(db_engine) != []


def test_a_migration_that_fails_leaves_the_database_as_it_was(db_engine):
    with db_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE users (stray INTEGER)"))  # 0004_users cannot create its table
    with pytest.raises(sa.exc.DBAPIError, match="users"):
        migrate.upgrade(db_engine)
    assert migrate.current(db_engine) is None and tables_of(db_engine) == {"users"}


def test_an_embedded_database_made_before_migrations_upgrades_in_place_keeping_every_row(tmp_path):
    fixture_copy(tmp_path).dispose()
    db = Database.open(f"sqlite:///{tmp_path / 'zhida.sqlite'}")  # first use upgrades the embedded file
    assert migrate.current(db.engine) == migrate.head()
    assert counts(db.engine) == LEGACY_COUNTS
    assert differences(db.engine) == []
    with db.uow() as uow:
        run = uow.conn.execute(sa.select(t.match_runs)).mappings().one()
        updates = uow.conn.execute(sa.select(t.match_updates).order_by(t.match_updates.c.id)).mappings().all()
        use = uow.conn.execute(sa.select(t.data_use).order_by(t.data_use.c.id)).mappings().first()
        event = uow.conn.execute(sa.select(t.match_events)).mappings().one()
    assert run["policies"][0][0] == "cn-hrss-2022-23-retention-training" and "batches" in run["snapshot"]
    assert run["drafts"] is True                                       # it evaluated policy files
    assert updates[0]["enterprises"] == ["9133030077951192X4", "91330300652969888K"]
    assert updates[1]["enterprises"] is None                           # was "*": every enterprise
    assert isinstance(updates[0]["clauses"], list) and "list:高新技术企业" in use["fields"]
    assert all(moment.tzinfo == UTC for moment in (run["started_at"], updates[0]["at"], event["created_at"],
                                                   use["used_at"]))
    migrate.downgrade(db.engine, migrate.BASELINE)                    # and back, rows kept
    assert counts(db.engine) == LEGACY_COUNTS
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT enterprises FROM match_updates WHERE id = 2")).scalar_one() == "*"
    db.dispose()


def test_an_older_file_without_the_near_misses_column_is_adopted(tmp_path):
    engine = fixture_copy(tmp_path)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE match_runs DROP COLUMN near_misses"))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.match_runs.c.near_misses)).scalar_one() == "marked"
    assert differences(engine) == []
    engine.dispose()


def test_an_older_file_without_the_scope_table_gets_it_filled_from_its_updates(tmp_path):
    engine = fixture_copy(tmp_path)
    with engine.begin() as conn:
        scope = sorted(conn.execute(sa.text("SELECT uscc, update_id FROM match_update_enterprises")).all())
        conn.execute(sa.text("DROP TABLE match_update_enterprises"))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert sorted(conn.execute(sa.select(t.match_update_enterprises)).all()) == scope
    assert len(scope) == 2 and differences(engine) == []
    engine.dispose()


def test_a_database_made_before_migrations_is_adopted_on_each_backend(db_engine):
    made_before_migrations(db_engine)
    at = datetime(2024, 7, 1, 8, 30, tzinfo=UTC)
    with db_engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO match_runs VALUES ('r1', 'full', :at, :at, '2024-06-30', '[[\"p\", \"h\"]]', "
            "'{\"root\": \"/x\", \"batches\": []}', 1, 1, 1, 0, 0, 'marked', 0, 'abc')"), {"at": at})
        conn.execute(sa.text(
            "INSERT INTO match_updates (run_id, at, reason, file, enterprises, clauses, pairs) "
            "VALUES ('r1', :at, 'x', 'f', '*', '[\"p/c\"]', 3)"), {"at": at})
        conn.execute(sa.text(
            "INSERT INTO data_use (used_at, scope, uscc, fields, purpose, actor, enterprises) "
            "VALUES (:at, 'enterprise', 'U1', '[\"revenue\"]', '报告', 'me', 1)"), {"at": at})
    migrate.upgrade(db_engine)
    assert differences(db_engine) == []
    assert {sa.inspect(db_engine).get_pk_constraint(name)["name"] for name in migrate.LEGACY_TABLES} == {
        f"pk_{name}" for name in migrate.LEGACY_TABLES}
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(t.match_runs.c.policies, t.match_runs.c.started_at)).one() == ([["p", "h"]], at)
        assert conn.execute(sa.select(t.match_updates.c.enterprises, t.match_updates.c.clauses)).one() == (
            None, ["p/c"])
        assert conn.execute(sa.select(t.data_use.c.fields)).scalar_one() == ["revenue"]


def test_a_database_only_data_commands_wrote_to_gets_the_other_tables_and_keeps_its_rows(db_engine):
    made_before_migrations(db_engine, ("data_use",))
    with db_engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO data_use (used_at, scope, fields, purpose, actor, enterprises) "
            "VALUES (:at, 'population', '[\"revenue\"]', '统计', 'me', 60)"), {"at": datetime.now(UTC)})
    migrate.upgrade(db_engine)
    assert differences(db_engine) == []
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(t.data_use.c.fields, t.data_use.c.enterprises)).one() == (["revenue"], 60)


def test_a_server_database_behind_the_code_is_refused_until_upgraded(db_engine):
    migrate.upgrade(db_engine, migrate.revisions()[-2])
    with pytest.raises(SchemaOutOfDate, match="zhida db upgrade"):
        migrate.require_current(db_engine)
    migrate.upgrade(db_engine)
    migrate.require_current(db_engine)


def test_a_server_database_made_before_migrations_is_refused_saying_so(db_engine):
    made_before_migrations(db_engine)
    with pytest.raises(SchemaOutOfDate, match=r"早期版本创建.*zhida db upgrade"):
        migrate.require_current(db_engine)


STARTER = """
import sys, time
from pathlib import Path
from zhida.db import create_engine, migrate
engine = create_engine(sys.argv[1])
while not Path(sys.argv[2]).exists():
    time.sleep(0.002)
migrate.upgrade(engine)
"""


def test_processes_starting_together_on_a_fresh_file_migrate_it_once(tmp_path):
    url, go = f"sqlite:///{tmp_path / 'zhida.sqlite'}", tmp_path / "go"
    starters = [subprocess.Popen([sys.executable, "-c", STARTER, url, str(go)], stderr=subprocess.PIPE, text=True)
                for _ in range(6)]
    time.sleep(2)                                  # every process imported, waiting for the start
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in starters]
    assert [p.returncode for p in starters] == [0] * len(starters), errors
    engine = create_engine(url)
    assert migrate.current(engine) == migrate.head() and differences(engine) == []
    engine.dispose()


def test_a_migration_refused_at_once_by_a_locked_file_is_tried_again_until_the_lock_goes(tmp_path):
    """SQLite refuses without waiting where waiting could deadlock; a connection with no busy
    timeout shows the same refusal on every try while another holds the file."""
    import sqlite3
    import threading
    path = tmp_path / "zhida.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    impatient = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    with pytest.raises(sa.exc.OperationalError, match="database is locked"), impatient.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE probe (x)")                     # the refusal, as SQLite gives it
    threading.Timer(0.5, lambda: (holder.execute("COMMIT"), holder.close())).start()
    migrate.upgrade(impatient)
    assert migrate.current(impatient) == migrate.head() and differences(impatient) == []
    impatient.dispose()


def test_a_draft_revision_creates_a_newly_declared_table_and_drops_it_on_the_way_down(tmp_path):
    notes = sa.Table("draft_notes", metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        path = migrate.draft("Add draft notes", out=tmp_path)
    finally:
        metadata.remove(notes)
    assert path == tmp_path / f"{int(migrate.head()[:4]) + 1:04d}_add_draft_notes.py"
    text = path.read_text()
    assert f'down_revision = "{migrate.head()}"' in text
    assert "op.create_table('draft_notes'" in text and "op.drop_table('draft_notes')" in text
    assert {p.stem for p in (migrate.SCRIPTS / "versions").glob("*.py")} == set(migrate.revisions())
