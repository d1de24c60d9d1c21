"""Derived fields on in-memory frames: definitions, rounding and unknowns."""

from datetime import date

import polars as pl

from zhida.profiles.derive import DERIVATIONS, DeriveContext, months_back
from zhida.profiles.registry import load_registry

REG = load_registry()


def derive(field_id, period, frame, as_of=date(2025, 6, 30), loaded=frozenset({"bank"}), **params):
    f = REG.fields[field_id]
    if params:
        f = type(f)(**{**f.__dict__, "params": {**f.params, **params}})
    ctx = DeriveContext(as_of, loaded)
    expr = DERIVATIONS[f.derivation](f, period, ctx)
    return frame.with_columns(expr.alias("out"))["out"].to_list()


def months(field, year, values):
    return {f"{field}@{year}-{m:02d}": [v] for m, v in zip(range(1, 13), values, strict=True)}


def test_layoff_rate_default_is_claimants_over_average_insured():
    cols = months("insured", 2024, [100] * 12) | months("new_ui_claimants", 2024, [1] * 6 + [0] * 6)
    # 6 claimants / 100 average insured = 6% -> 600 at scale 4
    assert derive("layoff_rate", "2024", pl.DataFrame(cols)) == [600]


def test_layoff_rate_year_end_decline_definition_and_no_negative_rates():
    df = pl.DataFrame({"insured@2023-12": [200, 100], "insured@2024-12": [190, 120]})
    assert derive("layoff_rate", "2024", df, definition="year_end_decline") == [500, 0]


def test_layoff_rate_unknown_when_a_month_is_unknown_or_nobody_insured():
    ins = [100] * 11 + [None]
    df = pl.DataFrame(months("insured", 2024, ins) | months("new_ui_claimants", 2024, [0] * 12),
                      schema_overrides={f"insured@2024-{m:02d}": pl.Int64 for m in range(1, 13)})
    assert derive("layoff_rate", "2024", df) == [None]
    df0 = pl.DataFrame(months("insured", 2024, [0] * 12) | months("new_ui_claimants", 2024, [0] * 12))
    assert derive("layoff_rate", "2024", df0) == [None]


def test_average_insured_rounds_half_up_at_four_decimals():
    # (1*12 + 1) / 12 = 1.083333... -> 10833 ; sum 20 / 12 = 1.6666.. -> 16667
    assert derive("avg_insured", "2024", pl.DataFrame(months("insured", 2024, [2] + [1] * 11))) == [10833]
    assert derive("avg_insured", "2024", pl.DataFrame(months("insured", 2024, [9] + [1] * 11))) == [16667]


def test_years_established_counts_completed_anniversaries():
    df = pl.DataFrame({"established_on": [date(2022, 6, 30), date(2022, 7, 1), date(2025, 7, 1), None]})
    assert derive("years_established", None, df) == [3, 2, None, None]


def test_consecutive_full_months_stop_at_the_first_gap():
    m = months_back(date(2025, 6, 30), 36)
    assert m[0] == "2025-05" and m[-1] == "2022-06"
    full = {f"ui_paid_in_full@{p}": [True, True] for p in m}
    full[f"ui_paid_in_full@{m[13]}"] = [False, True]
    df = pl.DataFrame(full | {f"insured@{m[0]}": [3, None]})
    assert derive("ui_full_months_to_date", None, df) == [13, None]


def test_small_low_profit_thresholds_and_unknowns():
    df = pl.DataFrame({
        "taxable_income@2024": [300_000_000, 300_000_001, 1, None, None],
        "employees@2024": [300, 10, 301, 10, 400],
        "total_assets@2024": [5_000_000_000, 1, 1, 1, 1],
    })
    assert derive("small_low_profit", "2024", df) == [True, False, False, None, False]


def test_individual_business_flag_reads_the_code():
    df = pl.DataFrame({"uscc": ["92330302MA2AXXXX0X", "91330302MA2AXXXX0X"]})
    assert derive("is_individual_business", None, df) == [True, False]


def test_service_industry_follows_the_three_sector_rules():
    df = pl.DataFrame({"industry_code": ["0511", "0111", "1120", "4320", "3411", "6513", None]})
    assert derive("is_service_industry", None, df) == [True, False, True, True, False, True, None]


def test_bank_account_unknown_when_the_bank_source_was_never_loaded():
    df = pl.DataFrame({"bank_account": ["6222000011112222", None]})
    assert derive("has_bank_account", None, df) == [True, False]
    assert derive("has_bank_account", None, df, loaded=frozenset()) == [None, None]
