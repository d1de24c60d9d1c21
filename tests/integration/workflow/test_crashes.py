"""Crashes in the payment flow, on PostgreSQL: ≥ 200 worker processes killed at the named points
of zhida.workflow.faults (bench/payments.py, run as a person would run it) leave no firm paid
twice, nothing stuck, no money beyond the budget, and a balanced ledger that agrees with the
bank; and the checker itself finds a duplicate when one is planted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from ...conftest import POSTGRES_URL, postgres_admin

ROOT = Path(__file__).parents[3]


def test_two_hundred_kills_at_every_named_point_leave_no_duplicate_nothing_stuck_and_no_overspending():
    postgres_admin().dispose()                                  # fails, with the fix, when PostgreSQL is down
    env = {**os.environ, "ZHIDA_TEST_DATABASE_URL": POSTGRES_URL}
    done = subprocess.run([sys.executable, "bench/payments.py", "--kills", "200", "--firms", "12", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["kills"] >= 200 and all(n > 0 for n in figures["kills_at"].values()), figures
    assert (figures["duplicate_payments"], figures["stuck"], figures["overspent_fen"]) == (0, 0, 0), figures
    assert figures["balanced"] and figures["bank_matches"] and figures["worker_errors"] == 0, figures


def test_the_checker_finds_a_planted_duplicate(tmp_path):
    sys.path.insert(0, str(ROOT))
    try:
        from bench import payments as bench
    finally:
        sys.path.remove(str(ROOT))
    url, bank_url = f"sqlite:///{tmp_path / 'app.sqlite'}", f"sqlite:///{tmp_path / 'bank.sqlite'}"
    from zhida.accounts import Role, User
    from zhida.db import create_engine
    from zhida.db.migrate import upgrade
    from zhida.workflow.bank import LoopbackBank

    engine = create_engine(url)
    upgrade(engine)
    run_id, version_id = bench._seed(engine)
    bench._add_round(url, run_id, version_id, 0, 3)
    finance = User(id=1, username="bench-finance", display_name="压测财政", roles=frozenset({Role.FINANCE}))
    assert bench._work(url, bank_url, finance, None) == 0
    clean = bench._check(url, bank_url)
    assert (clean["duplicate_payments"], clean["stuck"], clean["overspent_fen"]) == (0, 0, 0)
    bank = LoopbackBank(sa.create_engine(bank_url))
    with engine.begin() as conn:                                  # a second key for a paid offer, paid by the bank
        offer_id, amount = conn.execute(sa.text("SELECT offer_id, amount_fen FROM payments LIMIT 1")).one()
    bank.send(f"offer-{offer_id}-9", "6222", "某公司", amount)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO payments (offer_id, idempotency_key, amount_fen, state, created_at) "
                             "VALUES (:o, :k, :a, 'failed', CURRENT_TIMESTAMP)"),
                     {"o": offer_id, "k": f"offer-{offer_id}-9", "a": amount})
    planted = bench._check(url, bank_url)
    assert planted["duplicate_payments"] == 1 and not planted["bank_matches"]
    engine.dispose()
