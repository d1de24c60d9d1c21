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
from zhida.rules.policy import parse_policy

ZHIDA = Path(sys.executable).parent / "zhida"
ROOT = Path(__file__).parents[2]


def zhida(*args, data_dir):
    env = {**os.environ, "ZHIDA_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("ZHIDA_DATABASE_URL", None)
    done = subprocess.run([str(ZHIDA), *args], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


def test_run_summary_equals_a_match_run_on_the_same_data(data):
    summary = json.loads(zhida("run", "--enterprises", "300", "--json", data_dir=data).splitlines()[-1])
    assert summary["enterprises"] > 250 and len(summary["policies"]) == 11

    matched = json.loads(zhida("match", "run", "--demo", "300", "--seed", "2026", "--as-of", "2024-06-30",
                               "--json", data_dir=data))
    db = Database.open(f"sqlite:///{data / 'zhida.sqlite'}")
    run = load_run(db.uow(), matched["id"])
    policies = [parse_policy(v.document) for v in published_set(db.uow())]
    expected = [s.to_dict() for s in summarize(run, run_results(run, data), policies)]
    assert summary["policies"] == expected
    assert sum(p["eligible_pairs"] for p in expected) == run.eligible
    assert sum(p["unknown_pairs"] for p in expected) == run.unknown
    assert any(p["eligible_enterprises"] for p in expected) and any(p["amount_fen"] for p in expected)
    db.dispose()


def test_run_records_its_run_and_the_published_versions_and_prints_a_table(data):
    table = zhida("run", "--enterprises", "300", data_dir=data)
    assert "失业保险稳岗返还" in table and "新版本 0 个，未变化 11 个" in table   # published once, earlier
    runs = zhida("match", "runs", data_dir=data)
    assert runs.count("full") >= 2
    listed = zhida("policy", "versions", data_dir=data)
    assert "cn-hrss-2024-40-job-retention" in listed and "现行" in listed


def test_rematch_of_an_unknown_enterprise_fails_with_a_clear_message(data):
    env = {**os.environ, "ZHIDA_DATA_DIR": str(data), "COLUMNS": "200"}
    done = subprocess.run([str(ZHIDA), "match", "rematch", "91330300MA00000000"], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    assert done.returncode == 2 and "画像库中没有这些企业" in done.stderr and "91330300MA00000000" in done.stderr
    assert "Traceback" not in done.stderr
