"""`zhida data` end to end on real files: generate, load, reload, broken file, quality, show, uses."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zhida.cli.data import app

runner = CliRunner()
ZHIDA = Path(sys.executable).parent / "zhida"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    done = subprocess.run([str(ZHIDA), "data", "generate", "--enterprises", "1500", "--seed", "9",
                           "--out", str(out), "--as-of", "2025-06-30"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "manifest.json" in done.stdout
    return out


def invoke(*args, data_dir):
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)], env={**os.environ, "COLUMNS": "200"})


def test_load_every_feed_then_reload_changes_nothing(city, tmp_path):
    manifest = json.loads((city / "manifest.json").read_text(encoding="utf-8"))
    for key, feed in manifest["feeds"].items():
        r = invoke("load", feed["source"], str(city / feed["file"]), "--mapping", feed["mapping"],
                   "--known-on", "2025-06-30",
                   "--report", str(tmp_path / f"{key}.csv"), data_dir=tmp_path / "d")
        assert r.exit_code == 0, r.output
        assert f"隔离 {len(feed['defects'])} 行" in r.output or f"隔离 {len(feed['defects']):,} 行" in r.output
    again = invoke("load", "market", str(city / manifest["feeds"]["market"]["file"]), data_dir=tmp_path / "d")
    assert again.exit_code == 0 and "未做任何更改" in again.output
    fresh = invoke("load", "geo", str(city / manifest["feeds"]["geo"]["file"]), data_dir=tmp_path / "e")
    reports = list((tmp_path / "e" / "reports").glob("*-rejects.csv"))  # every rejection, without --report
    assert fresh.exit_code == 0 and len(reports) == 1
    assert len(reports[0].read_text(encoding="utf-8").splitlines()) == 1 + len(manifest["feeds"]["geo"]["defects"])
    rejects = (tmp_path / "market.csv").read_text(encoding="utf-8").splitlines()
    assert len(rejects) - 1 >= len(manifest["feeds"]["market"]["defects"])

    q = invoke("quality", "--as-of", "2025-07-01", data_dir=tmp_path / "d")
    assert q.exit_code == 0 and "市场监管" in q.output and "人社" in q.output

    uscc = next(line.split(",")[1] for line in (city / manifest["feeds"]["market"]["file"]).read_text(
        encoding="utf-8-sig").splitlines()[1:4])
    shown = invoke("show", uscc, "--as-of", "2025-07-01", "--purpose", "企业咨询答复", data_dir=tmp_path / "d")
    assert shown.exit_code == 0, shown.output
    assert "市场监管" in shown.output and "所属区县代码" in shown.output
    uses = invoke("uses", uscc, data_dir=tmp_path / "d")
    assert uses.exit_code == 0 and "企业咨询答复" in uses.output


def test_a_broken_file_exits_with_an_error_and_loads_nothing(tmp_path):
    broken = tmp_path / "市场监管.csv"
    broken.write_text("统一社会信用代码,企业名称\n914403001922038216,甲\n", encoding="utf-8")
    r = invoke("load", "market", str(broken), data_dir=tmp_path / "d")
    assert r.exit_code == 2
    assert "缺少必需的列" in r.output and "整份文件未导入" in r.output
    assert not (tmp_path / "d" / "profiles" / "catalog.json").exists()


def test_fields_lists_the_registry():
    r = runner.invoke(app, ["fields"], env={**os.environ, "COLUMNS": "200"})
    assert r.exit_code == 0 and "统一社会信用代码" in r.output and "企业规模" in r.output
