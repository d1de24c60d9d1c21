"""The phrase table is data: every target it names exists in the field registry."""

from __future__ import annotations

from zhida.extract.table import load_table
from zhida.profiles.registry import load_registry


def test_every_field_list_and_tag_of_the_phrase_table_is_registered():
    table, reg = load_table(), load_registry()
    assert table.fields() - set(reg.fields) == set()
    assert table.names("list") - set(reg.lists) == set()
    assert table.names("tag") - set(reg.tags) == set()


def test_no_phrase_points_two_ways():
    seen: dict[tuple[str, str], str] = {}
    for e in load_table().entries:
        group = "kind" if e.kind in ("list", "tag", "state") else e.kind
        assert seen.setdefault((group, e.phrase), e.target) == e.target, e.phrase
