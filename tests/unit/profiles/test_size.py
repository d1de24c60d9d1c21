"""中小企业划型 (工信部联企业〔2011〕300号): every industry row at and around its thresholds.

The expected classes are written out from the text of the standard, not read from the YAML
table the code uses, so a wrong figure in the table fails here.
"""

from datetime import date

import polars as pl
import pytest

from zhida.profiles import size

STD = size.standard_on(date(2024, 6, 30))
W = size.FEN_PER_WAN  # 万元 in fen

# row: (indicators), cases (employees, revenue 万元, assets 万元) -> class
CASES = {
    "industry": [  # 工业: 从业人员<1000 或 营收<40000; 中 ≥300 且 ≥2000; 小 ≥20 且 ≥300
        ((1000, 40000, 0), "大型"), ((999, 40000, 0), "中型"), ((1000, 39999, 0), "中型"),
        ((300, 2000, 0), "中型"), ((299, 2000, 0), "小型"), ((300, 1999, 0), "小型"),
        ((20, 300, 0), "小型"), ((19, 300, 0), "微型"), ((20, 299, 0), "微型"),
    ],
    "agriculture": [((0, 20000, 0), "大型"), ((0, 19999, 0), "中型"), ((0, 500, 0), "中型"),
                    ((0, 499, 0), "小型"), ((0, 50, 0), "小型"), ((0, 49, 0), "微型")],
    "construction": [((0, 80000, 80000), "大型"), ((0, 79999, 80000), "中型"), ((0, 6000, 5000), "中型"),
                     ((0, 6000, 4999), "小型"), ((0, 300, 300), "小型"), ((0, 300, 299), "微型")],
    "wholesale": [((200, 40000, 0), "大型"), ((199, 40000, 0), "中型"), ((20, 5000, 0), "中型"),
                  ((19, 5000, 0), "小型"), ((5, 1000, 0), "小型"), ((5, 999, 0), "微型"), ((4, 1000, 0), "微型")],
    "retail": [((300, 20000, 0), "大型"), ((300, 19999, 0), "中型"), ((50, 500, 0), "中型"),
               ((49, 500, 0), "小型"), ((10, 100, 0), "小型"), ((9, 100, 0), "微型"), ((10, 99, 0), "微型")],
    "transport": [((1000, 30000, 0), "大型"), ((300, 3000, 0), "中型"), ((300, 2999, 0), "小型"),
                  ((20, 200, 0), "小型"), ((20, 199, 0), "微型")],
    "warehousing": [((200, 30000, 0), "大型"), ((100, 1000, 0), "中型"), ((99, 1000, 0), "小型"),
                    ((20, 100, 0), "小型"), ((19, 100, 0), "微型")],
    "postal": [((1000, 30000, 0), "大型"), ((300, 2000, 0), "中型"), ((300, 1999, 0), "小型"),
               ((20, 100, 0), "小型"), ((20, 99, 0), "微型")],
    "accommodation": [((300, 10000, 0), "大型"), ((100, 2000, 0), "中型"), ((100, 1999, 0), "小型"),
                      ((10, 100, 0), "小型"), ((9, 100, 0), "微型")],
    "catering": [((300, 10000, 0), "大型"), ((299, 10000, 0), "中型"), ((100, 2000, 0), "中型"),
                 ((10, 100, 0), "小型"), ((10, 99, 0), "微型")],
    "telecom": [((2000, 100000, 0), "大型"), ((1999, 100000, 0), "中型"), ((100, 1000, 0), "中型"),
                ((99, 1000, 0), "小型"), ((10, 100, 0), "小型"), ((10, 99, 0), "微型")],
    "software": [((300, 10000, 0), "大型"), ((100, 1000, 0), "中型"), ((100, 999, 0), "小型"),
                 ((10, 50, 0), "小型"), ((10, 49, 0), "微型"), ((9, 50, 0), "微型")],
    "real_estate": [((0, 200000, 10000), "大型"), ((0, 200000, 9999), "中型"), ((0, 1000, 5000), "中型"),
                    ((0, 999, 5000), "小型"), ((0, 100, 2000), "小型"), ((0, 100, 1999), "微型")],
    "property_mgmt": [((1000, 5000, 0), "大型"), ((999, 5000, 0), "中型"), ((300, 1000, 0), "中型"),
                      ((300, 999, 0), "小型"), ((100, 500, 0), "小型"), ((99, 500, 0), "微型")],
    "leasing": [((300, 0, 120000), "大型"), ((300, 0, 119999), "中型"), ((100, 0, 8000), "中型"),
                ((100, 0, 7999), "小型"), ((10, 0, 100), "小型"), ((10, 0, 99), "微型")],
    "other": [((300, 0, 0), "大型"), ((299, 0, 0), "中型"), ((100, 0, 0), "中型"), ((99, 0, 0), "小型"),
              ((10, 0, 0), "小型"), ((9, 0, 0), "微型")],
}


