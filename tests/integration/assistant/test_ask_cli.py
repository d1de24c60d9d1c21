"""`zhida ask` through the real command line on a data directory with the pack published (SQLite),
and `bench/qa.py` on the repo's question set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from zhida.cli import app

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


def test_ask_answers_with_citation_and_validity_and_hands_off_outside_the_pack(tmp_path):
    data = ["--data-dir", str(tmp_path)]
    assert runner.invoke(app, ["policy", "publish", str(ROOT / "policies"), *data]).exit_code == 0

    r = runner.invoke(app, ["ask", "六税两肥减半征收", "--today", "2024-06-30", *data])
    assert r.exit_code == 0, r.output
    assert "已按“六税两费”理解“六税两肥”" in r.output
    assert "财政部 税务总局公告2023年第12号" in r.output and "有效期至 2027-12-31" in r.output

    r = runner.invoke(app, ["ask", "出口退税多久能到账", "--json", *data])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["answered"] is False and out["handoff"]["kind"] == "诉求"
    assert out["handoff"]["department"] == "国家税务总局（主管税务机关）"


def test_ask_before_anything_is_published_says_what_to_do(tmp_path):
    r = runner.invoke(app, ["ask", "稳岗补贴", "--data-dir", str(tmp_path)])
    assert r.exit_code != 0 and "zhida policy publish" in r.output


def test_the_benchmark_prints_its_figures_as_json_on_the_last_line():
    out = subprocess.run([sys.executable, str(ROOT / "bench/qa.py"), "--json"], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert {"top3_hit_rate", "refusal_accuracy", "p95_ms"} <= figures.keys()
    assert figures["top3_hit_rate"] >= 0.9 and figures["refusal_accuracy"] >= 0.9


def test_a_question_outside_the_pack_becomes_the_firms_request_to_the_suggested_department(tmp_path):
    data = ["--data-dir", str(tmp_path)]
    assert runner.invoke(app, ["policy", "publish", str(ROOT / "policies"), *data]).exit_code == 0
    assert runner.invoke(app, ["user", "dept-add", "tax", "国家税务总局", *data]).exit_code == 0
    made = runner.invoke(app, ["user", "add", "f1", "--name", "企业一", "--role", "enterprise",
                               "--uscc", "913303003420556699", "--no-password", *data])
    assert made.exit_code == 0, made.output
    r = runner.invoke(app, ["ask", "出口退税多久能到账", "--handoff", "--as", "f1", *data])
    assert r.exit_code == 0, r.output
    assert "已作为诉求 1 提交给 tax" in r.output
    listed = runner.invoke(app, ["enquiry", "list", "--as", "f1", *data], env={"COLUMNS": "200"})
    assert "出口退税多久能到账" in listed.output and "待答复" in listed.output
    refused = runner.invoke(app, ["ask", "出口退税多久能到账", "--handoff", *data])
    assert refused.exit_code != 0 and "--as" in refused.output
