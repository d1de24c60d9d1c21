"""The generated benchmark pack: deterministic, and every clause is valid against the registry."""

from __future__ import annotations

from datetime import date

from zhida.catalog import load_schema
from zhida.policygen import write_pack
from zhida.rules.check.lint import lint_policies
from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.model.policy import load_policies


def test_generated_pack_is_deterministic_and_valid(tmp_path):
    first = write_pack(120, 7, tmp_path / "a")
    second = write_pack(120, 7, tmp_path / "b")
    assert [p.read_text(encoding="utf-8") for p in first] == [p.read_text(encoding="utf-8") for p in second]
    policies = load_policies([tmp_path / "a"])
    assert sum(len(p.clauses) for p in policies) == 120
    errors = [p for p in lint_policies(policies, load_schema()) if p.severity == "error"]
    assert errors == []
    compiled = compile_policies(policies, load_schema(), date(2024, 6, 30))
    assert len(compiled.clauses) == 120
    modes = {c.clause.spec.mode for c in compiled.clauses}
    assert {"exempt", "reviewed"} <= modes


def test_another_seed_gives_another_pack(tmp_path):
    a = write_pack(20, 1, tmp_path / "a")[0].read_text(encoding="utf-8")
    b = write_pack(20, 2, tmp_path / "b")[0].read_text(encoding="utf-8")
    assert a.split("clauses:")[1] != b.split("clauses:")[1]
