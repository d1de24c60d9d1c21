"""Meta-tests of the policy pack in policies/: lint-clean, and every policy ships cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhida.catalog import load_schema
from zhida.rules.check.cases import cases_of
from zhida.rules.check.lint import lint_policies
from zhida.rules.model.policy import load_policies

POLICIES = Path(__file__).parents[2] / "policies"
pack = load_policies([POLICIES])


def test_pack_is_not_empty():
    assert pack, "policies/ holds no policy"


@pytest.mark.parametrize("policy", pack, ids=lambda p: p.id)
def test_every_policy_has_at_least_six_cases(policy):
    assert len(cases_of(policy)) >= 6, f"{policy.source}: only {len(cases_of(policy))} cases"


@pytest.mark.parametrize("policy", pack, ids=lambda p: p.id)
def test_every_clause_is_covered_by_a_case(policy):
    covered = {k for case in cases_of(policy) for k in case.expect}
    assert {c.spec.id for c in policy.clauses} <= covered


def test_pack_is_lint_clean():
    problems = lint_policies(pack, load_schema())
    assert not problems, "\n".join(p.render() for p in problems)
