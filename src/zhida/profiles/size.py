"""中小企业划型 (工信部联企业〔2011〕300号) as versioned data compiled to Polars expressions.

The table lives in `registry/size_standard.yaml`; the version in force on a date is used.
Employees are persons; revenue and assets are compared in fen (the table is in 万元).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import polars as pl

from zhida.profiles.errors import RegistryError
from zhida.profiles.registry import load_table

SIZES = ("大型", "中型", "小型", "微型")
FEN_PER_WAN = 1_000_000
INDICATORS = ("employees", "revenue", "assets")


@dataclass(frozen=True)
class SizeStandard:
    id: str
    effective: date
    rows: Mapping[str, Mapping[str, Any]]
    industries: Mapping[str, str]


@lru_cache(maxsize=1)
def _doc() -> dict[str, Any]:
    return load_table("size_standard")


def standard_on(day: date) -> SizeStandard:
    """The 划型 standard in force on `day`."""
    versions = sorted(_doc()["versions"], key=lambda v: v["effective"])
    in_force = [v for v in versions if v["effective"] <= day]
    if not in_force:
        raise RegistryError(f"{day} 没有生效的中小企业划型标准；请在 size_standard.yaml 中补充版本。")
    v = in_force[-1]
    return SizeStandard(v["id"], v["effective"], v["rows"], {str(k): r for k, r in v["industries"].items()})


def small_low_profit_thresholds(year: int) -> Mapping[str, Any]:
    """小型微利 thresholds (元, persons) applying to data of `year`."""
    rows = sorted(_doc()["small_low_profit"], key=lambda r: r["from_year"], reverse=True)
    for r in rows:
        if r["from_year"] <= year:
            return r
    return rows[-1]


def row_expr(code: pl.Expr, std: SizeStandard) -> pl.Expr:
    """The 划型 row of a 4-digit industry code: 4-digit entries first, then 2-digit, else 'other'."""
    four = {k: v for k, v in std.industries.items() if len(k) == 4}
    two = {k: v for k, v in std.industries.items() if len(k) == 2}
    by_four = code.replace_strict(four, default=None, return_dtype=pl.String)
    by_two = code.str.slice(0, 2).replace_strict(two, default="other", return_dtype=pl.String)
    return pl.when(code.is_null()).then(None).otherwise(pl.coalesce(by_four, by_two))


def _scaled(indicator: str, threshold: int) -> int:
    return threshold if indicator == "employees" else threshold * FEN_PER_WAN


def _all_at_least(bounds: Mapping[str, int], cols: Mapping[str, pl.Expr]) -> pl.Expr:
    terms = [cols[k] >= _scaled(k, v) for k, v in bounds.items()]
    return pl.all_horizontal(terms)  # Kleene: false wins over null, else null


def _sized(row: Mapping[str, Any], cols: Mapping[str, pl.Expr]) -> pl.Expr:
    sme = pl.any_horizontal([cols[k] < _scaled(k, v) for k, v in row["sme_ceiling"].items()])
    medium = _all_at_least(row["medium"], cols)
    small = _all_at_least(row["small"], cols)
    return (
        pl.when(sme.is_null()).then(None)
        .when(~sme).then(pl.lit("大型"))
        .when(medium.is_null()).then(None)
        .when(medium).then(pl.lit("中型"))
        .when(small.is_null()).then(None)
        .when(small).then(pl.lit("小型"))
        .otherwise(pl.lit("微型"))
    )


def size_expr(
    row: pl.Expr, employees: pl.Expr, revenue_fen: pl.Expr, assets_fen: pl.Expr, std: SizeStandard
) -> pl.Expr:
    """大型/中型/小型/微型, null when a needed indicator (or the row) is unknown."""
    cols = {"employees": employees, "revenue": revenue_fen, "assets": assets_fen}
    expr: Any = pl.when(row.is_null()).then(None)
    for name, spec in std.rows.items():
        expr = expr.when(row == name).then(_sized(spec, cols))
    return expr.otherwise(None).cast(pl.String)
