"""The log scanner of issue 12 (personal data): after an end-to-end run on the demo city — the
documented 免申即享 money flow (docs/money.md), an application (zhida apply), `zhida data show`
of a firm, `zhida match report` and a whitelist export — no legal representative's ID number or
phone and no bank account number of the demo city, nor an account number typed during the run,
appears in plain text in what the commands printed, in any file the run exported or wrote (except
the bank's 代发 file, which must carry the accounts), or in the rows of the `audit_log`, `data_use`,
`jobs` and `notifications` tables read directly from the database. A positive control shows the
scanner finds a planted plaintext ID number in each of those places, and not its masked form."""

import csv
import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from zhida.db import tables as t

from .test_money_cli import ROOT, ZHIDA

FIRM = "91330324852620429H"          # f1 of the documented sequence
APPLY = "cn-mof-2017-164-graduate-social-insurance/graduate-si-subsidy"
TYPED = ["6222021100000001", "6222021100000003", "6222021100009999"]   # typed at confirmation / application
TABLES = ("audit_log", "audit_checkpoints", "data_use", "jobs", "notifications")
AFTER = f"""
zhida data load-city "$ZHIDA_DATA_DIR"/demo-city/*
zhida data show {FIRM}
zhida data uses {FIRM}
zhida match report {FIRM} --as-of 2024-06-30 --as f1
zhida match report {FIRM} --as-of 2024-06-30 --as f1 --json
mkdir -p exports
zhida match whitelist $C --out exports
zhida offer notice export $C --out exports/公示.csv
zhida apply start {APPLY} --today 2024-06-30 --as f1
zhida apply show 1 --as f1
zhida apply submit 1 --account-name 温州兴康餐饮有限公司 --account-bank 温州银行 --account-no {TYPED[2]} \
  --pledge --as f1
zhida audit log --limit 1000
zhida audit verify
"""


