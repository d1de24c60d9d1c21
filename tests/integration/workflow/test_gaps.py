"""The 待补正 list for missing facts: a firm the run could not decide is listed with the facts
that would decide it and who holds them, told once, and given no offer until the data decides."""

import polars as pl
import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM
from zhida.accounts.errors import NotAllowed
from zhida.db import tables as t
from zhida.matching.run import run_results
from zhida.profiles.registry import load_registry
from zhida.workflow.gaps import KIND, missing_data
from zhida.workflow.offers import create_offers

from ..matching.conftest import ZONES
from .conftest import CLAUSE, REVIEWER, firm


def test_undecided_firms_are_listed_with_what_decides_them_told_once_and_given_no_offer(database, published_run,
                                                                                        setup):
    results = run_results(published_run, setup.data_dir).filter(pl.col("clause") == CLAUSE)
    undecided = sorted(results.filter(pl.col("status") == "unknown")["uscc"].to_list())
    assert undecided, "the demo city has firms the clause cannot decide"

    def listed(**kw):
        return missing_data(database.uow(), published_run, setup.data_dir, setup.schema, load_registry(), CLAUSE,
                            actor=REVIEWER, zones_dir=ZONES, **kw)

    gaps = listed(notify_firms=True)
    assert [g.uscc for g in gaps] == undecided
    assert all(g.missing for g in gaps)
    assert all(s.label and s.by for g in gaps for s in g.missing)      # each fact named, with who can supply it
    listed(notify_firms=True)                                          # again: nobody is told twice
    with database.uow() as uow:
        told = uow.conn.execute(sa.select(t.notifications.c.uscc, t.notifications.c.body)
                                .where(t.notifications.c.kind == KIND)).all()
    assert sorted(u for u, _ in told) == undecided
    assert all(gaps[0].missing[0].label in body for u, body in told if u == gaps[0].uscc)

    made = create_offers(database.uow(), published_run, setup.data_dir, CLAUSE, department="hrss", actor=SYSTEM)
    assert not {o.uscc for o in made} & set(undecided)
    with pytest.raises(NotAllowed):
        missing_data(database.uow(), published_run, setup.data_dir, setup.schema, load_registry(), CLAUSE,
                     actor=firm(undecided[0]))
