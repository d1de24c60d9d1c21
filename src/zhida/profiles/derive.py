"""Derived profile fields: defined once here, computed by the store for any `as_of`.

Each derivation maps (field, period, context) to a Polars expression over the population
frame. The context records what the expression reads (fields by period, list facts), and the
frame builder materialises exactly those columns first. Null propagates: an unknown input
makes the derived value unknown. Definitions are documented in fields.yaml and docs/profiles.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import polars as pl

from zhida.profiles import industry, size
from zhida.profiles.registry import FieldDef
from zhida.rules.lang.frame import field_column, list_column, list_since_column

Need = tuple[str, ...]


class DeriveContext:
    """What a derivation may read. Every read is recorded as a need."""

    def __init__(self, as_of: date, loaded_sources: frozenset[str]) -> None:
        self.as_of = as_of
        self.loaded_sources = loaded_sources
        self.needs: list[Need] = []

    def col(self, field_id: str, period: str | None = None) -> pl.Expr:
        self.needs.append(("field", field_id, period or ""))
        return pl.col(field_column(field_id, period))

    def member(self, name: str) -> pl.Expr:
        self.needs.append(("member", name))
        return pl.col(list_column(name))

    def since(self, name: str) -> pl.Expr:
        self.needs.append(("since", name))
        return pl.col(list_since_column(name))

    def pick(self, name: str, attr: str, which: str) -> pl.Expr:
        need = ("pick", name, attr, which)
        self.needs.append(need)
        return pl.col("__" + "|".join(need))

    def count(self, name: str, start: date, end: date) -> pl.Expr:
        need = ("count", name, start.isoformat(), end.isoformat())
        self.needs.append(need)
        return pl.col("__" + "|".join(need))


Derivation = Callable[[FieldDef, str | None, DeriveContext], pl.Expr]


def months_of(year: str) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(1, 13)]


def months_back(as_of: date, n: int) -> list[str]:
    """The n months before as_of's month, most recent first."""
    y, m, out = as_of.year, as_of.month, []
    for _ in range(n):
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        out.append(f"{y}-{m:02d}")
    return out


def _strict_sum(cols: list[pl.Expr]) -> pl.Expr:
    return pl.sum_horizontal(cols, ignore_nulls=False)


def _div_half_up(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """Integer num/den rounded half up (num, den >= 0); null when den is 0."""
    return pl.when(den > 0).then((num * 2 + den) // (den * 2))


def size_row(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    return size.row_expr(ctx.col("industry_code"), size.standard_on(ctx.as_of))


def enterprise_size(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    std = size.standard_on(ctx.as_of)
    row = size.row_expr(ctx.col("industry_code"), std)
    return size.size_expr(row, ctx.col("employees", period), ctx.col("revenue", period),
                          ctx.col("total_assets", period), std)


def years_established(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    est, d = ctx.col("established_on"), ctx.as_of
    years = pl.lit(d.year) - est.dt.year().cast(pl.Int64)
    before_anniversary = est.dt.month().cast(pl.Int64) * 100 + est.dt.day().cast(pl.Int64) > d.month * 100 + d.day
    full = years - before_anniversary.cast(pl.Int64)
    return pl.when(est <= d).then(full)


def ui_paid_year(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    return _strict_sum([ctx.col("ui_paid", m) for m in months_of(period or "")])


def avg_insured(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    total = _strict_sum([ctx.col("insured", m) for m in months_of(period or "")])
    return _div_half_up(total * 10 ** (f.scale or 4), pl.lit(12)).cast(pl.Int64)


def year_end_insured(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    return ctx.col("insured", f"{period}-12")


def ui_full_months(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    return _strict_sum([ctx.col("ui_paid_in_full", m).cast(pl.Int64) for m in months_of(period or "")])


def ui_full_months_to_date(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    """Leading run of months paid in full, counting back from the month before as_of.
    A month without a record ends the run; so does the start of the loaded history."""
    months = months_back(ctx.as_of, int(f.params.get("lookback_months", 36)))
    cols = [ctx.col("ui_paid_in_full", m).fill_null(False) for m in months]
    streak, run = pl.lit(0, pl.Int64), pl.lit(True)
    for c in cols:
        run = run & c
        streak = streak + run.cast(pl.Int64)
    covered = ctx.col("insured", months[0]).is_not_null()  # the source reports this employer
    return pl.when(covered).then(streak)


def layoff_rate(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    scale = 10 ** (f.scale or 4)
    if f.params.get("definition", "claimants_over_average_insured") == "year_end_decline":
        prev = ctx.col("insured", f"{int(period or 0) - 1}-12")
        now = ctx.col("insured", f"{period}-12")
        return _div_half_up((prev - now).clip(lower_bound=0) * scale, prev).cast(pl.Int64)
    claims = _strict_sum([ctx.col("new_ui_claimants", m) for m in months_of(period or "")])
    insured = _strict_sum([ctx.col("insured", m) for m in months_of(period or "")])
    return _div_half_up(claims * 12 * scale, insured).cast(pl.Int64)


def small_low_profit(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    t = size.small_low_profit_thresholds(int(period or ctx.as_of.year))
    return pl.all_horizontal(
        ctx.col("taxable_income", period) <= t["taxable_income_max"] * 100,
        ctx.col("employees", period) <= t["employees_max"],
        ctx.col("total_assets", period) <= t["assets_max"] * 100,
    )


def industry_section(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    return industry.section(ctx.col("industry_code"))


def service_industry(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    return industry.is_service(ctx.col("industry_code"))


def industrial(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    return industry.is_industrial(ctx.col("industry_code"))


def individual_business(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    return pl.col("uscc").str.slice(0, 2) == "92"


def four_above_first_year(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    return ctx.since("四上企业").dt.year().cast(pl.Int64)


def penalties_3y(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    start = ctx.as_of.replace(year=ctx.as_of.year - 3) + timedelta(days=1) if not (
        ctx.as_of.month == 2 and ctx.as_of.day == 29) else date(ctx.as_of.year - 3, 3, 1)
    return ctx.count("行政处罚", start, ctx.as_of)


def last_penalty_on(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    return ctx.pick("行政处罚", "listed_on", "latest")


def has_bank_account(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    account = ctx.col("bank_account")
    return account.is_not_null() if "bank" in ctx.loaded_sources else pl.lit(None, pl.Boolean)


def specialized_level(f: FieldDef, period: str | None, ctx: DeriveContext) -> pl.Expr:
    giant, provincial = ctx.member("专精特新小巨人"), ctx.member("省专精特新")
    return (pl.when(giant).then(pl.lit("小巨人"))
            .when(provincial).then(pl.lit("省专精特新"))
            .otherwise(pl.lit(None, pl.String)))


DERIVATIONS: dict[str, Derivation] = {
    fn.__name__: fn
    for fn in (size_row, enterprise_size, years_established, ui_paid_year, avg_insured,
               year_end_insured, ui_full_months, ui_full_months_to_date, layoff_rate,
               small_low_profit, industry_section, service_industry, industrial,
               individual_business, four_above_first_year, penalties_3y, last_penalty_on,
               has_bank_account, specialized_level)
}
