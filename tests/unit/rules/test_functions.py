"""The function registry (rules/functions/): each function is one entry, and an entry is
complete — its example checks against the field registry and is the one docs/rules.md shows,
the random rules draw it (test_properties.py), and the engines reach every function only
through the registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zhida.catalog import load_schema
from zhida.rules.evaluate import compile as compiler
from zhida.rules.evaluate import interpret
from zhida.rules.explanation import explain
from zhida.rules.lang import ast, typecheck
from zhida.rules.lang.functions import FUNCTIONS, MACROS
from zhida.rules.lang.parse import parse
from zhida.rules.lang.typecheck import TypeChecker
from zhida.rules.lang.types import Env

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = load_schema(ROOT / "zones")
RULES = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
ENV = Env(SCHEMA, {"rate_sme": "number"})


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_example_of_each_function_checks_against_the_field_registry_and_uses_it(name):
    fn = FUNCTIONS[name]
    node = parse(fn.example)
    checker = TypeChecker(ENV)
    t = checker.infer(node)
    assert not checker.problems, f"{name}: {fn.example!r}: {checker.problems[0]}"
    assert t.base != "error"
    assert any(isinstance(n, ast.Call) and n.name == name for n in ast.walk(node)), fn.example


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_docs_show_each_function_with_its_registry_example(name):
    rows = [line for line in RULES.splitlines() if line.startswith(f"| `{name}(")]
    assert rows, f"docs/rules.md has no table row for {name}()"
    examples = {e for row in rows for e in re.findall(r"`([^`]+)`", row.rsplit("|", 2)[-2])}
    assert FUNCTIONS[name].example in examples, f"docs/rules.md shows {sorted(examples)} for {name}()"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_entry_has_a_usage_line_in_chinese_naming_the_function(name):
    fn = FUNCTIONS[name]
    assert fn.name == name and f"{name}(" in fn.usage and re.search(r"[\u4e00-\u9fff]", fn.usage)


def test_a_macro_is_not_also_an_entry():
    assert not set(MACROS) & set(FUNCTIONS)


def test_the_engines_name_no_function_outside_the_registry():
    """Adding a function touches its entry, not the checker, compiler, interpreter or
    explainer: none of them compares a call's name with a function's name."""
    names = "|".join(sorted(FUNCTIONS))
    pattern = re.compile(rf"""\.name\s*(==|!=|in)\s*[(\[{{]?\s*["']({names})["']""")
    for module in (typecheck, compiler, interpret, explain):
        text = Path(module.__file__ or "").read_text(encoding="utf-8")
        found = [m.group(0) for m in pattern.finditer(text)]
        assert not found, f"{module.__name__} branches on function names: {found}"
