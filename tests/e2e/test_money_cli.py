"""免申即享 end to end on the demo city, through the command line only (the sequence in
docs/money.md): whitelist → review → 公示 (exported, checked) → confirmation (a firm without an
account on file corrects first) → a waiver after the deadline → a payment batch prepared and
approved by two people → the bank file → a bad result file rejected whole → the good one
imported (twice: no change) → every confirming firm paid, the ledger balanced."""

import csv
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from zhida.db import Database
from zhida.db import tables as t

ZHIDA = Path(sys.executable).parent / "zhida"
ROOT = Path(__file__).parents[2]
CLAUSE = "cn-hrss-2023-job-expansion/expansion-2023-2024"
POLICY = CLAUSE.split("/")[0]


def zhida(*args, data_dir, ok=True):
    """One command, as a person would type it: no stdin (a prompt fails instead of hanging) and
    a timeout, so a stuck command fails the test with its output."""
    env = {**os.environ, "ZHIDA_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("ZHIDA_DATABASE_URL", None)
    done = subprocess.run([str(ZHIDA), *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          stdin=subprocess.DEVNULL, timeout=300)
    assert (done.returncode == 0) == ok, " ".join(args) + "\n" + done.stdout + done.stderr
    return done.stdout + done.stderr


def states(db):
    with db.uow() as uow:
        return dict(uow.conn.execute(sa.select(t.offers.c.uscc, t.offers.c.state)
                                     .where(t.offers.c.clause == CLAUSE)).all())


def snapshot(db):
    with db.uow() as uow:
        return [uow.conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
                for table in (t.offers, t.payments, t.ledger_entries, t.budgets)]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    data = tmp_path_factory.mktemp("money")
    zhida("run", "--enterprises", "50", data_dir=data)     # the demo city, published pack, a run, demo accounts
    database = Database.open(f"sqlite:///{data / 'zhida.sqlite'}")
    yield data, database
    database.dispose()


def test_a_whitelist_is_paid_to_every_confirming_firm_through_the_command_line(city, tmp_path):
    data, db = city

    def z(*args, ok=True):
        return zhida(*args, data_dir=data, ok=ok)

    assert "已生成" in z("offer", "create", CLAUSE, "--department", "hrss", "--confirm-by", "2024-09-30")
    firms = sorted(states(db))
    assert len(firms) >= 2
    z("offer", "review", CLAUSE, "--as", "reviewer")
    assert "公示期 2024-09-02 至 2024-09-06" in z("offer", "notice", "start", CLAUSE, "--days", "5",
                                                 "--start", "2024-09-02", "--as", "reviewer")
    z("offer", "notice", "export", CLAUSE, "--out", str(tmp_path / "公示.csv"))
    z("offer", "notice", "export", CLAUSE, "--out", str(tmp_path / "公示.xlsx"))
    with (tmp_path / "公示.csv").open(encoding="utf-8-sig") as f:
        listed = list(csv.reader(f))
    assert listed[0] == ["序号", "企业名称", "统一社会信用代码", "条款", "金额（元）", "公示期"]
    assert sorted(r[2] for r in listed[1:]) == firms
    assert all(r[1] and r[1] != r[2] for r in listed[1:])              # names from the profile
    assert all(r[5] == "2024-09-02 至 2024-09-06" for r in listed[1:])
    assert [list(r) for r in load_workbook(tmp_path / "公示.xlsx").active.iter_rows(values_only=True)] == listed

    z("offer", "notice", "close", CLAUSE, "--today", "2024-09-06", "--as", "reviewer", ok=False)   # window open
    z("offer", "notice", "close", CLAUSE, "--today", "2024-09-07", "--as", "reviewer")
    after = states(db)
    correcting = [u for u in firms if after[u] == "needs_correction"]
    silent = correcting[0] if correcting else firms[0]                 # this firm never answers
    confirming = [u for u in firms if u != silent]
    with db.uow() as uow:
        ids = dict(uow.conn.execute(sa.select(t.offers.c.uscc, t.offers.c.id).where(t.offers.c.clause == CLAUSE)).all())
    for n, uscc in enumerate(confirming):
        z("user", "add", f"firm-{n}", "--name", f"企业{n}", "--role", "enterprise", "--uscc", uscc, "--no-password")
        if after[uscc] == "needs_correction":
            assert "待补正" in z("offer", "inbox", "--as", f"firm-{n}")
            z("offer", "correct", str(ids[uscc]), "--as", f"firm-{n}", "--note", "已补充收款账户")
        z("offer", "confirm", str(ids[uscc]), "--as", f"firm-{n}", "--account-name", f"企业{n}", "--bank", "温州银行",
          "--account-no", f"62220211{n:08d}", "--pledge")
    assert "已提醒 1 家" in z("offer", "remind", "--today", "2024-09-28", "--as", "reviewer")
    assert "已提醒 0 家" in z("offer", "remind", "--today", "2024-09-28", "--as", "reviewer")
    assert "1 条事项逾期视为放弃" in z("offer", "expire", "--today", "2024-10-01", "--as", "reviewer")
    assert states(db)[silent] == "waived"

    z("user", "add", "finance2", "--name", "财政复核", "--role", "finance", "--department", "fin", "--no-password")
    total = sum(int(r[4].replace(".", "")) for r in listed[1:] if r[2] in confirming)
    z("pay", "fund", POLICY, "2024", f"{(total - 1) // 100}.{(total - 1) % 100:02d}", "--as", "finance")
    assert "预算不足" in z("pay", "batch", "prepare", CLAUSE, "--year", "2024", "--as", "finance", ok=False)
    z("pay", "fund", POLICY, "2024", "0.01", "--as", "finance")
    z("pay", "batch", "prepare", CLAUSE, "--year", "2024", "--as", "finance")
    assert "编制人不能审批" in z("pay", "batch", "approve", "1", "--as", "finance", ok=False)
    z("pay", "file", "1", "--out", str(tmp_path / "bank.xlsx"), "--as", "finance", ok=False)   # not approved
    z("pay", "batch", "approve", "1", "--as", "finance2")
    z("pay", "file", "1", "--out", str(tmp_path / "bank.xlsx"), "--as", "finance")
    sheet = [list(r) for r in load_workbook(tmp_path / "bank.xlsx").active.iter_rows(values_only=True)]
    assert sheet[0] == ["序号", "收款户名", "收款账号", "开户行", "金额（元）", "用途", "业务参考号"]
    assert len(sheet) == 1 + len(confirming)

    wb = Workbook()
    ws = wb.active
    ws.append(["业务参考号", "金额", "结果", "失败原因"])
    for row in sheet[1:]:
        ws.append([row[6], row[4], "成功", None])
    wb.save(tmp_path / "回单.xlsx")
    z("pay", "import", str(tmp_path / "回单.xlsx"), "--as", "finance")
    assert "此前已记录" in z("pay", "import", str(tmp_path / "回单.xlsx"), "--as", "finance")
    final = states(db)
    assert all(final[u] == "paid" for u in confirming) and final[silent] == "waived"
    ledger = z("pay", "ledger", "--as", "finance")
    assert "账簿平衡" in ledger and f"paid:{POLICY}:2024" in ledger


def test_the_documented_command_sequence_runs_as_written(tmp_path):
    doc = (ROOT / "docs" / "money.md").read_text(encoding="utf-8")
    section = doc[doc.index("## From whitelist to paid on the command line"):]
    block = section[section.index("```bash") + len("```bash"):section.index("```", section.index("```bash") + 7)]
    script = "set -euo pipefail\n" + block.replace("export ZHIDA_DATA_DIR=$(mktemp -d)", "")
    env = {**os.environ, "ZHIDA_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200",
           "ZHIDA_POLICIES": str(ROOT / "policies"), "ZHIDA_ZONES": str(ROOT / "zones"),
           "PATH": f"{ZHIDA.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("ZHIDA_DATABASE_URL", None)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                          stdin=subprocess.DEVNULL, timeout=600)   # the files it writes land in tmp_path
    assert done.returncode == 0, done.stdout + done.stderr
    assert "到账 2 笔" in done.stdout and "账簿平衡" in done.stdout
    assert (tmp_path / "公示.xlsx").is_file() and (tmp_path / "bank.xlsx").is_file()
    no_personal_data_leaks(tmp_path, done.stdout + done.stderr, env)


def no_personal_data_leaks(folder: Path, output: str, env: dict[str, str]) -> None:
    """The log scanner: no receiving account number (those of the demo city's bank feed and those
    typed at confirmation) and no legal representative's name appears in plain text in what the
    run printed, in any file it exported except the bank's 代发 file (which must carry the
    accounts), or in the audit log and the firms' notifications."""
    from zhida.bootstrap import bootstrap
    from zhida.settings import Settings
    from zhida.workflow.firms import latest_facts
    from zhida.workflow.offers import account_of

    wired = bootstrap(Settings(data_dir=Path(env["ZHIDA_DATA_DIR"])))
    try:
        store = wired.matched_store()
        with wired.uow() as uow:
            usccs = list(uow.conn.execute(sa.select(t.offers.c.uscc)).scalars())
            stored = [n for n in uow.conn.execute(sa.select(t.offers.c.account_no)).scalars() if n]
            typed = [account_of(uow, n) for n in stored]
            notes = [f"{n.title} {n.body}" for n in uow.conn.execute(sa.select(t.notifications)).all()]
        facts = latest_facts(store, usccs, ["bank_account", "legal_representative"], date(2100, 1, 1))
    finally:
        wired.close()
    personal = {v for f in facts.values() for k, v in f.items() if v and len(str(v)) >= 2} | set(typed)
    assert len(personal) >= 4, "the scanner must have something to look for"
    audit = zhida("audit", "log", "--limit", "1000", data_dir=Path(env["ZHIDA_DATA_DIR"]))
    texts = {"output": output, "audit log": audit, "notifications": "\n".join(notes)}
    for f in folder.iterdir():
        if f.is_file() and f.suffix in (".csv", ".xlsx") and f.name != "bank.xlsx":
            texts[f.name] = f.read_text(encoding="utf-8-sig") if f.suffix == ".csv" else "\n".join(
                str(c) for row in load_workbook(f).active.iter_rows(values_only=True) for c in row)
    leaks = [(where, s) for where, text in texts.items() for s in personal if str(s) in text]
    assert leaks == [], f"personal data in plain text: {leaks[:5]}"
    bank = "\n".join(str(c) for row in load_workbook(folder / "bank.xlsx").active.iter_rows(values_only=True)
                     for c in row)
    assert all(n in bank for n in typed)                 # the one export that needs them has them
    assert stored and all(s.startswith("zs1:") and not any(n in s for n in typed) for s in stored)   # sealed at rest


def test_a_bad_bank_result_file_is_rejected_with_every_problem_and_changes_nothing(city, tmp_path):
    data, db = city
    with db.uow() as uow:
        payments = uow.conn.execute(sa.select(t.payments.c.idempotency_key, t.payments.c.amount_fen)).all()
    assert payments, "runs after the end-to-end test, on its data"
    key, fen = payments[0]
    amount = f"{fen // 100}.{fen % 100:02d}"
    (tmp_path / "bad.csv").write_text("\n".join([
        "业务参考号,金额,结果,失败原因",
        "offer-99999-1,100.00,成功,",          # row 2: unknown
        f"{key},{amount},成功,",                # row 3
        f"{key},{amount},成功,",                # row 4: duplicate
        f"{key}x,{amount},成功",                # row 5: malformed (three columns)
        f"{payments[-1][0]},0.5,成功,",         # row 6: wrong amount
        f"{payments[-1][0]}", ""]), encoding="utf-8")
    before = snapshot(db)
    out = zhida("pay", "import", str(tmp_path / "bad.csv"), "--as", "finance", data_dir=data, ok=False)
    assert "未做任何更改" in out
    for row, field in [(2, "业务参考号"), (4, "业务参考号"), (5, "整行"), (6, "金额"), (7, "整行")]:
        assert f"bad.csv 第 {row} 行 {field}" in out
    assert snapshot(db) == before
