"""Data-use records on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime, timedelta

import pytest

from zhida.profiles.datause import DataUseError, record_use, uses_of_enterprise

A, B = "914403001922038216", "91440300708461136T"


class Log:
    """The data-use services over one database, each call its own unit of work."""

    def __init__(self, database):
        self.database = database

    def record(self, **kw):
        return record_use(self.database.uow(), **kw)

    def for_enterprise(self, uscc):
        return uses_of_enterprise(self.database.uow(), uscc)


@pytest.fixture
def log(database):
    return Log(database)


def test_uses_are_listed_per_enterprise_with_population_wide_uses(log):
    t0 = datetime(2025, 7, 1, 9, tzinfo=UTC)
    log.record(uscc=A, fields=["revenue", "bank_account"], purpose="免申即享核验", actor="officer1",
               legal_basis="《温州市惠企政策直达办法》", used_at=t0)
    log.record(uscc=B, fields=["insured"], purpose="稳岗返还测算", actor="officer2",
               consent_ref="AUTH-2025-001", used_at=t0 + timedelta(hours=1))
    log.record(fields=["revenue", "employees"], purpose="全量政策匹配", actor="zhida run",
               legal_basis="政策直达平台职责", used_at=t0 + timedelta(hours=2), as_of=date(2025, 6, 30),
               enterprises=230000)
    uses_a = log.for_enterprise(A)
    assert [u.purpose for u in uses_a] == ["全量政策匹配", "免申即享核验"]
    assert uses_a[1].fields == ("bank_account", "revenue") and uses_a[1].actor == "officer1"
    assert uses_a[0].scope == "population" and uses_a[0].enterprises == 230000
    assert uses_a[0].as_of == date(2025, 6, 30)
    assert [u.purpose for u in log.for_enterprise(B)] == ["全量政策匹配", "稳岗返还测算"]


def test_a_use_without_basis_or_purpose_is_refused_and_nothing_is_written(log):
    with pytest.raises(DataUseError) as e:
        log.record(uscc=A, fields=["revenue"], purpose=" ", actor="x", used_at=datetime.now(UTC))
    assert "用途" in str(e.value) and "法律依据" in str(e.value)
    assert log.for_enterprise(A) == []


def test_recording_joins_the_callers_transaction(log):
    uow = log.database.uow()
    with pytest.raises(RuntimeError), uow:
        record_use(uow, uscc=A, fields=["revenue"], purpose="p", actor="a", legal_basis="b",
                   used_at=datetime.now(UTC))
        raise RuntimeError("the caller's work failed")
    assert log.for_enterprise(A) == []
