"""`zhida run` (the README's main command) is the one pipeline: it publishes the pack, records a
run, and its summary equals what `zhida match run` gives on the same data."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zhida.db import Database
from zhida.matching.run import load_run, run_results
from zhida.matching.summary import summarize
from zhida.published import published_set
from zhida.rules.model.policy import parse_policy

ZHIDA = Path(sys.executable).parent / "zhida"
ROOT = Path(__file__).parents[2]


def zhida(*args, data_dir):
    env = {**os.environ, "ZHIDA_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("ZHIDA_DATABASE_URL", None)
    done = subprocess.run([str(ZHIDA), *args], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """`zhida run` once on a fresh data directory: (data directory, its JSON summary)."""
    data = tmp_path_factory.mktemp("data")
    return data, json.loads(zhida("run", "--enterprises", "300", "--json", data_dir=data).splitlines()[-1])


@pytest.fixture
def db(ran):
    database = Database.open(f"sqlite:///{ran[0] / 'zhida.sqlite'}")
    yield database
    database.dispose()


def test_run_summary_equals_a_match_run_on_the_same_data(ran, db):
    data, summary = ran
    assert summary["enterprises"] > 250 and len(summary["policies"]) == 11

    matched = json.loads(zhida("match", "run", "--demo", "300", "--seed", "2026", "--as-of", "2024-06-30",
                               "--json", data_dir=data))
    assert matched["enterprises"] == summary["enterprises"] and not matched["drafts"]
    run = load_run(db.uow(), matched["id"])
    policies = [parse_policy(v.document) for v in published_set(db.uow())]
    expected = [s.to_dict() for s in summarize(run, run_results(run, data), policies)]
    assert summary["policies"] == expected
    assert sum(p["eligible_pairs"] for p in expected) == run.eligible
    assert sum(p["unknown_pairs"] for p in expected) == run.unknown
    assert any(p["eligible_enterprises"] for p in expected) and any(p["amount_fen"] for p in expected)


def test_run_records_its_run_over_the_published_versions(ran, db):
    data, summary = ran
    run = load_run(db.uow(), summary["run"])
    in_force = {v.policy_id: v.content_hash for v in published_set(db.uow())}
    assert not run.drafts and dict(run.policies) == in_force and len(in_force) == 11
    assert summary["run"] in zhida("match", "runs", data_dir=data)
    listed = zhida("policy", "versions", data_dir=data)
    assert "cn-hrss-2024-40-job-retention" in listed and listed.count("现行") == 11


def test_a_second_run_publishes_nothing_new_and_prints_a_table(ran):
    data, _ = ran
    table = zhida("run", "--enterprises", "300", data_dir=data)
    assert "失业保险稳岗返还" in table and "新版本 0 个，未变化 11 个" in table
