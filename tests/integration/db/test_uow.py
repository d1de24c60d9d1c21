"""The unit of work: a service's writes commit together or not at all, on both backends."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from zhida.db import tables as t

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _departments(database) -> list[str]:
    with database.uow() as uow:
        return [r.code for r in uow.conn.execute(sa.select(t.departments.c.code).order_by(t.departments.c.code))]


def _two_writes(uow, fail_between: bool) -> None:
    """A service with two writes; an error may strike between them."""
    with uow:
        uow.conn.execute(sa.insert(t.departments).values(code="hrss", name="人社局", created_at=NOW))
        if fail_between:
            raise RuntimeError("crash after the first write")
        uow.conn.execute(sa.insert(t.departments).values(code="sti", name="科技局", created_at=NOW))
        uow.commit()


def test_a_failure_after_the_first_of_two_writes_leaves_neither(database):
    with pytest.raises(RuntimeError):
        _two_writes(database.uow(), fail_between=True)
    assert _departments(database) == []
    _two_writes(database.uow(), fail_between=False)
    assert _departments(database) == ["hrss", "sti"]


def test_leaving_without_commit_rolls_back(database):
    with database.uow() as uow:
        uow.conn.execute(sa.insert(t.departments).values(code="hrss", name="人社局", created_at=NOW))
    assert _departments(database) == []


def test_a_nested_service_commits_only_with_the_outer_one(database):
    uow = database.uow()
    with pytest.raises(RuntimeError), uow:
        _two_writes(uow, fail_between=False)     # the inner service "commits"...
        raise RuntimeError("...but the outer one fails before its own commit")
    assert _departments(database) == []


def test_timestamps_come_back_aware_in_utc(database):
    with database.uow() as uow:
        uow.conn.execute(sa.insert(t.departments).values(code="hrss", name="人社局", created_at=NOW))
        uow.commit()
    with database.uow() as uow:
        got = uow.conn.execute(sa.select(t.departments.c.created_at)).scalar_one()
    assert got == NOW and got.tzinfo is not None


def test_a_naive_timestamp_is_refused(database):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), database.uow() as uow:
        uow.conn.execute(sa.insert(t.departments).values(code="x", name="x", created_at=datetime(2026, 1, 1)))
