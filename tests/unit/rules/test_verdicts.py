"""One list of statuses and one of modes (#14 point 0)."""

from __future__ import annotations

import pytest
from tests.unit.rules.support import clause, policy

from zhida.rules.lang.errors import PolicyError
from zhida.rules.lang.verdicts import EXPECTED, STORED, Mode, Status
from zhida.rules.model.document import MODE_LABELS
from zhida.rules.model.policy import parse_policy


def test_every_status_is_stored_or_expected_and_every_mode_has_a_chinese_label():
    assert set(STORED) | set(EXPECTED) == set(Status)
    assert set(MODE_LABELS) == set(Mode) and all(MODE_LABELS.values())


def test_a_parsed_clause_carries_the_enum_and_its_string_is_what_the_file_says():
    p = parse_policy(policy([clause("true", "1", mode="reviewed")]))
    mode = p.clauses[0].spec.mode
    assert mode is Mode.REVIEWED and mode == "reviewed" and f"{mode}" == "reviewed"


def test_a_case_expecting_a_near_miss_is_told_to_write_ineligible():
    case = [{"name": "差一点", "facts": {}, "expect": {"status": "near_miss"}}]
    with pytest.raises(PolicyError) as e:
        parse_policy(policy([clause("true", "1", tests=case)]))
    assert any("写 ineligible" in p.message for p in e.value.problems)
