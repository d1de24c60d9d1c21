"""Exact numbers as integer columns with a static decimal scale (decision 0002).

value = column / 10**scale. Multiplication adds scales, addition aligns them, division rounds
half-even to DIV_SCALE places; widths are Int64 where a magnitude bound proves it safe, else
Int128. Rounding helpers give every mode exactly, on integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import lru_cache
from typing import Any

import polars as pl

from zhida.rules.lang.errors import ExpressionError

DIV_SCALE = 12  # division rounds half-even to this many decimal places (decision 0002)
MAX_SCALE = 30
WIDE = pl.Int128
ROUNDING_MODES = ("half_up", "half_even", "down", "up", "floor", "ceil")


Scalar = int | bool | str | date | None


def lit(value: Scalar, dtype: pl.DataType | type[pl.DataType] | None = None) -> pl.Expr:
    """`pl.lit`, built once per value and type. A pack repeats the same few constants tens
    of thousands of times; an expression is immutable, so one object serves every use."""
    return _lit(value, dtype)


@lru_cache(maxsize=16384, typed=True)  # typed: 1 and True, 0 and False stay apart
def _lit(value: Scalar, dtype: pl.DataType | type[pl.DataType] | None) -> pl.Expr:
    return pl.lit(value, dtype=dtype)


@lru_cache(maxsize=4096)
def members(values: tuple[int, ...] | tuple[str, ...], dtype: type[pl.DataType]) -> pl.Expr:
    """The right-hand side of `is_in` for a constant list (code lists repeat across clauses)."""
    return pl.lit(pl.Series(values, dtype=dtype).implode())


INT64_SAFE = 2**62  # values below this cannot overflow Int64 in one more +, - or ×2


def int_type(bound: int | None) -> pl.DataType:
    """Int64 when the magnitude is known to fit, else Int128 (exact either way)."""
    return pl.Int64() if bound is not None and bound < INT64_SAFE else pl.Int128()


@dataclass(frozen=True)
class Numeric:
    """value = expr / 10**scale, or the exact constant `const`.

    `bound` is an upper bound of |expr| (None: unknown), which decides whether Int64
    suffices or Int128 is needed; it never changes a result, only the integer width.
    """

    expr: pl.Expr | None
    scale: int
    const: Fraction | None = None
    bound: int | None = None

    def at(self, scale: int) -> pl.Expr:
        """The value as an integer expression at a scale ≥ its own (exact)."""
        if self.const is not None:
            scaled = self.const * 10**scale
            if scaled.denominator != 1:
                raise ValueError("constant not representable at this scale")
            return lit(int(scaled), dtype=int_type(abs(int(scaled))))
        assert self.expr is not None
        if scale == self.scale:
            return self.expr
        factor = 10 ** (scale - self.scale)
        dtype = int_type(None if self.bound is None else self.bound * factor)
        return self.expr.cast(dtype) * lit(factor, dtype=dtype)

    def bound_at(self, scale: int) -> int | None:
        if self.const is not None:
            return abs(int(self.const * 10**scale))
        return None if self.bound is None else self.bound * 10 ** max(0, scale - self.scale)


def const_scale(value: Fraction) -> int:
    """Decimal places a constant needs; numbers in policies are finite decimals
    (denominator 2^a·5^b needs max(a, b) places)."""
    d, twos, fives = value.denominator, 0, 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1 or max(twos, fives) > MAX_SCALE:
        raise ExpressionError(f"数值 {value} 不是有限小数")
    return max(twos, fives)


def const(value: Fraction) -> Numeric:
    scale = const_scale(value)
    return Numeric(None, scale, value, abs(int(value * 10**scale)))


def null_value() -> pl.Expr:
    return lit(None)


def add_bounds(*bounds: int | None) -> int | None:
    return None if any(b is None for b in bounds) else sum(b for b in bounds if b is not None)


def round_div(n: pl.Expr, d: pl.Expr, mode: str) -> pl.Expr:
    """Integer n / d rounded by `mode`; null when d == 0. Exact integer arithmetic."""
    sign = pl.when(d < 0).then(lit(-1, dtype=WIDE)).otherwise(lit(1, dtype=WIDE))
    n, d = n.cast(WIDE) * sign, d.cast(WIDE) * sign
    q = n.floordiv(d)
    r = n - q * d  # 0 <= r < d
    out = q + bump(n, q, r, d, mode).cast(WIDE)
    return pl.when(d == 0).then(null_value()).otherwise(out)


def bump(n: Any, q: Any, r: Any, d: Any, mode: str) -> Any:
    """Whether floor(n / d) must go up by one under `mode` (d > 0, q = floor(n / d), r = n mod d).

    The operands are Polars expressions or NumPy arrays alike (the batch engine rounds in
    both: rounding.round_long, vectorised.round_fen); under `floor` the answer is a Polars
    literal false, so NumPy callers return floor(n / d) before asking."""
    twice = r * 2
    if mode == "half_up":  # half away from zero
        return (twice > d) | ((twice == d) & (n >= 0))
    if mode == "half_even":
        return (twice > d) | ((twice == d) & (q % 2 != 0))
    if mode == "floor":
        return lit(False)
    if mode == "ceil":
        return r != 0
    if mode == "down":  # toward zero
        return (r != 0) & (n < 0)
    if mode == "up":  # away from zero
        return (r != 0) & (n >= 0)
    raise ValueError(mode)


def round_div_const(n: pl.Expr, d: int, mode: str, bound: int | None) -> pl.Expr:
    """n / d for a positive constant d, rounded by `mode` (the common case: rescaling)."""
    dtype = int_type(bound)
    n = n.cast(dtype)
    q = n.floordiv(lit(d, dtype=dtype))
    if mode == "floor":
        return q
    r = n - q * lit(d, dtype=dtype)
    out: pl.Expr = q + bump(n, q, r, d, mode).cast(dtype)
    return out


def rescale(x: Numeric, scale: int, mode: str) -> pl.Expr:
    """The value at `scale` decimal places, rounding by `mode` when scale shrinks."""
    if x.const is not None:
        from zhida.rules.lang.numbers import round_fraction

        value = int(round_fraction(x.const, scale, mode) * 10**scale)
        return lit(value, dtype=int_type(abs(value)))
    if scale >= x.scale:
        return x.at(scale)
    assert x.expr is not None
    return round_div_const(x.expr, 10 ** (x.scale - scale), mode, x.bound)


def rounded_bound(x: Numeric, digits: int) -> int | None:
    if x.bound is None:
        return None
    if digits <= x.scale:
        return int(x.bound // 10 ** (x.scale - digits) + 1)
    return int(x.bound * 10 ** (digits - x.scale))


def any_null(items: list[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([e.is_null() for e in items])


def strict_extreme(name: str, exprs: list[pl.Expr]) -> pl.Expr:
    """min/max that is unknown when any input is unknown (Polars skips nulls)."""
    agg = pl.min_horizontal(exprs) if name == "min" else pl.max_horizontal(exprs)
    return pl.when(any_null(exprs)).then(null_value()).otherwise(agg)