def money_script() -> str:
    doc = (ROOT / "docs" / "money.md").read_text(encoding="utf-8")
    section = doc[doc.index("## From whitelist to paid on the command line"):]
    block = section[section.index("```bash") + len("```bash"):section.index("```", section.index("```bash") + 7)]
    return "set -euo pipefail\n" + block.replace("export ZHIDA_DATA_DIR=$(mktemp -d)", "") + AFTER


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("scan")
    data = work / "data"
    env = {**os.environ, "ZHIDA_DATA_DIR": str(data), "COLUMNS": "200",
           "ZHIDA_POLICIES": str(ROOT / "policies"), "ZHIDA_ZONES": str(ROOT / "zones"),
           "PATH": f"{ZHIDA.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("ZHIDA_DATABASE_URL", None)
    done = subprocess.run(["bash", "-c", money_script()], capture_output=True, text=True, env=env, cwd=work,
                          stdin=subprocess.DEVNULL, timeout=900)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    assert "到账 2 笔" in done.stdout and "已即时办结" in done.stdout
    return work, data, done.stdout + "\n" + done.stderr


def demo_personal_data(data: Path) -> dict[str, set[str]]:
    """Every legal representative's ID number and phone and every bank account number of the demo
    city, read from its feeds, plus the account numbers typed during the run."""
    [city] = (data / "demo-city").iterdir()
    market = pl.read_csv(city / "市场监管_企业登记信息.csv", infer_schema=False)
    bank = pl.read_csv(city / "财政_企业收款账户.csv", infer_schema=False)
    return {"ID number": set(market["法定代表人身份证号码"].drop_nulls()),
            "phone": set(market["联系电话"].drop_nulls()),
            "account": set(bank["银行账号"].drop_nulls()) | set(TYPED)}


def file_text(path: Path) -> str:
    """A written file as text: cells of a workbook, rows of Parquet/Arrow, otherwise its bytes."""
    if path.suffix == ".xlsx":
        return "\n".join(str(c) for ws in load_workbook(path).worksheets
                         for row in ws.iter_rows(values_only=True) for c in row)
    if path.suffix == ".parquet":
        return pl.read_parquet(path).write_csv()
    if path.suffix == ".arrow":
        return pl.read_ipc(path).write_csv()
    return path.read_bytes().decode("utf-8", errors="replace")


def written_files(work: Path, data: Path) -> dict[str, str]:
    """Every file the run exported or wrote, except the demo city's own feeds and the profile
    store (the personal data's legitimate places) and the bank's 代发 file."""
    out = {}
    for path in sorted(work.rglob("*")):
        rel = path.relative_to(work)
        if (not path.is_file() or path.name == "bank.xlsx" or rel.parts[:2] in (("data", "demo-city"),
                                                                              ("data", "profiles"))
                or path.suffix in (".sqlite", ".key", ".zpack")):
            continue
        out[str(rel)] = file_text(path)
    return out


def table_rows(db_url: str) -> dict[str, str]:
    """The rows of the scanned tables (those that exist), read directly, as text."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {name: "\n".join(" | ".join(str(v) for v in row)
                                    for row in conn.execute(sa.select(getattr(t, name))).all())
                    for name in TABLES if hasattr(t, name)}
    finally:
        engine.dispose()


def scan(texts: dict[str, str], personal: dict[str, set[str]]) -> list[tuple[str, str, str]]:
    """(where, what, value) for every plaintext personal value found."""
    return [(where, kind, value) for where, text in texts.items()
            for kind, values in personal.items() for value in values if value in text]


def test_no_plaintext_personal_data_anywhere_after_an_end_to_end_run(run):
    work, data, output = run
    personal = demo_personal_data(data)
    assert min(len(v) for v in personal.values()) >= 3, "the scanner must have something to look for"
    assert "**********" in output and "****" in output        # data show printed them, masked
    files = written_files(work, data)
    assert {"公示.xlsx", "exports/公示.csv"} <= set(files) and any(f.startswith("exports/") and f.endswith(".xlsx")
                                                                 for f in files)
    tables = table_rows(f"sqlite:///{data / 'zhida.sqlite'}")
    assert {"audit_log", "data_use", "notifications"} <= set(tables) and tables["audit_log"]
    leaks = scan({"output": output, **files, **{f"table {k}": v for k, v in tables.items()}}, personal)
    assert leaks == [], f"personal data in plain text: {leaks[:10]}"
    bank = file_text(work / "bank.xlsx")
    assert all(n in bank for n in TYPED[:2])                  # the one export that needs them has them


def test_the_scanner_finds_a_planted_id_number_in_output_files_and_tables_but_not_its_masked_form(run, tmp_path):
    work, data, output = run
    personal = demo_personal_data(data)
    planted = sorted(personal["ID number"])[0]
    masked = planted[:4] + "*" * 10 + planted[-4:]
    assert scan({"output": output + f"\n法定代表人 {masked}"}, personal) == []
    assert scan({"output": output + f"\n法定代表人 {planted}"}, personal) == [("output", "ID number", planted)]

    export = tmp_path / "export"
    shutil.copytree(work, export, ignore=shutil.ignore_patterns("demo-city", "profiles"))
    with (export / "exports" / "公示.csv").open("a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow(["planted", planted])
    assert ("exports/公示.csv", "ID number", planted) in scan(written_files(export, export / "data"), personal)

    db = tmp_path / "copy.sqlite"
    shutil.copyfile(data / "zhida.sqlite", db)
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.update(t.notifications).values(body=t.notifications.c.body + f" 身份证 {planted}"))
        conn.execute(sa.update(t.audit_log).where(t.audit_log.c.idx == 0).values(
            entry=t.audit_log.c.entry + planted))
    engine.dispose()
    found = {where for where, _kind, value in scan(table_rows(f"sqlite:///{db}"), personal) if value == planted}
    assert found == {"notifications", "audit_log"}
