from fractions import Fraction

import pytest

from zhida.rules.lang import ast
from zhida.rules.lang.errors import ExpressionError
from zhida.rules.lang.parse import parse, parse_number


@pytest.mark.parametrize(("text", "value"), [
    ("2000万", Fraction(20_000_000)), ("1.5亿", Fraction(150_000_000)), ("60%", Fraction(3, 5)),
    ("5.5%", Fraction(55, 1000)), ("3千元", Fraction(3000)), ("12.34", Fraction(1234, 100)),
    ("1万亿", Fraction(10**12)), ("3‰", Fraction(3, 1000)),
])
def test_chinese_units_are_exact(text, value):
    assert parse_number(text) == value
    node = parse(text)
    assert isinstance(node, ast.Num) and node.value == value


def test_relative_and_absolute_periods_parse():
    node = parse("revenue[last_year] + revenue[2022] + insured[2024-03] + insured[month(-2)]")
    refs = [n for n in ast.walk(node) if isinstance(n, ast.FieldRef)]
    assert [r.period for r in refs] == [
        ast.Period("year", True, offset=-1), ast.Period("year", False, year=2022),
        ast.Period("month", False, year=2024, month=3), ast.Period("month", True, offset=-2)]


def test_month_range_parses_relative_and_absolute_bounds():
    rel = parse("sum(insured[months(-12..-1)])")
    absolute = parse("sum(insured[months(2023-01..2023-12)])")
    r1 = next(n for n in ast.walk(rel) if isinstance(n, ast.FieldRef)).period
    r2 = next(n for n in ast.walk(absolute) if isinstance(n, ast.FieldRef)).period
    assert r1 == ast.PeriodRange("month", ast.Period("month", True, offset=-12), ast.Period("month", True, offset=-1))
    assert r2 == ast.PeriodRange("month", ast.Period("month", False, year=2023, month=1),
                                 ast.Period("month", False, year=2023, month=12))


def test_chinese_operators_and_labels():
    node = parse("参保人数 >= 10 且 非 高新技术企业 或 非公有制 ≤ 3")
    assert isinstance(node, ast.BoolOp) and node.op == "or"
    names = {n.name for n in ast.walk(node) if isinstance(n, ast.FieldRef)}
    assert names == {"参保人数", "高新技术企业", "非公有制"}


def test_and_binds_tighter_than_or():
    node = parse("a or b and c")
    assert isinstance(node, ast.BoolOp) and node.op == "or"
    assert isinstance(node.items[1], ast.BoolOp) and node.items[1].op == "and"


def test_comments_inside_expressions_are_ignored():
    node = parse("employees >= 10  # 原文：参保职工10人以上\nand high_tech")
    assert isinstance(node, ast.BoolOp) and len(node.items) == 2


def test_backquoted_names_allow_special_characters():
    node = parse("`纳税信用等级（A/B/M）` == \"A\"")
    assert isinstance(node, ast.Compare) and isinstance(node.left, ast.FieldRef)
    assert node.left.name == "纳税信用等级（A/B/M）"


@pytest.mark.parametrize(("text", "line", "column"), [
    ("a >= 3 )", 1, 8),
    ("a >= 3 and\n b $ 4", 2, 4),
])
def test_syntax_errors_name_line_and_column(text, line, column):
    with pytest.raises(ExpressionError) as e:
        parse(text)
    assert (e.value.line, e.value.column) == (line, column)
    assert e.value.fix


def test_incomplete_expression_is_reported_as_such():
    with pytest.raises(ExpressionError, match="不完整"):
        parse("a >=\n  3 +")


def test_eval_is_never_used_for_python_code():
    with pytest.raises(ExpressionError):
        parse("__import__('os').system('true')")


def test_invalid_date_is_rejected():
    with pytest.raises(ExpressionError, match="日期不存在"):
        parse("established < 2023-02-30")
