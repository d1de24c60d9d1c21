"""Payment batches per clause and year within the budget, prepared by one finance user and
approved by another, on SQLite and PostgreSQL."""

from datetime import date

import pytest

from zhida.accounts import NotAllowed, Role, User
from zhida.workflow import ledger
from zhida.workflow.batches import approve_batch, get_batch, list_batches, prepare_batch, review
from zhida.workflow.notices import close_notice, start_notice
from zhida.workflow.offers import OfferError, get_offer
from zhida.workflow.payments import BudgetExceeded, fund_budget
from zhida.workflow.states import OfferState

from .conftest import CLAUSE, FINANCE, REVIEWER
from .test_offers import _accept, _offers

S = OfferState
POLICY = CLAUSE.split("/")[0]
FINANCE2 = User(id=14, username="finance2", display_name="财政复核", roles=frozenset({Role.FINANCE}))


def confirmed_offers(database, run, setup):
    """Offers reviewed, through 公示, and accepted by every firm."""
    made = _offers(database, run, setup)
    review(database.uow(), CLAUSE, actor=REVIEWER)
    notice = start_notice(database.uow(), CLAUSE, start=date(2024, 9, 2), days=5, actor=REVIEWER)
    close_notice(database.uow(), notice.id, date(2024, 9, 7), actor=REVIEWER)
    return [_accept(database, o) for o in made]


def test_a_batch_the_budget_cannot_cover_is_not_made_and_says_what_is_missing(database, published_run, setup):
    confirmed = confirmed_offers(database, published_run, setup)
    total = sum(o.amount_fen for o in confirmed)
    fund_budget(database.uow(), POLICY, 2024, total - 1, actor=FINANCE)
    with pytest.raises(BudgetExceeded, match="批次未生成，请用 zhida pay fund 追加预算"):
        prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)
    assert all(get_offer(database.uow(), o.id).state is S.CONFIRMED for o in confirmed)   # nothing scheduled
    assert list_batches(database.uow(), actor=FINANCE) == []
    assert ledger.balance(database.uow(), ledger.budget_account(POLICY, 2024)) == total - 1

    fund_budget(database.uow(), POLICY, 2024, 1, actor=FINANCE)
    batch = prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)
    assert (batch.state, batch.count, batch.total_fen) == ("prepared", len(confirmed), total)
    assert {p.offer_id for p in batch.payments} == {o.id for o in confirmed}
    assert all(get_offer(database.uow(), o.id).state is S.PAYING for o in confirmed)
    with pytest.raises(OfferError, match="没有已确认、待拨付的事项"):
        prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)       # nothing left: no second batch
    ledger.check_balanced(database.uow())


def test_the_preparer_cannot_approve_its_own_batch(database, published_run, setup):
    confirmed = confirmed_offers(database, published_run, setup)
    fund_budget(database.uow(), POLICY, 2024, sum(o.amount_fen for o in confirmed), actor=FINANCE)
    batch = prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)
    with pytest.raises(NotAllowed, match="编制人不能审批自己的批次"):
        approve_batch(database.uow(), batch.id, actor=FINANCE)
    with pytest.raises(NotAllowed):
        approve_batch(database.uow(), batch.id, actor=REVIEWER)
    assert get_batch(database.uow(), batch.id).state == "prepared"
    approved = approve_batch(database.uow(), batch.id, actor=FINANCE2)
    assert (approved.state, approved.prepared_by, approved.approved_by) == ("approved", "finance", "finance2")
    with pytest.raises(OfferError, match="已由 finance2 审批"):
        approve_batch(database.uow(), batch.id, actor=FINANCE2)
