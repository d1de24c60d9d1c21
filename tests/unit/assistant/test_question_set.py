"""The benchmark's question sets are well formed: enough questions, enough the pack cannot answer,
and every expected policy and clause exists."""

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from zhida.rules.model.policy import load_policies

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def pack():
    return {p.id: {c.spec.id for c in p.clauses} for p in load_policies([ROOT / "policies"])}


@pytest.mark.parametrize("name", ["qa-questions.yaml", "qa-holdout.yaml"])
def test_every_expected_policy_and_clause_is_in_the_pack(pack, name):
    qs = YAML(typ="safe").load((ROOT / "bench/data" / name).read_text(encoding="utf-8"))["questions"]
    for q in qs:
        assert q["q"] and "expect" in q
        if q["expect"] is not None:
            assert q["expect"] in pack, q
            assert q.get("clause") is None or q["clause"] in pack[q["expect"]], q


def test_the_main_set_has_sixty_questions_and_fifteen_out_of_scope():
    qs = YAML(typ="safe").load((ROOT / "bench/data/qa-questions.yaml").read_text(encoding="utf-8"))["questions"]
    assert len(qs) >= 60
    assert sum(q["expect"] is None for q in qs) >= 15
    assert sum("typo" in (q.get("tags") or []) for q in qs) >= 5
