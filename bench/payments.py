"""Crash benchmark of the payment flow: workers killed at every named point, over and over.

    python bench/payments.py --kills 1000 [--firms 40] [--database-url URL] [--json]

On PostgreSQL (default: $ZHIDA_TEST_DATABASE_URL or the local test server; a schema of its own,
dropped afterwards) or SQLite (`--database-url sqlite:///…`): a published pack, a match run and
`--firms` confirmed offers with funded budgets, and a loopback bank (zhida.workflow.bank) in a
schema of its own. Then, again and again, a worker process — forked from this one, so a kill
costs milliseconds, not an interpreter start — schedules every confirmed offer and sends every
pending payment through the bank, armed to die (`os._exit(137)`, like SIGKILL) at one of the
named points of zhida.workflow.faults, after a random number of passes. The next worker resumes.
When every offer is paid, a new round of offers is added. At the end one unarmed worker finishes
whatever is left, and the store and the bank are checked:

* duplicate_payments — offers the bank paid more than once, or with more than one paid payment;
* stuck — offers not paid, payments still pending, after the final worker;
* overspent_fen — money committed or paid beyond the budgets;
* ledger balanced, and the bank's total equals the paid payments' total.

With --json the last line is one JSON object with the keys kills, duplicate_payments, stuck,
overspent_fen (and more).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2024, 6, 30)
CLAUSE = "cn-hrss-2023-job-expansion/expansion-2023-2024"
POLICY = CLAUSE.split("/")[0]


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=1000)
    ap.add_argument("--firms", type=int, default=40, help="confirmed offers per round")
    ap.add_argument("--database-url", default=os.environ.get("ZHIDA_TEST_DATABASE_URL")
                    or "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from zhida.accounts import Role, User
    from zhida.db import create_engine
    from zhida.db.migrate import upgrade
    from zhida.workflow.faults import POINTS

    finance = User(id=1, username="bench-finance", display_name="压测财政", roles=frozenset({Role.FINANCE}))
    url, bank_url, cleanup = _stores(args.database_url)
    try:
        engine = create_engine(url)
        upgrade(engine)
        run_id, version_id = _seed(engine)
        engine.dispose()
        rng = random.Random(args.seed)
        kills = rounds = completed = errors = 0
        per_point = dict.fromkeys(POINTS, 0)
        started = time.perf_counter()
        _add_round(url, run_id, version_id, rounds, args.firms)
        while kills < args.kills:
            point = POINTS[kills % len(POINTS)]
            code = _worker(url, bank_url, finance, arm=(point, rng.randrange(args.firms)))
            if code == 137:
                kills += 1
                per_point[point] += 1
            elif code == 0:                    # finished the round without reaching the point
                completed += 1
                rounds += 1
                _add_round(url, run_id, version_id, rounds, args.firms)
            else:
                errors += 1
                if errors > 20:
                    raise SystemExit(f"workers failed {errors} times (exit code {code}); see the output above")
        final = _worker(url, bank_url, finance, arm=None)
        seconds = time.perf_counter() - started
        figures = {"kills": kills, "rounds": rounds + 1, "offers": (rounds + 1) * args.firms, "worker_errors": errors,
                   "final_worker_exit": final, **_check(url, bank_url), "seconds": round(seconds, 1),
                   "kills_per_s": round(kills / seconds, 1), "database": url.split(":")[0], "kills_at": per_point}
    finally:
        cleanup()
    print(f"支付流程崩溃测试：{figures['kills']} 次在 {len(POINTS)} 个命名位置强行终止工作进程，"
          f"{figures['offers']} 笔兑现，{figures['seconds']} 秒（{figures['database']}）")
    print("  各位置终止次数：" + "，".join(f"{p} {n}" for p, n in figures["kills_at"].items()))  # type: ignore[attr-defined]
    yes = {True: "是", False: "否"}
    print(f"  重复支付 {figures['duplicate_payments']}，卡住 {figures['stuck']}，超支 {figures['overspent_fen']} 分，"
          f"账簿平衡 {yes[bool(figures['balanced'])]}，银行与台账一致 {yes[bool(figures['bank_matches'])]}")
    if args.json:
        print(json.dumps(figures))
    return figures


def _stores(url: str) -> tuple[str, str, object]:
    """The app's store and the bank's, each fresh; and how to remove them."""
    if url.startswith("sqlite"):
        folder = Path(tempfile.mkdtemp(prefix="zhida-bench-payments-"))

        def remove_files() -> None:
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
        return f"sqlite:///{folder / 'zhida.sqlite'}", f"sqlite:///{folder / 'bank.sqlite'}", remove_files
    app_schema, bank_schema = f"bench_{uuid.uuid4().hex[:10]}", f"bench_bank_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{app_schema}"'))
        conn.execute(sa.text(f'CREATE SCHEMA "{bank_schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{app_schema}" CASCADE'))
            conn.execute(sa.text(f'DROP SCHEMA "{bank_schema}" CASCADE'))
        admin.dispose()
    sep = "&" if "?" in url else "?"
    return (f"{url}{sep}options=-csearch_path%3D{app_schema}", f"{url}{sep}options=-csearch_path%3D{bank_schema}",
            drop)


def _seed(engine: sa.Engine) -> tuple[str, int]:
    """A published pack and a match run over a small demo city (the offers point at them)."""
    from zhida import catalog
    from zhida.accounts import SYSTEM
    from zhida.db import Database
    from zhida.matching.results import pack_cache_dir
    from zhida.matching.run import MatchSetup, run_match
    from zhida.packs.cache import load_or_compile
    from zhida.profiles.demo import demo_store
    from zhida.published import publish, published_pack
    from zhida.rules.model.policy import load_policies

    db = Database(engine)
    data = Path(tempfile.mkdtemp(prefix="zhida-bench-city-"))
    schema = catalog.load_schema(ROOT / "zones")
    publish(db.uow(), load_policies([ROOT / "policies"]), actor=SYSTEM)
    documents, mapping = published_pack(db.uow())
    pack = load_or_compile(documents, schema, AS_OF, pack_cache_dir(data))
    store = demo_store(AS_OF, base=data, enterprises=60, seed=3)
    run = run_match(db.uow(), MatchSetup(data_dir=data, schema=schema, zones_dir=ROOT / "zones"), store, pack,
                    AS_OF, published=mapping)
    with db.uow() as uow:
        version_id = uow.conn.execute(sa.select(sa.func.max(_t().policy_versions.c.id))
                                      .where(_t().policy_versions.c.policy_id == POLICY)).scalar_one()
    return run.id, int(version_id)


def _t():  # type: ignore[no-untyped-def]
    from zhida.db import tables

    return tables


def _add_round(url: str, run_id: str, version_id: int, n: int, firms: int) -> None:
    """`firms` new confirmed offers (as the workflow leaves them before payment), funded exactly."""
    from zhida.accounts import Role, User
    from zhida.db import Database, create_engine
    from zhida.workflow.payments import fund_budget

    t = _t()
    engine = create_engine(url)
    db = Database(engine)
    at = datetime(2024, 9, 1, tzinfo=UTC)
    rows = [{"clause": CLAUSE, "policy_id": POLICY, "version_id": version_id, "run_id": run_id,
             "uscc": f"91330300MA{n:03d}{i:05d}", "period": "2024", "amount_fen": 150_000 + 100 * i,
             "department": "hrss", "state": "confirmed", "account_name": f"压测企业{n}-{i}",
             "account_bank": "温州银行", "account_no": f"622200{n:04d}{i:06d}", "created_at": at, "updated_at": at}
            for i in range(firms)]
    with db.uow() as uow:
        uow.conn.execute(sa.insert(t.offers), rows)
        uow.commit()
    fund_budget(db.uow(), POLICY, 2024, sum(r["amount_fen"] for r in rows),
                actor=User(id=1, username="bench-finance", display_name="压测财政", roles=frozenset({Role.FINANCE})))
    engine.dispose()


def _worker(url: str, bank_url: str, finance: object, *, arm: tuple[str, int] | None) -> int:
    """Fork a worker; its exit code (137: killed at the armed point, 0: nothing left to do)."""
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:                          # the child: its own connections, armed, then to work
        code = 1
        try:
            code = _work(url, bank_url, finance, arm)
        except BaseException as e:
            print(f"worker failed: {type(e).__name__}: {e}", file=sys.stderr)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _work(url: str, bank_url: str, finance: object, arm: tuple[str, int] | None) -> int:
    from zhida.db import Database, create_engine
    from zhida.errors import ZhidaError
    from zhida.workflow import faults
    from zhida.workflow.bank import LoopbackBank
    from zhida.workflow.disburse import pay_pending
    from zhida.workflow.payments import schedule_payment

    t = _t()
    db, bank = Database(create_engine(url)), LoopbackBank(sa.create_engine(bank_url))
    if arm is not None:
        faults.arm(arm[0], after=arm[1])
    with db.uow() as uow:
        todo = list(uow.conn.execute(sa.select(t.offers.c.id).order_by(t.offers.c.id)
                                     .where(t.offers.c.state.in_(["confirmed", "payment_failed"]))).scalars())
    for offer_id in todo:
        with contextlib.suppress(ZhidaError):  # moved meanwhile: the state machine refuses, nothing changes
            schedule_payment(db.uow(), offer_id, actor=finance)  # type: ignore[arg-type]
    pay_pending(db.uow, bank, actor=finance)  # type: ignore[arg-type]
    return 0


def _check(url: str, bank_url: str) -> dict[str, object]:
    from zhida.db import Database, create_engine
    from zhida.errors import ZhidaError
    from zhida.workflow import ledger

    t = _t()
    db = Database(create_engine(url))
    bank_engine = sa.create_engine(bank_url)
    from zhida.workflow.bank import transfers

    with bank_engine.connect() as conn:
        sent = conn.execute(sa.select(transfers.c.idempotency_key, transfers.c.amount_fen)).all()
    with db.uow() as uow:
        offer_of = dict(uow.conn.execute(sa.select(t.payments.c.idempotency_key, t.payments.c.offer_id)).all())
        paid_per_offer = dict(uow.conn.execute(sa.select(t.payments.c.offer_id, sa.func.count())
                                               .where(t.payments.c.state == "paid")
                                               .group_by(t.payments.c.offer_id)).all())
        not_paid = uow.conn.execute(sa.select(sa.func.count()).select_from(t.offers)
                                    .where(t.offers.c.state != "paid")).scalar_one()
        pending = uow.conn.execute(sa.select(sa.func.count()).select_from(t.payments)
                                   .where(t.payments.c.state == "pending")).scalar_one()
        paid_total = uow.conn.execute(sa.select(sa.func.coalesce(sa.func.sum(t.payments.c.amount_fen), 0))
                                      .where(t.payments.c.state == "paid")).scalar_one()
        budgets = uow.conn.execute(sa.select(t.budgets.c.funded_fen, t.budgets.c.committed_fen)).all()
    bank_per_offer: dict[int, int] = {}
    for key, _ in sent:
        bank_per_offer[offer_of[key]] = bank_per_offer.get(offer_of[key], 0) + 1
    duplicates = {o for o, n in bank_per_offer.items() if n > 1} | {o for o, n in paid_per_offer.items() if n > 1}
    overspent = sum(max(0, c - f) for f, c in budgets) + max(0, int(paid_total) - sum(f for f, _ in budgets))
    try:
        ledger.check_balanced(db.uow())
        balanced = True
    except ZhidaError:
        balanced = False
    return {"duplicate_payments": len(duplicates), "stuck": int(not_paid) + int(pending), "overspent_fen": overspent,
            "balanced": balanced, "bank_matches": sum(a for _, a in sent) == int(paid_total),
            "paid_fen": int(paid_total)}


if __name__ == "__main__":
    main()
