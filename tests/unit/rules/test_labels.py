"""Fields written by their Chinese labels (#14 point 4, docs/decisions/0021-chinese-field-labels.md):
a label is an exact alias of its field's id, so both spellings give one tree and one compiled form."""

from __future__ import annotations

import copy
import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from tests.unit.rules.support import SCHEMA, clause, policy, run

from zhida.catalog import load_schema
from zhida.rules.check.lint import lint_policies, lint_policy, vocabulary_problems
from zhida.rules.evaluate.compile import Compiler
from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.lang import ast
from zhida.rules.lang.parse import parse, reserved_words
from zhida.rules.lang.schema import Field, Schema
from zhida.rules.model.policy import Policy, load_policy_file, parse_policy

ROOT = Path(__file__).resolve().parents[3]
ID_SPELLED: dict[str, Any] = YAML(typ="safe", pure=True).load(
    (Path(__file__).parent / "fixtures" / "id-spelled-conditions.yaml").read_text(encoding="utf-8"))
REGISTRY = load_schema(ROOT / "zones")
CASE = [{"name": "x", "facts": {}, "expect": {"status": "unknown"}}]


def rewritten(policy_id: str) -> Policy:
    return load_policy_file(ROOT / "policies" / f"{policy_id}.yaml")


def id_spelled(policy_id: str) -> Policy:
    """The same policy with its conditions and amounts as they were written with ids."""
    doc = YAML(typ="safe", pure=True).load((ROOT / "policies" / f"{policy_id}.yaml").read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    for c in doc["clauses"]:
        c.update(ID_SPELLED[policy_id][c["id"]])
    return parse_policy(doc, f"{policy_id} (ids)")


def parts(p: Policy) -> dict[str, ast.Node]:
    out = {}
    for c in p.clauses:
        out[f"{c.spec.id}.when"], out[f"{c.spec.id}.amount"] = c.when, c.amount
        if c.cap is not None:
            out[f"{c.spec.id}.cap"] = c.cap
    return out


@pytest.mark.parametrize("policy_id", sorted(ID_SPELLED))
def test_a_pack_file_written_with_labels_parses_to_the_tree_of_its_id_spelling(policy_id):
    labelled, ids = parts(rewritten(policy_id)), parts(id_spelled(policy_id))
    assert labelled.keys() == ids.keys()
    for key, node in labelled.items():
        assert node != ids[key], f"{key} is not written with labels"
        assert REGISTRY.with_ids(node) == ids[key], key


@pytest.mark.parametrize("policy_id", sorted(ID_SPELLED))
def test_every_field_of_a_rewritten_pack_file_is_written_by_its_label(policy_id):
    names = {n.name for node in parts(rewritten(policy_id)).values() for n in ast.walk(node)
             if isinstance(n, ast.FieldRef)}
    assert names and all(REGISTRY.resolve(n) is not None and REGISTRY.resolve(n).label == n for n in names)


@pytest.mark.parametrize("policy_id", sorted(ID_SPELLED))
@pytest.mark.parametrize("as_of", [date(2022, 7, 1), date(2024, 6, 30)])
def test_both_spellings_compile_to_the_same_polars_expressions(policy_id, as_of):
    a, b = (compile_policies([p], REGISTRY, as_of) for p in (rewritten(policy_id), id_spelled(policy_id)))
    assert a.requirements.columns() == b.requirements.columns()
    for x, y in zip(a.clauses, b.clauses, strict=True):
        assert x.when.meta.eq(y.when), x.key
        assert [c for _, _, c in x.atoms] == [c for _, _, c in y.atoms]
        assert all(ex.meta.eq(ey) for (_, ex, _), (_, ey, _) in zip(x.atoms, y.atoms, strict=True))
        amount_x = Compiler(REGISTRY, x.policy.params, as_of).amount(x.clause.amount)
        amount_y = Compiler(REGISTRY, y.policy.params, as_of).amount(y.clause.amount)
        assert amount_x.expr.meta.eq(amount_y.expr), x.key
        assert dataclasses.replace(amount_x, expr=amount_y.expr) == amount_y   # same scale and constant


def test_a_label_takes_a_period_like_an_id():
    for labelled, ids in [("营业收入[2023] >= 2000万", "revenue[2023] >= 2000万"),
                          ("营业收入[上年度] > 0", "revenue[last_year] > 0"),
                          ("sum(参保人数[months(-12..-1)]) ≥ 120", "sum(insured[months(-12..-1)]) >= 120"),
                          ("「扩岗补助合格人数（缴费满1个月）」[上年度] > 0", "expansion_hires_1m[last_year] > 0")]:
        assert REGISTRY.with_ids(parse(labelled)) == parse(ids), labelled


def test_a_label_with_brackets_is_written_in_corner_brackets_or_backticks():
    for text in ("「扩岗补助合格人数（缴费满1个月）」[2023]", "`扩岗补助合格人数（缴费满1个月）`[2023]"):
        node = parse(text)
        assert isinstance(node, ast.FieldRef) and node.name == "扩岗补助合格人数（缴费满1个月）"
    assert parse("「营业收入」[2023]") == parse("营业收入[2023]")


def test_a_label_is_matched_exactly_never_guessed():
    assert REGISTRY.resolve("营业收入").id == "revenue"
    assert REGISTRY.resolve("营业收") is None
    assert REGISTRY.resolve("营业收入 ") is None


def test_an_unknown_label_is_reported_in_chinese_with_the_closest_labels_and_its_column():
    found = lint_policy(parse_policy(policy([clause("参保人数 >= 10 且\n 营业收人[上年度] > 0", tests=CASE)])), SCHEMA)
    unknown = [p for p in found if "未知字段" in p.message]
    assert len(unknown) == 1                                       # the type checker's plain report is folded in
    assert unknown[0].message == "未知字段 “营业收人”（表达式第 2 行第 2 列）"
    assert unknown[0].fix.startswith("是否指：营业收入？")
    assert unknown[0].field == "clauses.0.when"


def test_compiling_an_unknown_label_names_the_closest_labels_too():
    """`zhida policy test` and the engine compile through the type checker, not lint: the same hint."""
    from zhida.rules.lang.typecheck import TypeChecker
    from zhida.rules.lang.types import Env
    typer = TypeChecker(Env(SCHEMA, {}))
    typer.expect(parse("营业收人[上年度] > 0"), "bool")
    (problem,) = typer.problems
    assert problem.message == "未知字段 “营业收人”" and problem.fix.startswith("是否指：营业收入？")


def test_a_label_glued_to_a_chinese_operator_is_told_to_take_spaces():
    found = lint_policy(parse_policy(policy([clause("高新技术企业且参保人数 >= 10", tests=CASE)])), SCHEMA)
    (unknown,) = [p for p in found if "未知字段" in p.message]
    assert "两侧要留空格" in unknown.fix and unknown.fix.endswith("写作 高新技术企业 且 参保人数")
    found = lint_policy(parse_policy(policy([clause("参保人数 >= 10 且非高新技术企业", tests=CASE)])), SCHEMA)
    (unknown,) = [p for p in found if "未知字段" in p.message]
    assert unknown.fix.endswith("写作 非 高新技术企业")


def test_an_unknown_label_with_brackets_is_suggested_in_corner_brackets():
    found = lint_policy(parse_policy(policy([clause("「扩岗补助合格人数（缴费满2个月）」[上年度] > 0", tests=CASE)])),
                        REGISTRY)
    (unknown,) = [p for p in found if "未知字段" in p.message]
    assert "「扩岗补助合格人数（缴费满1个月）」" in unknown.fix


def test_lint_and_explanations_name_fields_by_label_whichever_spelling_is_written():
    facts = {"facts": {"employees": 8, "revenue": {"2023": "200万"}}}
    by_id = run(policy([clause("employees >= 10 and revenue[last_year] >= 100万")]), [facts])[1][0]["demo/c"]
    by_label = run(policy([clause("参保人数 >= 10 且 营业收入[上年度] >= 100万")]), [facts])[1][0]["demo/c"]
    assert by_id.reasons == by_label.reasons == ["参保人数 8，需 ≥ 10"]
    missing = run(policy([clause("营业收入[上年度] >= 100万")]), [{"facts": {}}])[1][0]["demo/c"]
    assert missing.missing == ["营业收入[2023]"]
    lint = [p.message for p in lint_policy(parse_policy(policy([clause("营业收入 > 0", tests=CASE)])), SCHEMA)]
    assert lint == ["字段 “营业收入” 按年记录，需指明期间"]


def test_contradictions_are_found_across_the_two_spellings():
    msgs = [p.message for p in lint_policy(parse_policy(policy([clause(
        "营业收入[上年度] > 500万 and revenue[last_year] < 300万", tests=CASE)])), SCHEMA)]
    assert any("不可能成立" in m for m in msgs)


def test_the_shipped_registry_names_every_field_once_and_writably():
    assert vocabulary_problems(REGISTRY) == []
    labels = [f.label for f in REGISTRY.fields.values()]
    assert len(labels) == len(set(labels))
    assert not set(labels) & set(REGISTRY.fields)


def _schema(*fields: Field) -> Schema:
    return Schema.build([Field("revenue", "营业收入", "money", "year"), *fields])


@pytest.mark.parametrize(("field", "says"), [
    (Field("income", "营业收入", "money", "year"), "同时指字段 revenue 与 income"),
    (Field("turnover", "revenue", "money", "year"), "同时指字段 revenue 与 turnover"),
    (Field("both", "且", "bool"), "关键字或函数名"),
    (Field("this_period", "本月", "count", "month"), "关键字或函数名"),
    (Field("total", "sum", "money"), "关键字或函数名"),
    (Field("year", "年份", "count"), "关键字或函数名"),
    (Field("odd", "名称」含括号", "count"), "无法写入表达式"),
])
def test_a_registry_name_that_would_be_ambiguous_is_reported(field, says):
    found = vocabulary_problems(_schema(field))
    assert len(found) == 1 and says in found[0].message
    assert found[0].file == "字段注册表" and found[0].fix


def test_the_registry_check_runs_with_the_policy_lint():
    doc = parse_policy(policy([clause("营业收入[上年度] > 0", tests=CASE)]))
    assert any("关键字或函数名" in p.message for p in lint_policies([doc], _schema(Field("both", "且", "bool"))))


def test_the_reserved_words_come_from_the_grammar():
    assert {"且", "或", "非", "and", "in", "if", "true", "as_of", "上年度", "本月", "year", "个月"} <= reserved_words()


def test_renaming_keeps_named_arguments_and_leaves_unknown_names_as_written():
    node = parse('received("a/b", since = 高新技术企业发证日期) 且 不存在的字段 > 0')
    renamed = REGISTRY.with_ids(node)
    assert renamed == parse('received("a/b", since = hitech_cert_on) and 不存在的字段 > 0')
    assert dataclasses.replace(renamed) == renamed
