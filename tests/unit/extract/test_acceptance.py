"""A draft extracted from a real pack policy's text lints after acceptance.

Acceptance, as stated here and nothing more: the officer fills in what the draft marks `TODO`.
The header fields marked TODO (title, issuer, region, …) take the values of the pack file the text
came from; a clause amount marked TODO takes that pack clause's amount (and the pack's `parameters`
when it names some). Every condition, amount and
cap that the draft wrote itself is kept as drafted. The project's lint must then report no error
(warnings — no test cases yet, clauses without an exclusivity group — are expected of a draft).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from zhida.extract import TODO, extract, render_yaml
from zhida.extract.render import HEADER
from zhida.profiles.registry import load_registry
from zhida.rules.check.lint import lint_policies
from zhida.rules.lang.errors import PolicyError
from zhida.rules.model.policy import parse_policy

PACK = Path(__file__).parents[3] / "policies"


def accept(pack_file: str) -> tuple[dict[str, Any], list[str]]:
    """The draft of a pack policy's clause texts, with its TODOs filled; and what was filled."""
    yaml = YAML(typ="safe", pure=True)
    pack = yaml.load((PACK / pack_file).read_text(encoding="utf-8"))
    text = "\n".join(c["source"] for c in pack["clauses"])
    doc = yaml.load(render_yaml(extract(text), policy_id=pack["id"]))
    filled = []
    for key in HEADER:
        if doc.get(key) == TODO:
            doc[key] = pack[key]
            filled.append(key)
    for i, clause in enumerate(doc["clauses"]):
        assert clause["when"] != TODO, f"clause {i + 1}: no condition was drafted"
        if clause["amount"] == TODO:
            clause["amount"] = pack["clauses"][i]["amount"]
            filled.append(f"clauses.{i}.amount")
    if any(f.endswith(".amount") for f in filled) and pack.get("parameters"):
        doc["parameters"] = pack["parameters"]
        filled.append("parameters")
    return doc, filled


@pytest.mark.parametrize(("pack_file", "clauses"), [
    ("wenzhou-2023-8-specialized.yaml", 3),
    ("guangzhou-2021-4-hitech.yaml", 4),
    ("cn-mof-sat-2023-12-small-low-profit.yaml", 1),
])
def test_a_draft_from_a_pack_policys_text_lints_after_acceptance(pack_file, clauses):
    doc, filled = accept(pack_file)
    assert len(doc["clauses"]) == clauses
    assert {"title", "issuer", "region", "source_url", "department"} <= set(filled)
    policy = parse_policy(doc, source=f"draft of {pack_file}")
    errors = [p.render() for p in lint_policies([policy], load_registry().to_rules_schema())
              if p.severity == "error"]
    assert errors == []


def test_the_drafted_conditions_are_the_packs_own_for_the_wenzhou_awards():
    doc, _ = accept("wenzhou-2023-8-specialized.yaml")
    whens = [c["when"].split("#")[0].strip() for c in doc["clauses"]]
    assert whens == ['listed("专精特新小巨人")', 'listed("省隐形冠军")', 'listed("省专精特新")']
    assert [c["amount"] for c in doc["clauses"]] == ["100万", "50万", "10万"]


def test_an_unfilled_draft_does_not_pass_as_a_policy():
    yaml = YAML(typ="safe", pure=True)
    doc = yaml.load(render_yaml(extract("首次认定的高新技术企业给予20万元奖励")))
    with pytest.raises(PolicyError) as raised:
        parse_policy(doc)
    assert {"region", "source_url", "valid_from"} <= {p.field for p in raised.value.problems}
