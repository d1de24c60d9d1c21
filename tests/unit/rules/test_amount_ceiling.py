"""“不超过 X” amounts (amount_is: ceiling, #14 point 2): only a reviewed clause may have one, and a
document that does not use the field keeps its version hash."""

from __future__ import annotations

import pytest
from tests.unit.rules.support import clause, policy

from zhida.rules.lang.errors import PolicyError
from zhida.rules.model.policy import content_hash, parse_policy


@pytest.mark.parametrize("mode", ["exempt", "instant", "report_only"])
def test_a_ceiling_needs_a_reviewing_department(mode):
    with pytest.raises(PolicyError) as e:
        parse_policy(policy([clause("true", "20万", mode=mode, amount_is="ceiling")]))
    (problem,) = e.value.problems
    assert "不超过" in problem.message and problem.field == "clauses.0.amount_is" and "mode: reviewed" in problem.fix


def test_a_reviewed_ceiling_is_accepted_and_is_a_new_version():
    ceiling = parse_policy(policy([clause("true", "20万", mode="reviewed", amount_is="ceiling")]))
    exact = parse_policy(policy([clause("true", "20万", mode="reviewed")]))
    assert ceiling.clauses[0].spec.amount_is == "ceiling" and exact.clauses[0].spec.amount_is == "exact"
    assert content_hash(ceiling.spec) != content_hash(exact.spec)
    # written out as the default, the field changes nothing
    assert content_hash(exact.spec) == content_hash(
        parse_policy(policy([clause("true", "20万", mode="reviewed", amount_is="exact")])).spec)
