"""A published run over a small demo city, and the people who act on its offers."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM, Role, User
from zhida.db import tables as t
from zhida.matching.results import pack_cache_dir
from zhida.matching.run import run_match
from zhida.packs.cache import load_or_compile
from zhida.published import publish, published_pack

from ..matching.conftest import AS_OF, city_store, data_dir, policies, schema, setup, store  # noqa: F401

CLAUSE = "cn-hrss-2024-40-job-retention/refund-sme"
REVIEWER = User(id=11, username="reviewer", display_name="人社审核", roles=frozenset({Role.REVIEWER}),
                department="hrss")
OTHER_REVIEWER = User(id=12, username="sti-reviewer", display_name="科技审核", roles=frozenset({Role.REVIEWER}),
                      department="sti")
FINANCE = User(id=13, username="finance", display_name="财政", roles=frozenset({Role.FINANCE}))


def offers_like(db, template_id: int, prefix: str, amounts: list[int]) -> tuple[list[int], list[dict]]:
    """One offer per amount like offer `template_id` (its clause, policy version, run, period and
    department) for made-up firms `prefix` + 000000, 000001, …, awaiting confirmation; committed.
    Their ids and rows, in order."""
    at = datetime(2024, 9, 1, tzinfo=UTC)
    with db.uow() as uow:
        base = uow.conn.execute(sa.select(t.offers).where(t.offers.c.id == template_id)).mappings().one()
        rows = [{**{k: base[k] for k in ("clause", "policy_id", "version_id", "run_id", "period", "department")},
                 "uscc": f"{prefix}{n:06d}", "amount_fen": amount, "state": "awaiting_confirmation",
                 "created_at": at, "updated_at": at} for n, amount in enumerate(amounts)]
        ids = list(uow.conn.execute(sa.insert(t.offers).returning(t.offers.c.id), rows).scalars())
        uow.commit()
    return ids, rows


def firm(uscc: str) -> User:
    return User(id=100, username=f"firm-{uscc[-4:]}", display_name="企业", roles=frozenset({Role.ENTERPRISE}),
                uscc=uscc)


@pytest.fixture
def published_run(database, setup, store, policies):  # noqa: F811
    publish(database.uow(), policies, actor=SYSTEM)
    documents, mapping = published_pack(database.uow())
    pack = load_or_compile(documents, setup.schema, AS_OF, pack_cache_dir(setup.data_dir))
    return run_match(database.uow(), setup, store, pack, AS_OF, published=mapping)
