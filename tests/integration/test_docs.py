"""Docs are tested: every operator, function and period keyword of the grammar, and every
CLI command, appears in docs/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from zhida.cli import app
from zhida.rules.lang.functions import FUNCTIONS, MACROS

ROOT = Path(__file__).parents[2]
RULES = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
GRAMMAR = (ROOT / "src" / "zhida" / "rules" / "lang" / "grammar.lark").read_text(encoding="utf-8")


def grammar_strings() -> set[str]:
    """Every keyword and operator string literal in the grammar."""
    without_regexes = re.sub(r"/[^/\n]+/", "", GRAMMAR)
    found = set(re.findall(r'"([^"\s]+)"', without_regexes))
    return found - {"(", ")", "[", "]", ",", ".."}


@pytest.mark.parametrize("token", sorted(grammar_strings()))
def test_every_grammar_keyword_and_operator_is_documented(token):
    assert f"`{token}`" in RULES or f"`{token}(" in RULES or f" {token} " in RULES, (
        f"docs/rules.md does not document “{token}”")


@pytest.mark.parametrize("name", sorted({*FUNCTIONS, *MACROS}))
def test_every_function_is_documented_with_an_example(name):
    row = next((line for line in RULES.splitlines() if line.startswith(f"| `{name}(")), None)
    assert row is not None, f"docs/rules.md has no table row for {name}()"
    assert row.count("`") >= 4, f"the row for {name}() has no example"


def commands(group: typer.Typer, prefix: str = "zhida") -> list[str]:
    out = []
    for info in group.registered_commands:
        out.append(f"{prefix} {info.name}")
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        out.extend(commands(sub.typer_instance, f"{prefix} {sub.name}"))
    return out


@pytest.mark.parametrize("command", commands(app))
def test_every_cli_command_is_documented(command):
    docs = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
    assert command in docs, f"no doc mentions `{command}`"
