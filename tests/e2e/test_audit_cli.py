"""`zhida audit` end to end on a data directory's embedded database: checkpoints, a department's
cosignature, proofs a third party checks with the standalone verifiers, and tampering found."""

import json
import sqlite3
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from zhida.audit import log, merkle
from zhida.bootstrap import bootstrap
from zhida.cli import app
from zhida.settings import Settings

runner = CliRunner()


@pytest.fixture
def zhida(tmp_path):
    def run(*args):
        return runner.invoke(app, ["audit", *args],
                             env={"ZHIDA_DATA_DIR": str(tmp_path), "ZHIDA_DATABASE_URL": None, "COLUMNS": "200"})

    wired = bootstrap(Settings(data_dir=tmp_path))
    for i in range(5):
        with wired.uow() as uow:
            log.record(uow, kind="offer.approve", actor="reviewer", subject=f"offer:{i}", data={"batch": 1},
                       clock=lambda: datetime(2026, 12, 4, tzinfo=UTC))
            uow.commit()
    wired.close()
    return run


def test_checkpoint_cosign_prove_and_verify(zhida, tmp_path):
    first = zhida("checkpoint")
    assert first.exit_code == 0 and "检查点 1：共 5 条" in first.stdout, first.output
    assert first.stdout.splitlines()[1:4][0] == "zhida.local/audit"
    key = zhida("key").stdout.strip()
    assert key.startswith("zhida.local/audit+")
    made = zhida("keygen", "hrss.test", "--out", str(tmp_path / "hrss.key"))
    assert made.exit_code == 0 and (tmp_path / "hrss.key").stat().st_mode & 0o777 == 0o600
    witness = made.stdout.strip().splitlines()[-1]
    assert zhida("cosign", "1", "--key", str(tmp_path / "hrss.key")).exit_code == 0
    verified = zhida("verify", "--key", key, "--witness", witness)
    assert verified.exit_code == 0 and "审计日志完好：共 5 条" in verified.stdout, verified.output

    proof = json.loads(zhida("prove", "3", "--json").stdout)
    assert merkle.verify_inclusion(3, 5, merkle.SHA256.leaf(proof["entry"].encode()),
                                   [bytes.fromhex(p) for p in proof["proof"]], bytes.fromhex(proof["root"]))
    assert json.loads(proof["entry"])["subject"] == "offer:3"


def test_consistency_between_two_checkpoints(zhida, tmp_path):
    assert zhida("checkpoint").exit_code == 0
    wired = bootstrap(Settings(data_dir=tmp_path))
    with wired.uow() as uow:
        log.record(uow, kind="payment.settle", actor="finance", subject="offer:9")
        uow.commit()
    wired.close()
    assert zhida("checkpoint").exit_code == 0
    c = json.loads(zhida("consistency", "5", "6", "--json").stdout)
    assert merkle.verify_consistency(5, 6, [bytes.fromhex(p) for p in c["proof"]], bytes.fromhex(c["first_root"]),
                                     bytes.fromhex(c["second_root"]))
    listed = zhida("checkpoints").stdout
    assert "│ 1    │ 5    │" in listed and "│ 2    │ 6    │" in listed, listed


def test_tampering_is_reported_with_the_first_bad_index_and_exit_code_one(zhida, tmp_path):
    assert zhida("checkpoint").exit_code == 0
    with sqlite3.connect(tmp_path / "zhida.sqlite") as conn:
        conn.execute("UPDATE audit_log SET entry = replace(entry, 'offer:2', 'offer:7') WHERE idx = 2")
    result = zhida("verify")
    assert result.exit_code == 1 and "第一处有问题的序号：2" in result.stdout, result.output
    refused = zhida("checkpoint")
    assert refused.exit_code == 2 and "第 2 条" in refused.output


def test_a_checkpoint_scheduled_for_the_day_is_signed_by_the_job_worker(zhida, tmp_path):
    from typer.testing import CliRunner

    from zhida.cli import app as cli

    def jobs(*args):
        return CliRunner().invoke(cli, ["jobs", *args], env={"ZHIDA_DATA_DIR": str(tmp_path),
                                                             "ZHIDA_DATABASE_URL": None, "COLUMNS": "200"})

    assert "已安排今日检查点" in zhida("checkpoint", "--schedule").stdout
    assert "此前已安排" in zhida("checkpoint", "--schedule").stdout            # once a day
    worked = jobs("work", "--once")
    assert worked.exit_code == 0 and "完成 1" in worked.stdout, worked.output
    assert "│ 1    │ 5    │" in zhida("checkpoints").stdout
    assert zhida("verify").exit_code == 0
