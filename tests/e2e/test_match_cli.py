"""`zhida match` end to end on a small demo city in a temporary data directory."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from zhida.matching.evaluate import name_results

ZHIDA = Path(sys.executable).parent / "zhida"
AS_OF = "2024-06-30"


def zhida(*args, data_dir, group="match"):
    env = {**os.environ, "ZHIDA_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("ZHIDA_DATABASE_URL", None)
    return subprocess.run([str(ZHIDA), group, *args], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).parents[2])


def stored(data, run_id):
    """A run's results as the files hold them: codes, named by the run's dictionaries."""
    where = data / "match" / "runs" / run_id
    return name_results(pl.read_ipc(where / "results.arrow"),
                        pl.read_parquet(where / "enterprises.parquet").get_column("uscc"),
                        pl.read_parquet(where / "clauses.parquet"))


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    published = zhida("publish", data_dir=data, group="policy")
    assert published.returncode == 0 and "新发布 11 个版本" in published.stdout, published.stdout + published.stderr
    done = zhida("run", "--demo", "300", "--seed", "3", "--as-of", AS_OF, "--json", data_dir=data)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert not record["drafts"]
    return data, record


def test_run_without_published_policies_is_refused_and_drafts_say_so(tmp_path):
    refused = zhida("run", "--demo", "300", "--seed", "3", "--as-of", AS_OF, data_dir=tmp_path)
    assert refused.returncode == 2 and "还没有已发布的政策" in refused.stderr and "Traceback" not in refused.stderr
    drafts = zhida("run", "--demo", "300", "--seed", "3", "--as-of", AS_OF, "--drafts", data_dir=tmp_path)
    assert drafts.returncode == 0, drafts.stderr
    assert "政策草稿试算" in drafts.stdout


def test_run_prints_its_record_and_reproduces(ran):
    data, record = ran
    assert record["enterprises"] > 250 and record["clauses"] > 0 and record["eligible"] > 0
    listed = zhida("runs", data_dir=data)
    assert listed.returncode == 0 and record["id"] in listed.stdout
    again = zhida("reproduce", record["id"], data_dir=data)
    assert again.returncode == 0 and "逐字节一致" in again.stdout and record["results_sha256"] in again.stdout


def test_report_json_has_every_section_and_unknown_firms_fail_cleanly(ran):
    data, record = ran
    results = stored(data, record["id"])
    uscc = results.filter(pl.col("status") == "eligible").get_column("uscc")[0]
    done = zhida("report", uscc, "--demo", "300", "--seed", "3", "--as-of", AS_OF, "--json", data_dir=data)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["uscc"] == uscc
    assert {"eligible", "possibly_eligible", "near_misses", "report_only"} <= set(doc)
    assert doc["eligible"] or doc["report_only"]
    missing = zhida("report", "91330300MA00000000", "--demo", "300", "--seed", "3", "--as-of", AS_OF, data_dir=data)
    assert missing.returncode == 2 and "91330300MA00000000" in missing.stderr


def test_whitelist_writes_csv_and_xlsx(ran, tmp_path):
    data, record = ran
    results = stored(data, record["id"])
    clause = results.filter(pl.col("status") == "eligible").get_column("clause")[0]
    done = zhida("whitelist", clause, "--out", str(tmp_path), data_dir=data)
    assert done.returncode == 0, done.stderr
    [xlsx] = tmp_path.glob("*.xlsx")
    assert openpyxl.load_workbook(xlsx)["白名单"]["A1"].value == "统一社会信用代码"
    assert len(list(tmp_path.glob("*.csv"))) == 2


def test_rematch_and_events(ran):
    data, record = ran
    results = stored(data, record["id"])
    uscc = results.get_column("uscc")[0]
    done = zhida("rematch", uscc, "--fields", "taxable_income", data_dir=data)
    assert done.returncode == 0, done.stderr
    assert "增量更新" in done.stdout and "0 个事件" in done.stdout
    assert zhida("events", data_dir=data).returncode == 0


def test_rematch_of_an_unknown_enterprise_fails_with_a_clear_message(ran):
    data, _ = ran
    done = zhida("rematch", "91330300MA00000000", data_dir=data)
    assert done.returncode == 2 and "画像库中没有这些企业" in done.stderr and "91330300MA00000000" in done.stderr
    assert "Traceback" not in done.stderr


def test_sandbox_compares_a_draft_with_the_published_version(ran, tmp_path):
    data, _ = ran
    root = Path(__file__).parents[2]
    text = (root / "policies" / "cn-hrss-2024-40-job-retention.yaml").read_text(encoding="utf-8")
    draft = tmp_path / "draft.yaml"
    draft.write_text(text.replace("valid_to: 2025-12-31", "valid_to: 2025-12-31\nbudget: 1万", 1), encoding="utf-8")
    done = zhida("sandbox", str(draft), "--demo", "300", "--seed", "3", "--as-of", AS_OF, data_dir=data)
    assert done.returncode == 0, done.stderr
    assert "政策沙盘" in done.stdout and "已发布" in done.stdout and "成本变化 0.00元" in done.stdout


def test_publish_records_the_new_version_and_rematches(ran, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ran[0], data)  # this test publishes: the other tests keep the first version
    text = (Path(__file__).parents[2] / "policies" / "cn-hrss-2024-40-job-retention.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "cn-hrss-2024-40-job-retention.yaml"
    changed.write_text(text.replace("valid_to: 2025-12-31", "valid_to: 2025-12-31\nbudget: 1万", 1), encoding="utf-8")
    done = zhida("publish", str(changed), data_dir=data)
    assert done.returncode == 0, done.stderr
    assert "增量更新" in done.stdout and "全部企业" in done.stdout
    listed = zhida("versions", "cn-hrss-2024-40-job-retention", data_dir=data, group="policy")
    assert listed.returncode == 0 and "现行" in listed.stdout and "已停用" in listed.stdout
