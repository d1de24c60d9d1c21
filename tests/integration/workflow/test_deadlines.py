"""Reminders before the confirmation deadline and deemed waiver after it: idempotent services,
on SQLite and PostgreSQL."""

from datetime import date

import pytest

from zhida.accounts import SYSTEM, NotAllowed
from zhida.workflow.batches import review
from zhida.workflow.deadlines import expire_overdue, send_reminders
from zhida.workflow.notices import close_notice, start_notice
from zhida.workflow.notifications import notifications_of
from zhida.workflow.offers import events_of, get_offer
from zhida.workflow.states import OfferState

from .conftest import CLAUSE, FINANCE, OTHER_REVIEWER, REVIEWER
from .test_offers import _accept, _offers

S = OfferState


def test_unconfirmed_offers_are_reminded_once_a_day_and_waived_after_the_deadline(database, published_run, setup):
    made = _offers(database, published_run, setup)          # confirm by 2024-09-30
    uow = database.uow
    review(uow(), CLAUSE, actor=REVIEWER)
    notice = start_notice(uow(), CLAUSE, start=date(2024, 9, 2), days=5, actor=REVIEWER)
    close_notice(uow(), notice.id, date(2024, 9, 7), actor=REVIEWER)
    confirming, *silent = made
    _accept(database, confirming)

    assert send_reminders(uow(), date(2024, 9, 20), actor=REVIEWER, days_before=3).sent == []   # not near yet
    first = send_reminders(uow(), date(2024, 9, 28), actor=REVIEWER, days_before=3)
    assert sorted(first.sent) == sorted(o.id for o in silent)
    again = send_reminders(uow(), date(2024, 9, 28), actor=REVIEWER, days_before=3)
    assert again.sent == [] and sorted(again.already) == sorted(first.sent)          # one per offer and day
    assert len(send_reminders(uow(), date(2024, 9, 29), actor=REVIEWER, days_before=3).sent) == len(silent)
    inbox = notifications_of(uow(), silent[0].uscc, actor=REVIEWER)
    assert [n.kind for n in inbox] == ["offer_reminder", "offer_reminder", "offer_confirm"]
    assert "剩 2 天" in inbox[1].title
    assert [n.kind for n in notifications_of(uow(), confirming.uscc, actor=REVIEWER)] == ["offer_confirm"]

    assert expire_overdue(uow(), date(2024, 9, 30), actor=REVIEWER) == []              # the last day still counts
    with pytest.raises(NotAllowed):
        expire_overdue(uow(), date(2024, 10, 1), actor=FINANCE)
    assert expire_overdue(uow(), date(2024, 10, 1), actor=OTHER_REVIEWER) == []        # not its department's
    waived = expire_overdue(uow(), date(2024, 10, 1), actor=REVIEWER)
    assert sorted(waived) == sorted(o.id for o in silent)
    assert expire_overdue(uow(), date(2024, 10, 2), actor=REVIEWER) == []              # idempotent
    assert all(get_offer(uow(), o.id).state is S.WAIVED for o in silent)
    assert get_offer(uow(), confirming.id).state is S.CONFIRMED
    last = events_of(uow(), silent[0].id, actor=SYSTEM)[-1]
    assert (last["action"], last["actor"], last["detail"]) == ("expire", "reviewer",
                                                               {"deadline": "2024-09-30", "today": "2024-10-01"})
    assert notifications_of(uow(), silent[0].uscc, actor=REVIEWER)[0].kind == "offer_waived"
