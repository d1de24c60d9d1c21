"""Validation of a feed held in memory: every defect reported with its row; good rows typed."""

from datetime import date

import polars as pl

from zhida.profiles.mapping import parse_mapping
from zhida.profiles.registry import load_registry
from zhida.profiles.validate import validate

REG = load_registry()
GOOD = ["914403001922038216", "91440300708461136T", "91110108551385082Q"]
MAPPING = {
    "source": "market", "key": "代码", "period": "none",
    "fields": {
        "enterprise_name": "名称",
        "registered_capital": {"column": "注册资本(万元)", "unit": "万元"},
        "established_on": {"column": "成立日期", "format": "%Y年%m月%d日"},
        "district_code": "区县",
        "industry_code": {"column": "行业", "strip_prefix": "[A-T]"},
        "status": {"column": "状态", "values": {"在业": "存续"}},
    },
}


def feed(rows):
    cols = ["代码", "名称", "注册资本(万元)", "成立日期", "区县", "行业", "状态"]
    df = pl.DataFrame([dict(zip(cols, r, strict=True)) for r in rows], schema=dict.fromkeys(cols, pl.String))
    return df.with_row_index("_row", offset=2).with_columns(pl.col("_row").cast(pl.Int64))


def run(rows, **over):
    m = parse_mapping({**MAPPING, **over}, REG)
    return validate(feed(rows), m, REG, date(2025, 6, 30))


def test_good_rows_are_typed_in_the_frame_encoding():
    v = run([[GOOD[0], "甲公司", "1,234.5", "2019年5月1日", "330302", "C3411", "在业"]])
    assert v.rejects.is_empty()
    row = v.data.row(0, named=True)
    assert row["uscc"] == GOOD[0]
    assert row["registered_capital"] == 1_234_500_000  # 1234.5 万元 in fen
    assert row["established_on"] == date(2019, 5, 1)
    assert row["industry_code"] == "3411"
    assert row["status"] == "存续"


def test_every_defect_is_reported_with_its_row_and_only_valid_rows_remain():
    rows = [
        [GOOD[0], "好", "10", "2019年5月1日", "330302", "C3411", "存续"],             # row 2 ok
        ["914403001922038217", "坏1", "10", "2019年5月1日", "330302", "C3411", "存续"],  # 3 check digit
        [GOOD[1], "坏2", "十万", "2019年5月1日", "330302", "C3411", "存续"],             # 4 not a number
        [GOOD[2], "坏3", "10", "2019年2月30日", "330302", "C3411", "存续"],              # 5 impossible date
        ["91330302MA2AXXXX01", "坏4", "10", "2019年5月1日", "330399", "C3411", "存续"],  # 6 shape + district
        ["", "坏5", "10", "2019年5月1日", "330302", "C3411", "存续"],                    # 7 missing key
        [GOOD[1], "好2", "10", "2020年1月1日", "330303", "9999", "存续"],                # 8 bad industry
        [GOOD[0], "重复", "10", "2019年5月1日", "330302", "C3411", "存续"],              # 9 duplicate of 2
        [GOOD[2], "坏6", "-5", "2099年1月1日", "330302", "C3411", "歇业"],              # 10 three defects
    ]
    v = run(rows)
    got = {(r["row"], r["field"]) for r in v.rejects.iter_rows(named=True)}
    assert got >= {(3, "uscc"), (4, "registered_capital"), (5, "established_on"), (6, "uscc"),
                   (6, "district_code"), (7, "uscc"), (8, "industry_code"), (9, "uscc"),
                   (10, "registered_capital"), (10, "established_on"), (10, "status")}
    assert set(v.rejects["row"].to_list()) == set(range(3, 11))
    assert v.data["_row"].to_list() == [2]
    reasons = " ".join(v.rejects["reason"].to_list())
    for word in ("校验位", "数值", "日期", "代码表", "重复", "行业代码", "最小值", "晚于"):
        assert word in reasons
    assert v.rejects.filter(pl.col("row") == 4)["value"][0] == "十万"


def test_warn_mode_loads_a_code_failing_only_its_check_digit_but_still_rejects_bad_shapes():
    pilot = "91350100M0001TGQXM"  # an early pilot code that legally fails the check
    rows = [[pilot, "试点", "10", "2015年1月1日", "330302", "C3411", "存续"],
            ["9135", "坏", "10", "2015年1月1日", "330302", "C3411", "存续"]]
    v = run(rows, uscc_check="warn")
    assert v.data["uscc"].to_list() == [pilot]
    assert v.warnings["row"].to_list() == [2]
    assert v.rejects["row"].to_list() == [3]
    strict = run(rows)
    assert strict.data.is_empty()


def test_monthly_periods_are_parsed_and_checked():
    m = parse_mapping({"source": "hrss", "key": "代码", "period": "month", "period_column": "所属期",
                       "fields": {"insured": "人数"}}, REG)
    raw = pl.DataFrame({"代码": [GOOD[0]] * 4, "所属期": ["202403", "202413", "202507", "202404"],
                        "人数": ["12", "3", "4", "12.5"]}).with_row_index("_row", offset=2)
    v = validate(raw.with_columns(pl.col("_row").cast(pl.Int64)), m, REG, date(2025, 6, 30))
    assert v.data["period"].to_list() == ["2024-03"]
    assert set(v.rejects["row"].to_list()) == {3, 4, 5}


def test_list_entries_are_keyed_by_list_date_and_reference():
    m = parse_mapping({"source": "credit", "key": "代码", "lists": [
        {"name": "行政处罚", "listed_on": "决定日期", "ref": "文号"}]}, REG)
    raw = pl.DataFrame({"代码": [GOOD[0]] * 3, "决定日期": ["2024-03-01"] * 3,
                        "文号": ["温市监处罚〔2024〕1号", "温市监处罚〔2024〕2号", "温市监处罚〔2024〕1号"]})
    raw = raw.with_row_index("_row", offset=2).with_columns(pl.col("_row").cast(pl.Int64))
    v = validate(raw, m, REG, date(2025, 6, 30))
    assert v.lists["ref"].to_list() == ["温市监处罚〔2024〕1号", "温市监处罚〔2024〕2号"]  # two penalties, one day
    assert v.rejects["row"].to_list() == [4]  # the same decision twice is a duplicate
