"""Review as a batch, 公示 with objections and its public list, closing into confirmation (and
待补正 for a firm without an account on file), on SQLite and PostgreSQL."""

import csv
from datetime import date

import pytest
from openpyxl import load_workbook

from zhida.accounts import SYSTEM, NotAllowed
from zhida.workflow.batches import review
from zhida.workflow.notices import (
    BankAccount,
    close_notice,
    corrections,
    export_notice,
    latest_notice,
    objections_of,
    raise_objection,
    resolve_objection,
    start_notice,
)
from zhida.workflow.notifications import mark_read, notifications_of
from zhida.workflow.offers import OfferError, events_of, get_offer, offers_of_clause, transition
from zhida.workflow.states import OfferAction, OfferState

from .conftest import CLAUSE, OTHER_REVIEWER, REVIEWER, firm
from .test_offers import _offers

S = OfferState


def test_a_review_batch_approves_all_but_the_named_firms_each_excluded_with_its_reason(database, published_run, setup):
    made = _offers(database, published_run, setup)
    uow = database.uow
    with pytest.raises(OfferError, match="须写明理由"):
        review(uow(), CLAUSE, actor=REVIEWER, exclude={made[0].uscc: ""})
    with pytest.raises(OfferError, match="没有待审核的事项"):
        review(uow(), CLAUSE, actor=REVIEWER, exclude={"91330300XXXXXXXXXX": "不存在"})
    assert all(get_offer(uow(), o.id).state is S.PENDING_REVIEW for o in made)   # refused: nothing changed
    with pytest.raises(NotAllowed):
        review(uow(), CLAUSE, actor=OTHER_REVIEWER, department="hrss")
    done = review(uow(), CLAUSE, actor=REVIEWER, exclude={made[0].uscc: "已享受同类补贴"})
    assert done.excluded == {made[0].id: "已享受同类补贴"}
    assert sorted(done.approved) == sorted(o.id for o in made[1:])
    assert events_of(uow(), made[0].id, actor=SYSTEM)[-1]["detail"] == {"reason": "已享受同类补贴"}
    assert get_offer(uow(), made[1].id).state is S.APPROVED


def test_notice_objections_export_and_close_route_each_firm(database, published_run, setup, tmp_path):
    made = _offers(database, published_run, setup)
    uow = database.uow
    review(uow(), CLAUSE, actor=REVIEWER)
    notice = start_notice(uow(), CLAUSE, start=date(2024, 9, 2), days=5, actor=REVIEWER)
    assert notice.end_date == date(2024, 9, 6) and len(notice.offer_ids) == len(made)
    upheld, dismissed, no_account, *rest = made
    with pytest.raises(OfferError, match="异议期为 2024-09-02 至 2024-09-06"):
        raise_objection(uow(), upheld.id, "该企业已停产", actor=firm(rest[0].uscc), today=date(2024, 9, 7))
    raise_objection(uow(), upheld.id, "该企业已停产", actor=firm(rest[0].uscc), today=date(2024, 9, 6))
    raise_objection(uow(), dismissed.id, "金额有误", actor=firm(rest[0].uscc))
    with pytest.raises(OfferError, match="须在 2024-09-07 及以后"):
        close_notice(uow(), notice.id, date(2024, 9, 6), actor=REVIEWER)
    with pytest.raises(OfferError, match="未处理的异议"):
        close_notice(uow(), notice.id, date(2024, 9, 7), actor=REVIEWER)
    resolve_objection(uow(), upheld.id, uphold=True, reason="核实已停产", actor=REVIEWER)
    resolve_objection(uow(), dismissed.id, uphold=False, reason="金额按政策计算无误", actor=REVIEWER)
    found = {o.offer_id: (o.raised_by, o.text, o.outcome, o.reason) for o in objections_of(uow(), notice.id)}
    assert found[upheld.id] == (firm(rest[0].uscc).username, "该企业已停产", "upheld", "核实已停产")
    assert found[dismissed.id][2:] == ("dismissed", "金额按政策计算无误")

    names = {dismissed.uscc: "某某机械有限公司"}
    csv_file = export_notice(uow(), notice.id, tmp_path / "公示.csv", names=names)
    with csv_file.open(encoding="utf-8-sig") as f:
        table = list(csv.reader(f))
    assert table[0] == ["序号", "企业名称", "统一社会信用代码", "条款", "金额（元）", "公示期"]
    listed = {r[2]: r for r in table[1:]}
    assert upheld.uscc not in listed and len(listed) == len(made) - 1           # the upheld objection excluded it
    assert listed[dismissed.uscc][1] == "某某机械有限公司" and listed[no_account.uscc][1] == no_account.uscc
    assert listed[dismissed.uscc][4] == f"{dismissed.amount_fen // 100}.{dismissed.amount_fen % 100:02d}"
    assert listed[dismissed.uscc][5] == "2024-09-02 至 2024-09-06"
    sheet = load_workbook(export_notice(uow(), notice.id, tmp_path / "公示.xlsx", names=names)).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == table

    accounts = {o.uscc: BankAccount("某公司", "温州银行", "62220000" + o.uscc[-4:]) for o in [dismissed, *rest]}
    closed = close_notice(uow(), notice.id, date(2024, 9, 7), actor=REVIEWER, accounts=accounts)
    assert sorted(closed.awaiting) == sorted(o.id for o in [dismissed, *rest])
    assert closed.needs_correction == {no_account.id: "未登记对公收款账户（财政局企业收款账户库中没有记录）"}
    assert get_offer(uow(), no_account.id).state is S.NEEDS_CORRECTION
    assert [(o.id, why) for o, why in corrections(uow(), CLAUSE, actor=REVIEWER)] == [
        (no_account.id, "未登记对公收款账户（财政局企业收款账户库中没有记录）")]
    with pytest.raises(OfferError, match="已结束"):
        close_notice(uow(), notice.id, date(2024, 9, 8), actor=REVIEWER)
    assert latest_notice(uow(), CLAUSE).state == "closed"

    inbox = notifications_of(uow(), dismissed.uscc, actor=firm(dismissed.uscc))
    assert [n.kind for n in inbox] == ["offer_confirm"] and "2024-09-30 前" in inbox[0].body
    assert [n.kind for n in notifications_of(uow(), no_account.uscc, actor=REVIEWER)] == ["offer_correction"]
    with pytest.raises(NotAllowed):
        notifications_of(uow(), dismissed.uscc, actor=firm(no_account.uscc))
    with pytest.raises(NotAllowed):
        mark_read(uow(), inbox[0].id, actor=firm(no_account.uscc))
    assert mark_read(uow(), inbox[0].id, actor=firm(dismissed.uscc)).read_at is not None

    transition(uow(), no_account.id, OfferAction.CORRECT, actor=firm(no_account.uscc),
               detail={"supplied": "收款账户"})
    assert get_offer(uow(), no_account.id).state is S.AWAITING_CONFIRMATION   # corrected, not dropped
    assert len(offers_of_clause(uow(), CLAUSE, actor=REVIEWER, state=S.AWAITING_CONFIRMATION)) == len(made) - 1
