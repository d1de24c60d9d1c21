"""Match runs: records, sparse results, reproduction bit for bit."""

import dataclasses
import json
import shutil

import polars as pl

from zhida.matching.evaluate import STATUSES
from zhida.matching.results import digest
from zhida.matching.run import list_runs, load_run, reproduce_run, run_match, run_results
from zhida.profiles.datause import uses_of_enterprise
from zhida.profiles.load import load_feed
from zhida.rules.model.policy import parse_policy

from .conftest import AS_OF


def test_a_run_records_policy_versions_snapshot_and_counts(store, policies, schema, uow, setup, data_dir):
    steps = []
    run = run_match(uow, setup, store, policies, AS_OF,
                    progress=lambda what, done, total: steps.append(what))
    assert load_run(uow) == run and load_run(uow, run.id) == run and list_runs(uow) == [run]
    assert dict(run.policies) == {p.id: p.content_hash for p in policies}
    assert {b for b, _ in run.snapshot.batches} == {b.id for b in store.batches(known_by=AS_OF)}
    results = run_results(run, data_dir)
    counts = dict(results.group_by("status").len().iter_rows())
    assert (run.eligible, run.unknown, run.near_miss) == (counts["eligible"], counts["unknown"], counts["near_miss"])
    assert set(results.get_column("status").cast(pl.String)) <= set(STATUSES)
    assert results.select(pl.struct("uscc", "clause").n_unique()).item() == results.height  # one row per pair
    assert results.height < run.enterprises * run.clauses                      # sparse
    versions = dict(run.policies)
    assert all(versions[p] == v for p, v in results.select("policy", "policy_version").unique().iter_rows())
    assert {"compile", "frame", "match", "write"} <= set(steps)
    assert uses_of_enterprise(uow, results["uscc"][0])[0].enterprises == run.enterprises


def test_same_inputs_give_identical_results(store, policies, schema, uow, setup, data_dir):
    first = run_match(uow, setup, store, policies, AS_OF)
    second = run_match(uow, setup, store, policies, AS_OF)
    assert first.id != second.id and first.results_sha256 == second.results_sha256
    assert run_results(first, data_dir).equals(run_results(second, data_dir))


def test_a_run_is_reproduced_after_new_facts_and_a_changed_policy_pack(store, policies, schema, uow, setup, data_dir,
                                                                       city_store):
    run = run_match(uow, setup, store, policies, AS_OF)
    # later: a department re-delivers a feed (a new batch) and an officer edits a policy
    feed = next(p for p in city_store.root.parent.glob("税务_企业所得税年度申报.csv"))
    changed = data_dir / "tax-again.csv"
    text = feed.read_bytes().decode("gbk").splitlines()
    changed.write_bytes(("\n".join([text[0], *[line.replace(",B,", ",A,") for line in text[1:]]]) + "\n")
                        .encode("gbk"))
    before = len(store.batches())
    load_feed(store, "tax", changed, mapping_name="tax", known_on=AS_OF)
    assert len(store.batches()) == before + 1
    edited = [parse_policy({**p.spec.model_dump(mode="json"), "title": p.spec.title + "（修订）"}) for p in policies]
    rerun = run_match(uow, setup, store, edited, AS_OF)
    assert rerun.policies != run.policies and rerun.results_sha256 != run.results_sha256
    reproduced, results = reproduce_run(setup, load_run(uow, run.id))
    assert reproduced.identical
    assert results.equals(run_results(run, data_dir))


def test_a_run_whose_batches_are_gone_says_so(store, policies, schema, uow, setup, data_dir):
    import pytest

    from zhida.matching.errors import NotReproducible

    run = run_match(uow, setup, store, policies, AS_OF)
    catalog = json.loads(store.catalog_path.read_text(encoding="utf-8"))
    catalog["batches"] = catalog["batches"][1:]
    store.catalog_path.write_text(json.dumps(catalog), encoding="utf-8")
    with pytest.raises(NotReproducible, match="数据批次"):
        reproduce_run(setup, run)
    shutil.rmtree(data_dir / "match" / "policies")
    with pytest.raises(NotReproducible, match="政策版本"):
        reproduce_run(setup, run)


def test_a_run_without_near_misses_says_so_and_is_reproduced_and_updated_the_same_way(
        store, policies, schema, uow, setup, data_dir):
    from zhida.matching.incremental import current_results, rematch_enterprises

    run = run_match(uow, setup, store, policies, AS_OF, near_misses="none")
    results = run_results(run, data_dir)
    assert run.near_miss == 0 and "near_miss" not in set(results["status"].cast(pl.String))
    assert load_run(uow, run.id).near_misses == "none"
    assert reproduce_run(setup, load_run(uow, run.id))[0].identical
    rematch_enterprises(uow, setup, run, store, results["uscc"].unique().sort().head(3).to_list())
    assert current_results(uow, run, data_dir).equals(results)


def test_some_enterprises_or_policies_results_are_read_alone_and_runs_stored_as_parquet_still_read(
        store, policies, schema, uow, setup, data_dir):
    run = run_match(uow, setup, store, policies, AS_OF)
    everything = run_results(run, data_dir)
    assert everything.select("clause", "uscc").equals(everything.select("clause", "uscc").sort("clause", "uscc"))
    some = everything.get_column("uscc").unique().sort().gather([0, 5, 17]).to_list()
    want = everything.filter(pl.col("uscc").is_in(some))
    assert run_results(run, data_dir, enterprises=[*some, "91330300MA000000X0"]).equals(want)  # unknown: none
    assert run_results(run, data_dir, enterprises=[]).is_empty()
    many = everything.get_column("uscc").unique().sort().head(100).to_list()  # past the binary searches
    assert run_results(run, data_dir, enterprises=many).equals(everything.filter(pl.col("uscc").is_in(many)))
    one_policy = everything.get_column("policy").mode().sort()[0]
    assert run_results(run, data_dir, policies=[one_policy]).equals(everything.filter(pl.col("policy") == one_policy))
    assert run_results(run, data_dir, enterprises=some, policies=[one_policy]).equals(
        want.filter(pl.col("policy") == one_policy))

    # a run recorded before decision 0007: Parquet sorted by enterprise, no clause index, and a
    # digest over that order
    where = data_dir / "match" / "runs" / run.id
    coded = pl.read_ipc(where / "results.arrow").sort("enterprise", "clause")
    old = data_dir / "match" / "runs" / (run.id + "-parquet")
    old.mkdir()
    coded.write_parquet(old / "results.parquet", row_group_size=50)
    shutil.copy(where / "enterprises.parquet", old / "enterprises.parquet")
    clauses = pl.read_parquet(where / "clauses.parquet").drop("results_start", "results_count")
    clauses.write_parquet(old / "clauses.parquet")
    usccs = pl.read_parquet(old / "enterprises.parquet").select("uscc")
    legacy = dataclasses.replace(run, id=old.name, results_sha256=digest(
        [("results", coded), ("enterprises", usccs), ("clauses", clauses)]))
    assert run_results(legacy, data_dir).equals(everything)
    assert run_results(legacy, data_dir, enterprises=some).equals(want)
    assert reproduce_run(setup, legacy)[0].identical
