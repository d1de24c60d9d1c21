"""Data-use records on SQLite, and on PostgreSQL when ZHIDA_TEST_DATABASE_URL is set."""

import os
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from zhida.profiles.datause import DataUseError, DataUseLog

A, B = "914403001922038216", "91440300708461136T"
URLS = ["sqlite"] + (["postgres"] if os.environ.get("ZHIDA_TEST_DATABASE_URL") else [])


@pytest.fixture(params=URLS)
def log(request, tmp_path):
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'uses.sqlite'}")
    else:
        engine = sa.create_engine(os.environ["ZHIDA_TEST_DATABASE_URL"])
    table = f"data_use_test_{uuid.uuid4().hex[:10]}"  # unique per run: runs never collide
    log = DataUseLog(engine, table_name=table)
    log.create()
    yield log
    log.drop()
    engine.dispose()


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
    with pytest.raises(RuntimeError), log.engine.begin() as conn:
        log.record(uscc=A, fields=["revenue"], purpose="p", actor="a", legal_basis="b",
                   used_at=datetime.now(UTC), conn=conn)
        raise RuntimeError("the caller's work failed")
    assert log.for_enterprise(A) == []
