from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhida.profiles.parse import as_integer, parse_date, scaled_integer


def money(texts, exponent=2):
    df = pl.DataFrame({"x": texts}, schema={"x": pl.String})
    value, _ = scaled_integer(pl.col("x"), pl.col("v"), exponent, "金额")
    df = df.with_columns(value.alias("v"))
    _, problem = scaled_integer(pl.col("x"), pl.col("v"), exponent, "金额")
    return df.with_columns(problem.alias("p")).with_columns(as_integer(pl.col("v"), exponent).alias("v"))


@pytest.mark.parametrize(("text", "fen"), [
    ("1234.56", 123456), ("1,234.56", 123456), ("￥12", 1200), ("0.01", 1), ("-7.5", -750),
    ("007", 700), ("12.345", 1234), ("12.355", 1236), ("99999999999.99", 9999999999999),
])
def test_amounts_become_exact_fen(text, fen):
    assert money([text])["v"][0] == fen


def test_wan_yuan_scale_to_fen_exactly():
    assert money(["0.000001", "1.5"], exponent=6)["v"].to_list() == [1, 1_500_000]


def test_non_numbers_are_problems_and_blanks_are_missing():
    df = money(["abc", "", None, "12元"])
    assert df["v"].to_list() == [None, None, None, 1200]
    assert df["p"].to_list()[:3] == ["不是有效的金额数值", None, None]


def test_dates_in_department_formats_and_impossible_dates():
    df = pl.DataFrame({"x": ["2019年5月1日", "2019年2月30日", "20190501", "2024-02-29", "2023-02-29", ""]})
    value, _ = parse_date(pl.col("x"), pl.col("v"), ["%Y年%m月%d日", "%Y%m%d"])
    df = df.with_columns(value.alias("v"))
    _, problem = parse_date(pl.col("x"), pl.col("v"), ["%Y年%m月%d日", "%Y%m%d"])
    df = df.with_columns(problem.alias("p"))
    assert df["v"].to_list() == [date(2019, 5, 1), None, date(2019, 5, 1), date(2024, 2, 29), None, None]
    assert [p is not None for p in df["p"]] == [False, True, False, False, True, False]


def test_amounts_too_large_for_64_bit_fen_are_problems():
    df = money(["99999999999999999999", "92233720368547758.07"])
    assert df["v"].to_list() == [None, 9223372036854775807]
    assert df["p"].to_list() == ["金额数值过大", None]


@given(st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, allow_infinity=False, places=4),
       st.sampled_from([0, 2, 4, 6]))
def test_vectorised_amount_parsing_matches_decimal_arithmetic(value, exponent):
    text = f"{value:f}"
    expected = int((value * 10**exponent).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    assert money([text], exponent)["v"][0] == expected
