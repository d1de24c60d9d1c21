"""Receiving bank accounts sealed at rest (SQLite and PostgreSQL): the database holds no
account number in plain text, the offer shows only its last four digits, and the bank's 代发 file
— the one place that needs the number — has it whole."""

from datetime import date

import sqlalchemy as sa
from openpyxl import load_workbook

from zhida.accounts import SYSTEM
from zhida.db import Database
from zhida.db import tables as t
from zhida.sealing import Sealer
from zhida.workflow.bankfiles import export_payment_file
from zhida.workflow.batches import approve_batch, prepare_batch
from zhida.workflow.offers import accept, create_offers, get_offer, transition
from zhida.workflow.payments import fund_budget
from zhida.workflow.states import OfferAction

from .conftest import CLAUSE, FINANCE, REVIEWER, firm

NUMBER = "6222021100009876"
FINANCE2 = FINANCE.__class__(id=14, username="finance2", display_name="财政复核", roles=FINANCE.roles)


def test_an_account_is_sealed_in_the_store_masked_on_the_offer_and_whole_in_the_bank_file(database, published_run,
                                                                                          setup, tmp_path):
    db = Database(database.engine, Sealer.from_key_file(tmp_path / "data.key", create=True))
    offer = create_offers(db.uow(), published_run, setup.data_dir, CLAUSE, department="hrss", actor=SYSTEM,
                          confirm_by=date(2030, 1, 1))[0]
    for action in (OfferAction.APPROVE, OfferAction.START_NOTICE, OfferAction.CLOSE_NOTICE):
        transition(db.uow(), offer.id, action, actor=REVIEWER)
    accept(db.uow(), offer.id, actor=firm(offer.uscc), account_name="某公司", account_bank="温州银行",
           account_no="6222 0211 0000 9876", pledge=True)
    with db.uow() as uow:
        stored = uow.conn.execute(sa.select(t.offers.c.account_no).where(t.offers.c.id == offer.id)).scalar_one()
    assert stored.startswith("zs1:") and NUMBER not in stored
    assert get_offer(db.uow(), offer.id).account_no == "****9876"
    fund_budget(db.uow(), CLAUSE.split("/")[0], 2024, offer.amount_fen, actor=FINANCE)
    batch = prepare_batch(db.uow(), CLAUSE, 2024, actor=FINANCE)
    approve_batch(db.uow(), batch.id, actor=FINANCE2)
    path = export_payment_file(db.uow(), batch.id, tmp_path / "bank.xlsx", actor=FINANCE)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[1][2] == NUMBER
    with db.engine.connect() as conn:                       # nowhere else in the store
        for table in (t.offers, t.offer_events, t.audit_log, t.notifications, t.ledger_entries):
            for row in conn.execute(sa.select(table)).all():
                assert NUMBER not in " ".join(str(v) for v in row), table.name
