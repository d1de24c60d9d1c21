"""Vectorised parsing of raw feed text into the frame encoding (docs/decisions/0001).

Parsing runs in stages so nothing is parsed twice: `value` expressions read the raw (String)
column; `problem` expressions read the raw column and the already computed value column `v`,
and give a reason (String) that is null when the cell is fine; numbers are then turned from
Decimal into scaled integers (`as_integer`). Empty cells are missing, not errors. Amounts go
through Decimal, never through a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from zhida.profiles.mapping import UNIT_EXPONENTS, ColumnSpec
from zhida.profiles.registry import FieldDef

Parsed = tuple[pl.Expr, pl.Expr]  # value expression, problem expression (reads `v`)


def clean(raw: pl.Expr) -> pl.Expr:
    """Trim, and turn empty strings into null."""
    s = raw.str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


def _number_text(raw: pl.Expr) -> pl.Expr:
    text = raw.str.strip_chars("￥¥元 \t")
    return text.str.replace_all(",", "", literal=True).str.replace_all("，", "", literal=True)


def _nonblank(raw: pl.Expr) -> pl.Expr:
    return raw.str.strip_chars().str.len_bytes() > 0


def scaled_integer(raw: pl.Expr, v: pl.Expr, exponent: int, label: str) -> Parsed:
    """Decimal text -> Decimal value (stage 1); problems read it (stage 2); `as_integer` turns it
    into the integer value × 10**exponent (stage 3). Exact: Decimal, never float.

    Digits beyond the target precision are rounded half to even. Thousands separators and
    a currency sign or 元 are accepted; anything else that is not a number is a problem.
    """
    if exponent < 0:
        raise ValueError("unit finer than the stored precision")
    value = _number_text(raw).cast(pl.Decimal(38, exponent), strict=False)
    problem = (
        pl.when(_nonblank(raw) & v.is_null()).then(pl.lit(f"不是有效的{label}数值"))
        .when(v.is_not_null() & as_integer(v, exponent).is_null()).then(pl.lit(f"{label}数值过大"))
    )
    return value, problem


def as_integer(v: pl.Expr, exponent: int) -> pl.Expr:
    return (v * (10**exponent)).cast(pl.Int64, strict=False)


def parse_date(raw: pl.Expr, v: pl.Expr, formats: Sequence[str]) -> Parsed:
    """Text in any of `formats` (then ISO) -> Date; impossible dates (2月30日) are problems."""
    s = clean(raw)
    tries = [s.str.strptime(pl.Date, fmt, strict=False, exact=True) for fmt in formats]
    tries.append(s.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False, exact=True))
    shown = "、".join(formats) or "YYYY-MM-DD"
    problem = pl.when(raw.str.strip_chars().str.len_bytes().fill_null(0).gt(0) & v.is_null()).then(
        pl.lit(f"不是有效日期（应为 {shown} 格式的真实日期）")
    )
    return pl.coalesce(tries), problem


def parse_bool(raw: pl.Expr, v: pl.Expr, spec: ColumnSpec) -> Parsed:
    s = clean(raw)
    value = pl.when(s.is_in(list(spec.true))).then(True).when(s.is_in(list(spec.false))).then(False)
    problem = pl.when(s.is_not_null() & v.is_null()).then(
        pl.lit(f"不是有效的是/否值（是：{'/'.join(spec.true)}；否：{'/'.join(spec.false)}）")
    )
    return value, problem


def parse_code(raw: pl.Expr, v: pl.Expr, spec: ColumnSpec, codes: Sequence[str] | None, label: str = "") -> Parsed:
    s = clean(raw)
    if spec.strip_prefix:
        s = s.str.replace(f"^{spec.strip_prefix}", "")
    if spec.values:
        s = s.replace(spec.values)
    if codes is None:
        return s, pl.lit(None, dtype=pl.String)
    allowed = f"（可选：{'、'.join(codes)}）" if len(codes) <= 8 else "（见字段注册表的代码表）"
    return s, pl.when(v.is_not_null() & ~v.is_in(list(codes))).then(pl.lit(f"不在{label}代码表中{allowed}"))


def numeric_exponent(f: FieldDef, spec: ColumnSpec) -> int:
    """Decimal places between the source's unit and the stored integer (万元 -> fen: 6)."""
    base = {"money": 2, "count": 0}.get(f.type, f.scale if f.scale is not None else 4)
    return base + UNIT_EXPONENTS[spec.unit]


def parse_field(raw: pl.Expr, v: pl.Expr, spec: ColumnSpec, f: FieldDef, codes: Sequence[str] | None,
                latest: date) -> Parsed:
    """Typed value and problem for registry field `f` read through `spec`."""
    if f.type in ("money", "count", "number", "percent"):
        exponent = numeric_exponent(f, spec)
        value, problem = scaled_integer(raw, v, exponent, f.label)
        iv = as_integer(v, exponent)
        checks = [problem]
        if f.type == "count":
            fractional = raw.str.contains(r"\.\d*[1-9]")
            checks.append(pl.when(fractional).then(pl.lit("人数/件数应为整数")))
        base = exponent - UNIT_EXPONENTS[spec.unit]
        if f.min is not None:
            checks.append(pl.when(iv < round(f.min * 10**base)).then(pl.lit(f"小于允许的最小值 {f.min}")))
        if f.max is not None:
            checks.append(pl.when(iv > round(f.max * 10**base)).then(pl.lit(f"大于允许的最大值 {f.max}")))
        return value, pl.coalesce(checks)
    if f.type == "date":
        value, problem = parse_date(raw, v, spec.formats)
        lo = f.min if isinstance(f.min, date) else date(1900, 1, 1)
        return value, pl.coalesce(problem, pl.when(v < lo).then(pl.lit(f"日期早于 {lo}")),
                                  pl.when(v > latest).then(pl.lit(f"日期晚于数据截止日 {latest}")))
    if f.type == "bool":
        return parse_bool(raw, v, spec)
    if f.type == "code":
        value, problem = parse_code(raw, v, spec, codes, f.label)
        if f.id == "industry_code":
            from zhida.profiles.industry import is_known_code

            problem = pl.coalesce(problem, pl.when(v.is_not_null() & ~is_known_code(v)).then(
                pl.lit("不是有效的 GB/T 4754-2017 四位行业代码")))
        return value, problem
    return clean(raw), pl.lit(None, dtype=pl.String)
