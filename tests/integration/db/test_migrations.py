"""Migrations: every revision up and down on SQLite and PostgreSQL, the migrated schema equal
to the declared one, and a database made by the code before migrations upgraded in place."""

import shutil
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


def differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)


def tables_of(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_the_revisions_form_one_line_from_the_baseline():
    assert migrate.revisions()[0] == migrate.BASELINE and migrate.revisions()[-1] == migrate.head()


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


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
                for name in LEGACY_COUNTS}


def test_an_embedded_database_made_before_migrations_upgrades_in_place_keeping_every_row(tmp_path):
    path = tmp_path / "zhida.sqlite"
    shutil.copy(FIXTURE, path)
    db = Database.open(f"sqlite:///{path}")          # first use upgrades the embedded file
    assert migrate.current(db.engine) == migrate.head()
    assert _counts(db.engine) == LEGACY_COUNTS
    assert differences(db.engine) == []
    with db.uow() as uow:
        run = uow.conn.execute(sa.select(t.match_runs)).mappings().one()
        updates = uow.conn.execute(sa.select(t.match_updates).order_by(t.match_updates.c.id)).mappings().all()
        use = uow.conn.execute(sa.select(t.data_use).order_by(t.data_use.c.id)).mappings().first()
    assert run["policies"][0][0] == "cn-hrss-2022-23-retention-training" and "batches" in run["snapshot"]
    assert run["started_at"].tzinfo is not None and run["drafts"] is True   # it evaluated files
    assert updates[0]["enterprises"] == ["9133030077951192X4", "91330300652969888K"]
    assert updates[1]["enterprises"] is None                                # was "*": every enterprise
    assert isinstance(updates[0]["clauses"], list) and "list:高新技术企业" in use["fields"]
    migrate.downgrade(db.engine, migrate.BASELINE)                         # and back, rows kept
    assert _counts(db.engine) == LEGACY_COUNTS
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT enterprises FROM match_updates WHERE id = 2")).scalar_one() == "*"
    db.dispose()


def test_an_older_file_without_the_near_misses_column_is_adopted(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURE, path)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE match_runs DROP COLUMN near_misses"))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.match_runs.c.near_misses)).scalar_one() == "marked"
    engine.dispose()


def test_a_database_made_before_migrations_is_adopted_on_each_backend(db_engine):
    migrate.upgrade(db_engine, migrate.BASELINE)                # today's tables, as create_all made them
    with db_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
        conn.execute(sa.text(
            "INSERT INTO match_runs VALUES ('r1', 'full', :t, :t, '2024-06-30', '[[\"p\", \"h\"]]', "
            "'{\"root\": \"/x\", \"batches\": []}', 1, 1, 1, 0, 0, 'marked', 0, 'abc')"), {"t": datetime.now(UTC)})
        conn.execute(sa.text(
            "INSERT INTO match_updates (run_id, at, reason, file, enterprises, clauses, pairs) "
            "VALUES ('r1', :t, 'x', 'f', '*', '[\"p/c\"]', 3)"), {"t": datetime.now(UTC)})
    migrate.upgrade(db_engine)
    assert differences(db_engine) == []
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(t.match_runs.c.policies)).scalar_one() == [["p", "h"]]
        assert conn.execute(sa.select(t.match_updates.c.enterprises, t.match_updates.c.clauses)).one() == (
            None, ["p/c"])


def test_a_server_database_behind_the_code_is_refused_until_upgraded(db_engine):
    migrate.upgrade(db_engine, migrate.revisions()[-2])
    with pytest.raises(SchemaOutOfDate, match="zhida db upgrade"):
        migrate.require_current(db_engine)
    migrate.upgrade(db_engine)
    migrate.require_current(db_engine)
