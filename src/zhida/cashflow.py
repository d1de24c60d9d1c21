"""What leaders watch (温州 督办): how far matched money got, how fast, where it went, what is late.

    f = cash_flow(uow, run, data_dir, now, actor=leader)
    f.funnel          # matched → offered → notified → confirmed → paid, firms and fen at each step
    f.cash_rate       # 兑现率: paid fen over the fen matched for clauses that pay
    f.days_to_cash    # offer made (or application submitted) → bank paid: median and 90th percentile
    f.paid_by         # paid fen by district, industry and size
    f.overdue         # firms past their confirmation deadline; applications past their time limit

Read-only over the run's results, offers, their events, payments and applications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from statistics import median, quantiles

import polars as pl
import sqlalchemy as sa

from zhida.accounts import Permission, User, require
from zhida.db.tables import applications, offer_events, offers, payments
from zhida.db.uow import UnitOfWork
from zhida.matching.incremental import current_results
from zhida.matching.run import MatchRun, run_enterprises
from zhida.profiles.industry import section
from zhida.profiles.registry import load_registry
from zhida.published import versions

PAYING_MODES = ("exempt", "instant", "reviewed")
NOTIFIED = ("awaiting_confirmation", "needs_correction", "confirmed", "declined", "waived", "paying",
            "payment_failed", "advanced", "settled", "paid")
CONFIRMED = ("confirmed", "paying", "payment_failed", "advanced", "settled", "paid")


@dataclass(frozen=True)
class Step:
    label: str
    firms: int
    fen: int


@dataclass
class CashFlow:
    run: MatchRun
    funnel: list[Step]
    cash_rate: float | None                 # paid fen / matched fen (None: nothing matched)
    days_to_cash: tuple[float, float] | None  # (median, 90th percentile), None: nothing paid yet
    paid_by: dict[str, list[tuple[str, int]]] = field(default_factory=dict)   # dimension → [(group, fen)]
    overdue_offers: int = 0
    overdue_applications: int = 0


def cash_flow(uow: UnitOfWork, run: MatchRun, data_dir: Path, now: datetime, *, actor: User,
              pays: Sequence[str] = PAYING_MODES) -> CashFlow:
    """The run's money from match to bank, for leaders and auditors."""
    require(actor, Permission.VIEW_DASHBOARDS)
    modes = {key: mode for key, mode in _clause_modes(uow, run).items() if mode in pays}
    matched = (current_results(uow, run, data_dir).filter(pl.col("clause").is_in(list(modes))
                                                          & (pl.col("status") == "eligible")))
    with uow:
        rows = uow.conn.execute(sa.select(offers.c.id, offers.c.uscc, offers.c.amount_fen, offers.c.state,
                                          offers.c.created_at, offers.c.confirm_by)).all()
        paid_at = dict(uow.conn.execute(sa.select(payments.c.offer_id, sa.func.max(payments.c.settled_at))
                                        .where(payments.c.state == "paid").group_by(payments.c.offer_id)).all())
        paid_fen = dict(uow.conn.execute(sa.select(payments.c.offer_id, sa.func.sum(payments.c.amount_fen))
                                         .where(payments.c.state == "paid").group_by(payments.c.offer_id)).all())
        submitted = dict(uow.conn.execute(sa.select(applications.c.offer_id, applications.c.created_at)
                                          .where(applications.c.offer_id.is_not(None))).all())
        created = dict(uow.conn.execute(sa.select(offer_events.c.offer_id, sa.func.min(offer_events.c.at))
                                        .group_by(offer_events.c.offer_id)).all())
        late_apps = int(uow.conn.execute(sa.select(sa.func.count()).select_from(applications).where(
            (applications.c.state == "in_review") & (applications.c.due_by < now))).scalar_one())
    today = now.date()

    def step(label: str, states: Sequence[str] | None) -> Step:
        chosen = [r for r in rows if states is None or r.state in states]
        return Step(label, len({r.uscc for r in chosen}), sum(int(r.amount_fen) for r in chosen))

    paid = [r for r in rows if r.id in paid_fen]
    funnel = [
        Step("匹配符合", matched["uscc"].n_unique(), int(matched["amount_fen"].fill_null(0).sum())),
        step("生成兑现事项", None),
        step("已通知企业", NOTIFIED),
        step("企业已确认", CONFIRMED),
        Step("已到账", len({r.uscc for r in paid}), sum(int(paid_fen[r.id]) for r in paid)),
    ]
    waits = [(paid_at[r.id] - submitted.get(r.id, created.get(r.id, r.created_at))).total_seconds() / 86400
             for r in paid if paid_at.get(r.id) is not None]
    spread = None
    if waits:
        spread = (median(waits), quantiles(waits, n=10)[-1] if len(waits) > 1 else waits[0])
    return CashFlow(
        run=run, funnel=funnel,
        cash_rate=funnel[-1].fen / funnel[0].fen if funnel[0].fen else None,
        days_to_cash=spread,
        paid_by=_paid_by(run, data_dir, [(r.uscc, int(paid_fen[r.id])) for r in paid]),
        overdue_offers=sum(1 for r in rows if r.state in ("awaiting_confirmation", "needs_correction")
                           and r.confirm_by is not None and r.confirm_by < today),
        overdue_applications=late_apps,
    )


def _clause_modes(uow: UnitOfWork, run: MatchRun) -> dict[str, str]:
    """clause key → mode, for the policy versions the run evaluated."""
    used = set(run.policies)
    return {f"{v.policy_id}/{c['id']}": str(c.get("mode", "")) for v in versions(uow)
            if (v.policy_id, v.content_hash) in used for c in v.document.get("clauses", [])}


def _paid_by(run: MatchRun, data_dir: Path, paid: list[tuple[str, int]]) -> dict[str, list[tuple[str, int]]]:
    """Paid fen by the firms' district, industry section and size (as the run saw them), named."""
    if not paid:
        return {}
    registry = load_registry()
    who = run_enterprises(run, data_dir).filter(pl.col("uscc").is_in([u for u, _ in paid]))
    money = pl.DataFrame(paid, schema={"uscc": pl.String(), "fen": pl.Int64()}, orient="row")
    joined = money.join(who, on="uscc", how="left").with_columns(section(pl.col("industry")).alias("section"))
    out = {}
    for column, label, names in (("district", "区县", dict(registry.code_lists["district_code"])),
                                 ("section", "行业门类", dict(registry.code_lists["industry_section"])),
                                 ("size", "企业规模", dict(registry.code_lists["enterprise_size"]))):
        grouped = (joined.group_by(pl.col(column)).agg(pl.col("fen").sum())
                   .sort(["fen", column], descending=[True, False], nulls_last=True))
        out[label] = [(names.get(g, g) if g else "未知", int(f)) for g, f in grouped.iter_rows()]
    return out
