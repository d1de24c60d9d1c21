"""Policy sandbox: a draft version against the population, compared with the published one."""

import polars as pl

from zhida.matching.evaluate import match_frame
from zhida.matching.run import population_frame
from zhida.matching.sandbox import simulate
from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.model.policy import parse_policy

from .conftest import AS_OF

POLICY = "cn-hrss-2024-40-job-retention"


def _draft(published, **changes):
    doc = published.spec.model_dump(mode="json")
    doc.update(changes)
    return doc


def _paid(policy, store, schema):
    compiled = compile_policies([policy], schema, AS_OF)
    results = match_frame(compiled, population_frame(store, compiled.requirements, AS_OF, schema))
    return dict(results.filter(pl.col("status") == "eligible").group_by("uscc")
                .agg(pl.col("amount_fen").sum()).iter_rows())


def test_a_stricter_draft_shows_who_loses_and_how_much(store, policies, schema):
    published = next(p for p in policies if p.id == POLICY)
    doc = _draft(published, budget="10万")
    for c in doc["clauses"]:
        c["when"] = f"({c['when']}\n) and employees[last_year] >= 10"
    draft = parse_policy(doc)
    sim = simulate(store, schema, AS_OF, draft, published)
    before, after = _paid(published, store, schema), _paid(draft, store, schema)
    assert sim.draft.cost_fen == sum(after.values()) and sim.published.cost_fen == sum(before.values())
    assert sim.draft.eligible_enterprises == len(after) <= len(before) == sim.published.eligible_enterprises
    assert set(sim.losers().get_column("uscc")) == set(before) - set(after) != set()
    assert sim.gainers().is_empty()
    assert sim.delta_fen == sim.draft.cost_fen - sim.published.cost_fen < 0
    assert sim.draft.budget_fen == 10_000_000 and sim.draft.over_budget == (sim.draft.cost_fen > 10_000_000)
    for dim in ("所属区县", "行业门类", "企业规模"):
        group = sim.draft.by_group.filter(pl.col("维度") == dim)
        assert group["企业数"].sum() == sim.draft.eligible_enterprises
        assert group["金额（分）"].sum() == sim.draft.cost_fen


def test_a_new_policy_without_a_published_version_only_gains(store, policies, schema):
    published = next(p for p in policies if p.id == POLICY)
    draft = parse_policy(_draft(published, id="draft-new-policy"))
    sim = simulate(store, schema, AS_OF, draft)
    assert sim.published is None and sim.losers().is_empty()
    assert sim.gainers().height == sim.draft.eligible_enterprises > 0
