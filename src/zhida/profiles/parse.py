"""Vectorised parsing of raw feed text into the frame encoding (docs/decisions/0001).

Every parser returns two expressions over the raw (String) column: the typed value, and a
reason (String) that is null when the cell is fine. Empty cells are missing, not errors.
No float ever holds an amount: decimals are split into integer and fraction digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from zhida.profiles.mapping import UNIT_EXPONENTS, ColumnSpec
from zhida.profiles.registry import FieldDef

DECIMAL = r"^-?\d+(\.\d+)?$"
MAX_DIGITS = 17
ISO_FALLBACK = ("%Y-%m-%d",)


def clean(raw: pl.Expr) -> pl.Expr:
    """Trim, and turn empty strings into null."""
    s = raw.str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


def scaled_integer(raw: pl.Expr, exponent: int, label: str) -> tuple[pl.Expr, pl.Expr]:
    """Decimal text -> integer value × 10**exponent, rounded half-up beyond that; exact."""
    s = clean(raw).str.replace_all(r"[,，\s￥¥元]", "")
    ok = s.str.contains(DECIMAL)
    neg = s.str.starts_with("-")
    body = s.str.strip_chars_start("-")
    int_digits = body.str.extract(r"^(\d+)", 1).str.strip_chars_start("0")
    frac = body.str.extract(r"\.(\d+)$", 1).fill_null("")
    too_big = int_digits.str.len_chars() + max(exponent, 0) > MAX_DIGITS
    whole = pl.when(int_digits == "").then(pl.lit("0")).otherwise(int_digits)
    value = whole.cast(pl.Int64, strict=False) * (10 ** max(exponent, 0))
    if exponent > 0:
        value = value + frac.str.pad_end(exponent, "0").str.slice(0, exponent).cast(pl.Int64, strict=False)
    round_digit = frac.str.slice(max(exponent, 0), 1)
    value = value + pl.when(round_digit >= "5").then(1).otherwise(0)
    value = pl.when(neg).then(-value).otherwise(value)
    problem = (
        pl.when(s.is_null()).then(None)
        .when(~ok).then(pl.lit(f"不是有效的{label}数值"))
        .when(too_big).then(pl.lit(f"{label}数值过大"))
        .otherwise(None)
    )
    return pl.when(problem.is_null() & s.is_not_null()).then(value).otherwise(None), problem


def parse_date(raw: pl.Expr, formats: Sequence[str]) -> tuple[pl.Expr, pl.Expr]:
    """Text in any of `formats` (then ISO) -> Date; impossible dates (2月30日) are problems."""
    s = clean(raw)
    tries = [s.str.strptime(pl.Date, fmt, strict=False, exact=True) for fmt in formats]
    tries.append(s.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False, exact=True))
    value = pl.coalesce(tries)
    shown = "、".join(formats) or "YYYY-MM-DD"
    problem = pl.when(s.is_not_null() & value.is_null()).then(
        pl.lit(f"不是有效日期（应为 {shown} 格式的真实日期）")
    )
    return value, problem


def parse_bool(raw: pl.Expr, spec: ColumnSpec) -> tuple[pl.Expr, pl.Expr]:
    s = clean(raw)
    value = pl.when(s.is_in(list(spec.true))).then(True).when(s.is_in(list(spec.false))).then(False)
    problem = pl.when(s.is_not_null() & value.is_null()).then(
        pl.lit(f"不是有效的是/否值（是：{'/'.join(spec.true)}；否：{'/'.join(spec.false)}）")
    )
    return value, problem


def parse_code(raw: pl.Expr, spec: ColumnSpec, codes: Sequence[str] | None) -> tuple[pl.Expr, pl.Expr]:
    s = clean(raw)
    if spec.strip_prefix:
        s = s.str.replace(f"^{spec.strip_prefix}", "")
    if spec.values:
        s = s.replace(spec.values)
    if codes is None:
        return s, pl.lit(None, dtype=pl.String)
    problem = pl.when(s.is_not_null() & ~s.is_in(list(codes))).then(pl.lit("不在代码表中"))
    return s, problem


def parse_field(raw: pl.Expr, spec: ColumnSpec, f: FieldDef, codes: Sequence[str] | None,
                latest: date) -> tuple[pl.Expr, pl.Expr]:
    """Typed value and problem for registry field `f` read through `spec`."""
    if f.type in ("money", "count", "number", "percent"):
        base = {"money": 2, "count": 0}.get(f.type, f.scale if f.scale is not None else 4)
        value, problem = scaled_integer(raw, base + UNIT_EXPONENTS[spec.unit], f.label)
        if f.type == "count":
            value, problem = _whole(raw, value, problem, spec)
        problem = _range(value, problem, f, base)
    elif f.type == "date":
        value, problem = parse_date(raw, spec.formats)
        lo = f.min if isinstance(f.min, date) else date(1900, 1, 1)
        problem = pl.coalesce(problem, pl.when(value < lo).then(pl.lit(f"日期早于 {lo}")),
                              pl.when(value > latest).then(pl.lit(f"日期晚于数据截止日 {latest}")))
    elif f.type == "bool":
        value, problem = parse_bool(raw, spec)
    elif f.type == "code":
        value, problem = parse_code(raw, spec, codes)
        if f.id == "industry_code":
            from zhida.profiles.industry import is_known_code

            problem = pl.coalesce(problem, pl.when(value.is_not_null() & ~is_known_code(value)).then(
                pl.lit("不是有效的 GB/T 4754-2017 四位行业代码")))
    else:
        value, problem = clean(raw), pl.lit(None, dtype=pl.String)
    return value, problem


def _whole(raw: pl.Expr, value: pl.Expr, problem: pl.Expr, spec: ColumnSpec) -> tuple[pl.Expr, pl.Expr]:
    """Counts must be whole numbers (an XLSX '12.0' is fine, '12.5' is not)."""
    s = clean(raw)
    fractional = s.str.contains(r"\.\d*[1-9]") & (pl.lit(UNIT_EXPONENTS[spec.unit]) <= 0)
    return value, pl.coalesce(problem, pl.when(fractional).then(pl.lit("人数/件数应为整数")))


def _range(value: pl.Expr, problem: pl.Expr, f: FieldDef, scale: int) -> pl.Expr:
    checks = [problem]
    if f.min is not None:
        checks.append(pl.when(value < round(f.min * 10**scale)).then(pl.lit(f"小于允许的最小值 {f.min}")))
    if f.max is not None:
        checks.append(pl.when(value > round(f.max * 10**scale)).then(pl.lit(f"大于允许的最大值 {f.max}")))
    return pl.coalesce(checks)
