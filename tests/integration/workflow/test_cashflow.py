"""The leaders' figures: the funnel from matched to paid, 兑现率, days to cash, paid money by
district / industry / size, and what is overdue — computed from the run and the workflow tables."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from zhida.accounts import NotAllowed, Role, User
from zhida.cashflow import cash_flow
from zhida.matching.run import run_results
from zhida.workflow.batches import approve_batch, prepare_batch, review
from zhida.workflow.notices import close_notice, start_notice
from zhida.workflow.payments import fund_budget, settle_payment

from .conftest import CLAUSE, FINANCE, REVIEWER, firm
from .test_batches import FINANCE2, POLICY, confirmed_offers
from .test_offers import _offers

LEADER = User(id=20, username="leader", display_name="领导", roles=frozenset({Role.LEADER}))


def test_the_funnel_narrows_from_matched_to_paid_and_the_figures_add_up(database, published_run, setup, policies):
    confirmed = confirmed_offers(database, published_run, setup)
    fund_budget(database.uow(), POLICY, 2024, sum(o.amount_fen for o in confirmed), actor=FINANCE)
    batch = prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)
    approve_batch(database.uow(), batch.id, actor=FINANCE2)
    paid, failed = batch.payments[:-1], batch.payments[-1]
    for p in paid:
        settle_payment(database.uow(), p.idempotency_key, paid=True, actor=FINANCE)
    settle_payment(database.uow(), failed.idempotency_key, paid=False, reason="账户冻结", actor=FINANCE)

    now = datetime.now(UTC)
    f = cash_flow(database.uow(), published_run, setup.data_dir, now, actor=LEADER)
    labels = [s.label for s in f.funnel]
    assert labels == ["匹配符合", "生成兑现事项", "已通知企业", "企业已确认", "已到账"]
    firms = [s.firms for s in f.funnel]
    assert firms == sorted(firms, reverse=True) and firms[-1] == len(paid)
    paying = [c.key for p in policies for c in p.clauses if c.spec.mode != "report_only"]
    matched = run_results(published_run, setup.data_dir).filter(pl.col("clause").is_in(paying)
                                                                & (pl.col("status") == "eligible"))
    assert (f.funnel[0].firms, f.funnel[0].fen) == (matched["uscc"].n_unique(), matched["amount_fen"].sum())
    assert f.funnel[1].fen == sum(o.amount_fen for o in confirmed)
    assert f.funnel[-1].fen == sum(p.amount_fen for p in paid)
    assert f.cash_rate == pytest.approx(f.funnel[-1].fen / f.funnel[0].fen)
    assert f.days_to_cash is not None and 0 <= f.days_to_cash[0] <= f.days_to_cash[1] < 1   # paid within the test
    for dimension in ("区县", "行业门类", "企业规模"):
        assert sum(fen for _, fen in f.paid_by[dimension]) == f.funnel[-1].fen
    assert f.overdue_offers == 0 and f.overdue_applications == 0
    with pytest.raises(NotAllowed):
        cash_flow(database.uow(), published_run, setup.data_dir, now, actor=firm(confirmed[0].uscc))


def test_offers_past_their_confirmation_deadline_are_counted_overdue(database, published_run, setup):
    made = _offers(database, published_run, setup)                   # confirm by 2024-09-30
    review(database.uow(), CLAUSE, actor=REVIEWER)
    notice = start_notice(database.uow(), CLAUSE, start=date(2024, 9, 2), days=5, actor=REVIEWER)
    close_notice(database.uow(), notice.id, date(2024, 9, 7), actor=REVIEWER)
    late = cash_flow(database.uow(), published_run, setup.data_dir, datetime(2024, 10, 1, tzinfo=UTC), actor=LEADER)
    assert late.overdue_offers == len(made)
    assert late.days_to_cash is None and late.funnel[-1].firms == 0 and late.cash_rate == 0
    early = cash_flow(database.uow(), published_run, setup.data_dir, datetime(2024, 9, 8, tzinfo=UTC), actor=LEADER)
    assert early.overdue_offers == 0
