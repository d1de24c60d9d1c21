"""The Spark engine gives exactly what the embedded engine gives: on the demo city with the
real policy pack (statuses, amounts, near misses, dictionaries, the run digest and record),
and on random rules over random enterprises (differential)."""

import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.rules.support import clause, compile_frame, policy
from tests.unit.rules.test_properties import PARAMS, enterprise, near_miss_prone, random_clause

from zhida.matching.evaluate import match_codes
from zhida.matching.results import run_dir
from zhida.matching.run import load_run, reproduce_run, results_digest, run_enterprises, run_match, run_results
from zhida.matching.spark import SparkEngine

from .conftest import AS_OF, make_setup


@pytest.mark.parametrize(("near_misses", "partitions"), [("marked", 3), ("all", 1), ("all", 5)])
def test_a_spark_run_equals_the_embedded_run_on_the_demo_city(spark, staging, city_store, policies, schema, database,
                                                              tmp_path, near_misses, partitions):
    embedded_setup, spark_setup = make_setup(tmp_path / "embedded", schema), make_setup(tmp_path / "spark", schema)
    embedded = run_match(database.uow(), embedded_setup, city_store, policies, AS_OF, near_misses=near_misses)
    on_spark = run_match(database.uow(), spark_setup, city_store, policies, AS_OF, near_misses=near_misses,
                         engine=SparkEngine(spark, staging, partitions=partitions))

    assert on_spark.results_sha256 == embedded.results_sha256
    assert on_spark.near_miss > 0 and on_spark.eligible > 0 and on_spark.unknown > 0
    fields = ("as_of", "policies", "snapshot", "enterprises", "clauses", "eligible", "unknown", "near_miss",
              "excluded", "near_misses", "drafts")
    assert {f: getattr(on_spark, f) for f in fields} == {f: getattr(embedded, f) for f in fields}
    assert load_run(database.uow(), on_spark.id) == on_spark
    # the stored files: the same rows in the same order (statuses, amounts, near-miss atoms)
    assert run_results(on_spark, spark_setup.data_dir).equals(run_results(embedded, embedded_setup.data_dir))
    assert run_enterprises(on_spark, spark_setup.data_dir).equals(run_enterprises(embedded, embedded_setup.data_dir))
    for name in ("results.arrow", "enterprises.parquet", "clauses.parquet"):
        a = run_dir(spark_setup.data_dir, on_spark.id) / name
        b = run_dir(embedded_setup.data_dir, embedded.id) / name
        assert (pl.read_ipc(a) if name.endswith(".arrow") else pl.read_parquet(a)).equals(
            pl.read_ipc(b) if name.endswith(".arrow") else pl.read_parquet(b)), name
    # and the embedded engine reproduces the Spark run bit for bit
    reproduced, _ = reproduce_run(spark_setup, on_spark)
    assert reproduced.identical
    assert not any(staging.iterdir())  # nothing left behind


def test_an_empty_population_gives_an_empty_run(spark, staging, policies, schema, database, tmp_path):
    from zhida.profiles.store import ProfileStore

    setup = make_setup(tmp_path / "data", schema)
    embedded = run_match(database.uow(), setup, ProfileStore(tmp_path / "empty"), policies, AS_OF)
    on_spark = run_match(database.uow(), setup, ProfileStore(tmp_path / "empty"), policies, AS_OF,
                         engine=SparkEngine(spark, staging))
    assert on_spark.enterprises == 0 and on_spark.results_sha256 == embedded.results_sha256


@st.composite
def random_pack(draw: st.DrawFn) -> dict:
    """A policy of one to five random clauses (random conditions and amounts, or conjunctions
    prone to near misses), maybe two more in an exclusivity group, maybe under a cap per
    enterprise."""
    clauses = []
    for i in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            when, amount, extra = draw(random_clause())
        else:
            when, amount, extra = draw(near_miss_prone()), "employees * 100 - 10000", {}
        clauses.append(clause(when, amount, id=f"c{i}", **extra))
    if draw(st.booleans()):  # two clauses many enterprises meet, of which each may receive one
        rule = draw(st.sampled_from(["highest", "priority"]))
        for j in range(2):
            clauses.append(clause(f"employees >= {draw(st.integers(0, 200))}", f"{draw(st.integers(1, 50))}万",
                                  id=f"x{j}", exclusive={"group": "g", "rule": rule}))
    extra: dict = {"parameters": PARAMS}          # what the random rules' param(…) read
    if draw(st.booleans()):
        extra["enterprise_cap"] = {"amount": "ui_paid[last_year]", "when": "years_since(established) > 3"}
    return policy(clauses, **extra)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=random_pack(), firms=st.lists(enterprise(), min_size=1, max_size=24), partitions=st.integers(1, 4))
def test_spark_equals_embedded_on_random_rules(spark, staging, doc, firms, partitions):
    """The frame, written as Parquet in two files and range-partitioned by Spark, gives the
    embedded results exactly: codes, statuses, amounts, near-miss atoms, order, digest."""
    compiled, df = compile_frame(doc, firms)
    expected = match_codes(compiled, df, near_misses="all")
    with tempfile.TemporaryDirectory() as where:
        half = df.height // 2
        df.slice(half).write_parquet(Path(where) / "b.parquet")  # the second half first: order must not matter
        df.slice(0, half).write_parquet(Path(where) / "a.parquet")
        frame, got = SparkEngine(spark, staging, partitions=partitions).match_frame(Path(where), compiled,
                                                                                    near_misses="all")
    assert got.results.equals(expected.results), f"{doc}\n{firms}"
    assert got.enterprises.equals(expected.enterprises) and got.clauses.equals(expected.clauses)
    assert results_digest(got) == results_digest(expected)
    assert frame.get_column("uscc").equals(expected.enterprises)
