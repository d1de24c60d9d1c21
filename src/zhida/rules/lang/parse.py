"""Text → AST, with a real grammar (Lark, LALR). Never `eval`."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from zhida.rules.lang import ast
from zhida.rules.lang.errors import ExpressionError

UNITS: dict[str, Fraction] = {
    "万亿": Fraction(10**12),
    "亿": Fraction(10**8),
    "万": Fraction(10**4),
    "千": Fraction(1000),
    "百": Fraction(100),
    "%": Fraction(1, 100),
    "‰": Fraction(1, 1000),
    "": Fraction(1),
}
_NUMBER = re.compile(r"^([+-]?\d+(?:\.\d+)?)(万亿|亿|万|千|百|%|‰)?(元)?$")
ZH_OPERATORS = ("且", "或", "非")   # the Chinese and/or/not: they stand apart from names (spaces)
_OPS = {"≥": ">=", "≤": "<=", "≠": "!=", "×": "*", "÷": "/"}
_REL_NAMED = {
    "last_year": ("year", -1), "上年度": ("year", -1),
    "this_year": ("year", 0), "本年度": ("year", 0),
    "next_year": ("year", 1),
    "last_month": ("month", -1), "上月": ("month", -1),
    "this_month": ("month", 0), "本月": ("month", 0),
}


def parse_number(text: str) -> Fraction:
    """`2000万` → 20000000, `1.5亿` → 150000000, `60%` → 3/5. Exact."""
    m = _NUMBER.match(text.strip())
    if not m:
        raise ExpressionError(f"无法识别的数字：{text}", fix="写成 2000万、1.5亿、60% 或 12.5 这样的形式")
    return Fraction(m.group(1)) * UNITS[m.group(2) or ""]


_TEXT: ContextVar[str] = ContextVar("expression_text", default="")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files("zhida.rules.lang").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


@lru_cache(maxsize=1)
def _name_pattern() -> re.Pattern[str]:
    return re.compile(_parser().get_terminal("NAME").pattern.to_regexp())


@lru_cache(maxsize=1)
def reserved_words() -> frozenset[str]:
    """The grammar's own words that look like names (且 或 非 and or not in if true as_of
    上年度 本月 年 …): a field id or label equal to one would be read as the keyword."""
    name = _name_pattern()
    words: set[str] = set()
    for t in _parser().terminals:
        value = t.pattern.value
        alternatives = [value] if t.pattern.type == "str" else re.fullmatch(r"\(\?:([\w|]+)\)", value)
        if isinstance(alternatives, re.Match):
            alternatives = alternatives.group(1).split("|")
        words.update(w for w in alternatives or () if name.fullmatch(w))
    return frozenset(words)


def is_bare_name(text: str) -> bool:
    """Whether a name can be written as it is (letters, 汉字, digits, _), not in 「…」."""
    return _name_pattern().fullmatch(text) is not None


def _span(meta: Any) -> ast.Span:
    return ast.Span(getattr(meta, "line", 1), getattr(meta, "column", 1))


class _ToAst:
    """Parse tree → AST, one method per rule taking (meta, children). A plain recursive walk:
    Lark's Transformer with v_args(meta=True) wraps every method on every call, which
    was a quarter of the parsing time."""

    def transform(self, tree: Tree[Token]) -> Any:
        children = [self.transform(c) if isinstance(c, Tree) else c for c in tree.children]
        method: Callable[[Any, list[Any]], Any] = getattr(self, tree.data)
        return method(tree.meta, children)

    def _kw(self, meta: Any) -> dict[str, Any]:
        src = ""
        if not getattr(meta, "empty", True):
            src = _TEXT.get()[meta.start_pos : meta.end_pos]
        return {"span": _span(meta), "text": src}

    # literals
    def number(self, meta: Any, c: list[Token]) -> ast.Num:
        return ast.Num(parse_number(str(c[0])), **self._kw(meta))

    def neg_number(self, meta: Any, c: list[Token]) -> ast.Num:
        return ast.Num(-parse_number(str(c[0])), **self._kw(meta))

    def string(self, meta: Any, c: list[Token]) -> ast.Str:
        return ast.Str(str(c[0])[1:-1], **self._kw(meta))

    def date(self, meta: Any, c: list[Token]) -> ast.DateLit:
        try:
            value = date.fromisoformat(str(c[0]))
        except ValueError as e:
            raise ExpressionError(f"日期不存在：{c[0]}", line=meta.line, column=meta.column) from e
        return ast.DateLit(value, **self._kw(meta))

    def true(self, meta: Any, c: list[Token]) -> ast.Bool:
        return ast.Bool(True, **self._kw(meta))

    def false(self, meta: Any, c: list[Token]) -> ast.Bool:
        return ast.Bool(False, **self._kw(meta))

    def as_of(self, meta: Any, c: list[Token]) -> ast.AsOf:
        return ast.AsOf(**self._kw(meta))

    def list_lit(self, meta: Any, c: list[ast.Node]) -> ast.ListLit:
        return ast.ListLit(tuple(x for x in c if x is not None), **self._kw(meta))

    # references and calls
    def name(self, meta: Any, c: list[Token]) -> str:
        raw = str(c[0])
        return raw[1:-1] if c[0].type == "QUOTED_NAME" else raw

    def field_ref(self, meta: Any, c: list[Any]) -> ast.FieldRef:
        period = c[1] if len(c) > 1 else None
        return ast.FieldRef(c[0], period, **self._kw(meta))

    def call(self, meta: Any, c: list[Any]) -> ast.Node:
        args: list[ast.Node] = []
        kwargs: list[tuple[str, ast.Node]] = []
        for x in c[1:]:
            if isinstance(x, tuple):
                if x[0] in dict(kwargs):
                    raise ExpressionError(f"参数 {x[0]} 重复", line=meta.line, column=meta.column)
                kwargs.append(x)
            elif x is not None:
                if kwargs:
                    raise ExpressionError("具名参数（如 within = 3 years）应写在其他参数之后",
                                          line=meta.line, column=meta.column)
                args.append(x)
        if str(c[0]) == QUARTERLY_AVG:
            return _quarterly_avg(args, kwargs, **self._kw(meta))
        return ast.Call(str(c[0]), tuple(args), tuple(kwargs), **self._kw(meta))

    def kwarg(self, meta: Any, c: list[Any]) -> tuple[str, ast.Node]:
        return (str(c[0]), c[1])

    def kwarg_duration(self, meta: Any, c: list[Any]) -> tuple[str, ast.Node]:
        text = str(c[1])
        if not text.isdigit() or int(text) <= 0:
            raise ExpressionError(f"时长应为正整数：{text} {c[2]}", line=meta.line, column=meta.column,
                                  fix="例如 within = 3 years 或 within = 36 months")
        unit = "year" if str(c[2]) in ("years", "year", "年") else "month"
        span = ast.Span(c[1].line, c[1].column)
        return (str(c[0]), ast.Duration(int(text), unit, span=span, text=f"{text} {c[2]}"))

    # operators
    def neg(self, meta: Any, c: list[ast.Node]) -> ast.Node:
        if isinstance(c[0], ast.Num):
            return ast.Num(-c[0].value, **self._kw(meta))
        return ast.Neg(c[0], **self._kw(meta))

    def not_(self, meta: Any, c: list[Any]) -> ast.Not:
        return ast.Not(c[-1], **self._kw(meta))

    def arith(self, meta: Any, c: list[Any]) -> ast.Arith:
        op = str(c[1])
        return ast.Arith(_OPS.get(op, op), c[0], c[2], **self._kw(meta))

    def compare(self, meta: Any, c: list[Any]) -> ast.Compare:
        op = str(c[1])
        return ast.Compare(_OPS.get(op, op), c[0], c[2], **self._kw(meta))

    def in_(self, meta: Any, c: list[Any]) -> ast.In:
        return ast.In(c[0], c[-1], False, **self._kw(meta))

    def not_in(self, meta: Any, c: list[Any]) -> ast.In:
        return ast.In(c[0], c[-1], True, **self._kw(meta))

    def _boolop(self, op: str, meta: Any, c: list[Any]) -> ast.BoolOp:
        items: list[ast.Node] = []
        for x in c:
            if isinstance(x, ast.BoolOp) and x.op == op and not x.text.startswith("("):
                items.extend(x.items)
            elif isinstance(x, ast.Node):
                items.append(x)
        return ast.BoolOp(op, tuple(items), **self._kw(meta))

    def or_expr(self, meta: Any, c: list[Any]) -> ast.BoolOp:
        return self._boolop("or", meta, c)

    def and_expr(self, meta: Any, c: list[Any]) -> ast.BoolOp:
        return self._boolop("and", meta, c)

    def if_expr(self, meta: Any, c: list[Any]) -> ast.If:
        return ast.If(c[0], c[1], c[2], **self._kw(meta))

    # periods
    def abs_year(self, meta: Any, c: list[Token]) -> ast.Period:
        return ast.Period("year", False, year=int(c[0]))

    def abs_month(self, meta: Any, c: list[Token]) -> ast.Period:
        y, m = str(c[0]).split("-")
        if not 1 <= int(m) <= 12:
            raise ExpressionError(f"月份不存在：{c[0]}", line=meta.line, column=meta.column)
        return ast.Period("month", False, year=int(y), month=int(m))

    def rel_named(self, meta: Any, c: list[Token]) -> ast.Period:
        kind, offset = _REL_NAMED[str(c[0])]
        return ast.Period(kind, True, offset=offset)

    def rel_year(self, meta: Any, c: list[Token]) -> ast.Period:
        return ast.Period("year", True, offset=int(c[-1]))

    def rel_month(self, meta: Any, c: list[Token]) -> ast.Period:
        return ast.Period("month", True, offset=int(c[-1]))

    def rel_bound(self, meta: Any, c: list[Token]) -> ast.Period:
        return ast.Period("?", True, offset=int(c[0]))

    def month_bound(self, meta: Any, c: list[Token]) -> ast.Period:
        return self.abs_month(meta, c)

    def year_bound(self, meta: Any, c: list[Token]) -> ast.Period:
        return self.abs_year(meta, c)

    def span(self, meta: Any, c: list[ast.Period]) -> tuple[ast.Period, ast.Period]:
        return (c[0], c[1])

    def _range(self, kind: str, meta: Any, c: list[Any]) -> ast.PeriodRange:
        start, end = c[-1]
        fixed = []
        for b in (start, end):
            if b.kind == "?":
                b = ast.Period(kind, True, offset=b.offset)
            elif b.kind != kind:
                raise ExpressionError(
                    f"区间 {kind}(...) 的端点写法不对", line=meta.line, column=meta.column,
                    fix="months(...) 用 -12..-1 或 2023-01..2023-12；years(...) 用 -3..-1 或 2021..2023",
                )
            fixed.append(b)
        return ast.PeriodRange(kind, fixed[0], fixed[1])

    def months_range(self, meta: Any, c: list[Any]) -> ast.PeriodRange:
        return self._range("month", meta, c)

    def years_range(self, meta: Any, c: list[Any]) -> ast.PeriodRange:
        return self._range("year", meta, c)


QUARTERLY_AVG = "quarterly_avg"


def _quarterly_avg(args: list[ast.Node], kwargs: list[tuple[str, ast.Node]], *, span: ast.Span, text: str
                   ) -> ast.Node:
    """quarterly_avg(x[年度]): the year's 季度平均值 of a monthly stock (从业人数, 资产总额), as 财税
    〔2019〕13号 defines it — 季度平均值 = (季初值 + 季末值) ÷ 2, 全年季度平均值 = 各季度平均值之和 ÷ 4 —
    with a month's value as its month-end figure, so 季初值 is the previous quarter's last month:
    (x[上年12月] ÷ 2 + x[3月] + x[6月] + x[9月] + x[12月] ÷ 2) ÷ 4. Written out here in plain
    arithmetic, so both engines, the explanations and the relevance analysis read the five months
    as they read any other field."""
    arg = args[0] if len(args) == 1 and not kwargs else None
    if not isinstance(arg, ast.FieldRef) or not isinstance(arg.period, ast.Period) or arg.period.kind != "year":
        raise ExpressionError(
            "quarterly_avg 需要一个按月记录的字段并指明年度", line=span.line, column=span.column,
            fix="写作 quarterly_avg(从业人数[上年度]) 或 quarterly_avg(insured[2023])")
    year = arg.period

    def month(year_shift: int, m: int) -> ast.FieldRef:
        if year.relative:
            period = ast.Period("month", True, offset=year.offset + year_shift, month=m)
            where = {0: "本年", -1: "上年", -2: "前年", 1: "下年"}.get(year.offset + year_shift,
                                                                f"year({year.offset + year_shift})")
        else:
            period = ast.Period("month", False, year=year.year + year_shift, month=m)
            where = f"{year.year + year_shift}年"
        return ast.FieldRef(arg.name, period, span=span, text=f"{arg.name}[{where}{m}月]")

    def op(symbol: str, left: ast.Node, right: ast.Node) -> ast.Arith:
        return ast.Arith(symbol, left, right, span=span, text=f"{left.text} {symbol} {right.text}")

    two, four = (ast.Num(Fraction(n), span=span, text=str(n)) for n in (2, 4))
    total = op("/", month(-1, 12), two)
    for m in (3, 6, 9):
        total = op("+", total, month(0, m))
    total = op("+", total, op("/", month(0, 12), two))
    return ast.Arith("/", total, four, span=span, text=text)


def parse(text: str) -> ast.Node:
    """Parse one expression; raises ExpressionError with line/column and a hint."""
    if not text or not text.strip():
        raise ExpressionError("表达式为空", fix="写出条件或金额公式，例如 revenue[last_year] >= 2000万")
    token = _TEXT.set(text)
    try:
        result = _ToAst().transform(_parser().parse(text))
    except UnexpectedEOF as e:
        raise ExpressionError("表达式不完整", line=text.count("\n") + 1, column=1,
                              fix="检查括号是否成对、运算符两侧是否都有值") from e
    except UnexpectedCharacters as e:
        raise ExpressionError(
            f"无法识别的字符 “{text[e.pos_in_stream] if e.pos_in_stream is not None else ''}”",
            line=e.line, column=e.column,
            fix="检查拼写；名称含括号、顿号、空格等符号时写在「」中，如「扩岗补助合格人数（缴费满1个月）」",
        ) from e
    except UnexpectedInput as e:
        tok = getattr(e, "token", "")
        if getattr(tok, "type", "") == "$END":
            raise ExpressionError("表达式不完整", line=text.count("\n") + 1, column=1,
                                  fix="检查括号是否成对、运算符两侧是否都有值") from e
        raise ExpressionError(
            f"此处不应出现 “{tok}”", line=getattr(e, "line", 1), column=getattr(e, "column", 1),
            fix="检查运算符与括号；比较写作 a >= b，列表写作 [\"a\", \"b\"]",
        ) from e
    finally:
        _TEXT.reset(token)
    assert isinstance(result, ast.Node)
    return result
