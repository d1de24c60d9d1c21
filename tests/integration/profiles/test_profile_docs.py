"""docs/profiles.md documents every field, list, tag and source of the registry."""

from pathlib import Path

import pytest

from zhida.profiles.registry import load_registry

DOC = (Path(__file__).parents[3] / "docs" / "profiles.md").read_text(encoding="utf-8")
REG = load_registry()


@pytest.mark.parametrize("field_id", sorted(REG.fields))
def test_every_field_is_documented(field_id):
    assert f"`{field_id}`" in DOC, f"docs/profiles.md does not document the field {field_id}"


@pytest.mark.parametrize("name", sorted([*REG.lists, *REG.tags]))
def test_every_list_and_tag_is_documented(name):
    assert f"`{name}`" in DOC


def test_every_source_is_documented():
    assert all(src.label in DOC for src in REG.sources.values())