def classify(row, employees, revenue_wan, assets_wan):
    df = pl.DataFrame({"row": [row], "e": [employees], "r": [revenue_wan * W], "a": [assets_wan * W]},
                      schema={"row": pl.String, "e": pl.Int64, "r": pl.Int64, "a": pl.Int64})
    expr = size.size_expr(pl.col("row"), pl.col("e"), pl.col("r"), pl.col("a"), STD)
    return df.select(expr.alias("s"))["s"][0]


def test_every_row_of_the_standard_has_cases():
    assert set(CASES) == set(STD.rows)


@pytest.mark.parametrize(("row", "inputs", "expected"),
                         [(r, i, e) for r, cases in CASES.items() for i, e in cases])
def test_size_at_and_around_thresholds(row, inputs, expected):
    assert classify(row, *inputs) == expected


def test_unknown_indicator_makes_size_unknown_unless_decided_without_it():
    # 工业 needs employees and revenue: revenue unknown -> unknown
    assert classify_nullable("industry", 500, None) is None
    # 其他未列明行业 needs employees only: revenue unknown does not matter
    assert classify_nullable("other", 50, None) == "小型"
    assert classify_nullable(None, 50, 100) is None


def classify_nullable(row, employees, revenue_wan):
    df = pl.DataFrame({"row": [row], "e": [employees], "r": [None if revenue_wan is None else revenue_wan * W],
                       "a": [0]}, schema={"row": pl.String, "e": pl.Int64, "r": pl.Int64, "a": pl.Int64})
    return df.select(size.size_expr(pl.col("row"), pl.col("e"), pl.col("r"), pl.col("a"), STD).alias("s"))["s"][0]


@pytest.mark.parametrize(("code", "row"), [
    ("0111", "agriculture"), ("0511", "other"), ("0610", "industry"), ("1120", "other"),
    ("1952", "industry"), ("4320", "other"), ("4411", "industry"), ("4790", "construction"),
    ("5137", "wholesale"), ("5212", "retail"), ("5430", "transport"), ("5960", "warehousing"),
    ("6010", "postal"), ("6110", "accommodation"), ("6210", "catering"), ("6311", "telecom"),
    ("6421", "telecom"), ("6513", "software"), ("7010", "real_estate"), ("7020", "property_mgmt"),
    ("7090", "other"), ("7111", "leasing"), ("7299", "leasing"), ("7320", "other"), ("8010", "other"),
])
def test_industry_code_maps_to_its_row(code, row):
    df = pl.DataFrame({"c": [code]})
    assert df.select(size.row_expr(pl.col("c"), STD).alias("r"))["r"][0] == row


def test_standard_before_its_effective_date_is_refused():
    from zhida.profiles.errors import RegistryError

    with pytest.raises(RegistryError):
        size.standard_on(date(2011, 1, 1))
