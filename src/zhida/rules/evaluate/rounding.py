"""Rounding amounts to the clause's unit, exactly, for one expression or a whole batch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from zhida.rules.evaluate.compile import Compiler
from zhida.rules.evaluate.vectorised import Program
from zhida.rules.lang.errors import AmountOverflow
from zhida.rules.lang.scaled import INT64_SAFE, ROUNDING_MODES, Numeric, bump, const, rescale

ROUNDING_DIGITS = {"fen": 2, "yuan": 0, "hundred_yuan": -2, "thousand_yuan": -3, "wan": -4}
INT64_MAX = 2**63 - 1


def finish_amount(compiler: Compiler, raw: Numeric, cap: Numeric | None, unit: str, mode: str) -> pl.Expr:
    """Cap, then round to the clause's unit, as integer fen. Null stays null."""
    if cap is not None:
        if raw.const is not None and cap.const is not None:
            raw = const(min(raw.const, cap.const))
        else:
            raw = compiler.extreme("min", [raw, cap])
    digits = ROUNDING_DIGITS[unit]
    if digits < 0:  # to hundreds, thousands, 万 yuan: round value / 10^-digits to an integer
        raw = Numeric(raw.expr, raw.scale - digits,
                      raw.const / 10**-digits if raw.const is not None else None, raw.bound)
        digits_at = 0
    else:
        digits_at = digits
    rounded = rescale(raw, digits_at, mode).cast(pl.Int64)
    factor = 10 ** (2 - digits)
    return rounded if factor == 1 else rounded * pl.lit(factor, dtype=pl.Int64)


@dataclass(frozen=True)
class RawAmount:
    """An amount before rounding: expr / 10^shift is rounded by `mode` to an integer, which
    times `factor` is fen. A negative shift multiplies instead (exact). `bound` bounds
    |expr| (None: unknown); with the multiplier of a negative shift it decides whether the
    rounding can run in Int64. `columns`: the frame columns expr reads (for the batch
    engine, as fields of `pl.element()`: compile.Compiler's `element` mode). `program`: the
    same expression as a program for the amount kernel, where it can be one (vectorised.py)."""

    expr: pl.Expr
    shift: int
    mode: str
    factor: int
    bound: int | None = None
    columns: tuple[str, ...] = ()
    program: Program | None = None

    @property
    def wide(self) -> bool:
        """Whether rounding this amount may need Int128 (expr × 10^-shift may not fit Int64)."""
        return self.bound is None or self.bound * 10 ** max(0, -self.shift) >= INT64_SAFE


def round_long(long: pl.DataFrame, *, wide: bool = True, same: Mapping[str, int] | None = None) -> pl.DataFrame:
    """Round every pair's raw amount at once (columns raw, up, div, mode, factor) → amount_fen.

    The same integer rounding as scaled.round_div_const, vectorised over clauses whose
    scales and modes differ, in one query. `wide=False` says every raw × up provably fits
    Int64 (RawAmount.wide); otherwise the data decide between Int64 and Int128: the
    result is the same, Int64 is faster. `same`: those of up, div, mode and factor that
    every pair shares, given once instead of as columns.
    """
    same = same or {}

    def param(name: str) -> pl.Expr:
        if name not in same:
            return pl.col(name)
        return pl.lit(same[name], dtype=pl.Int64 if abs(same[name]) < 2**63 else pl.Int128)

    if long.is_empty():
        return long.with_columns(amount_fen=pl.lit(None, dtype=pl.Int64))
    dtype: pl.DataType = pl.Int64()
    if wide:
        extremes = long.select(pl.col("raw").abs().max().alias("raw"), param("up").max().alias("up")).row(0)
        widest = None if extremes[0] is None else int(extremes[0]) * int(extremes[1])
        dtype = pl.Int64() if widest is None or widest < INT64_SAFE else pl.Int128()
    # a divisor of 10^19 or more (a wan amount of a value with 15+ decimals) needs Int128 itself
    if int(same["div"] if "div" in same else long.get_column("div").max()) >= INT64_SAFE:  # type: ignore[arg-type]
        dtype = pl.Int128()
    n, d = pl.col("n"), param("div").cast(dtype)
    bumps = {m: bump(n, pl.col("q"), pl.col("r"), d, m) for m in ROUNDING_MODES}
    codes = [same["mode"]] if "mode" in same else long.get_column("mode").unique().to_list()
    modes = [ROUNDING_MODES[m] for m in codes]
    if len(modes) == 1:  # the usual batch: one rounding mode, no per-row choice
        chosen = bumps[modes[0]]
    else:
        chain = pl.when(pl.col("mode") == ROUNDING_MODES.index(modes[0])).then(bumps[modes[0]])
        for m in modes[1:]:
            chain = chain.when(pl.col("mode") == ROUNDING_MODES.index(m)).then(bumps[m])  # type: ignore[assignment]
        chosen = chain.otherwise(pl.lit(False))
    out = (long.lazy().with_columns(n=pl.col("raw").cast(dtype) * param("up").cast(dtype))
           .with_columns(q=pl.col("n").floordiv(d))
           .with_columns(r=pl.col("n") - pl.col("q") * d)
           .with_columns(amount_fen=(pl.col("q") + chosen.cast(dtype)) * param("factor").cast(dtype))
           .drop("n", "q", "r").collect())
    if dtype == pl.Int128():
        beyond = out.filter(pl.col("amount_fen").abs() > INT64_MAX)
        if not beyond.is_empty():
            raise AmountOverflow([(str(c), int(r)) for c, r in beyond.head(5).select("clause", "row").iter_rows()])
    return out.with_columns(pl.col("amount_fen").cast(pl.Int64))
