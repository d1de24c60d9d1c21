"""Deliberate defects injected into the synthetic feeds, at a stated rate, each recorded.

Each defect changes one row so that exactly that row must be quarantined on load; duplicates
are appended copies of clean rows (the copy is the defect). The manifest lists every defect
with its file row number, so tests can check that every one is reported.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from zhida.profiles import uscc as uscc_rules

Defect = tuple[str, str, Callable[[pl.Expr], pl.Expr]]  # kind, column, change


def _flip_check(col: pl.Expr) -> pl.Expr:
    last = col.str.slice(17, 1)
    repl = pl.when(last == "0").then(pl.lit("1")).otherwise(pl.lit("0"))
    return col.str.slice(0, 17) + repl


def _const(value: str) -> Callable[[pl.Expr], pl.Expr]:
    return lambda _col: pl.lit(value)


DEFECTS: dict[str, list[Defect]] = {
    "market": [
        ("bad_check_digit", "统一社会信用代码", _flip_check),
        ("missing_uscc", "统一社会信用代码", _const("")),
        ("impossible_date", "成立日期", _const("2019年2月30日")),
        ("future_date", "成立日期", _const("2099年1月1日")),
        ("unknown_district", "所属区县代码", _const("330399")),
        ("bad_industry_code", "行业代码", _const("C9999")),
        ("non_numeric_amount", "注册资本(万元)", _const("五十万")),
    ],
    "tax": [
        ("bad_check_digit", "纳税人识别号", _flip_check),
        ("negative_amount", "营业收入", _const("-12345.67")),
        ("unknown_code", "纳税信用等级", _const("E")),
        ("duplicate", "", _const("")),
    ],
    "hrss": [
        ("non_numeric_count", "参保人数", _const("约20")),
        ("bad_period", "费款所属期", _const("202413")),
        ("unknown_flag", "缴费状态", _const("部分")),
        ("duplicate", "", _const("")),
        ("bad_check_digit", "统一社会信用代码", _flip_check),
    ],
    "stats": [("unknown_code", "四上类别", _const("规上农业")), ("bad_check_digit", "统一社会信用代码", _flip_check)],
    "sci": [("impossible_date", "发证日期", _const("20230230")), ("unknown_list", "名单类别", _const("省科技小巨人"))],
    "econ": [("impossible_date", "公布日期", _const("2023年13月1日")),
             ("unknown_list", "称号", _const("市级专精特新"))],
    "ip": [("fractional_count", "有效发明专利(件)", _const("2.5"))],
    "credit": [("malformed_uscc", "统一社会信用代码", _const("91330302MA2A")),
               ("impossible_date", "列入日期", _const("2022-02-29"))],
    "geo": [("out_of_range", "lat", _const("91.0"))],
    "bank": [("impossible_date", "确认日期", _const("2023/02/29"))],
    "hrss-year": [("non_numeric_count", "扩岗补助合格人数_满1个月", _const("若干")),
                  ("unknown_flag", "实际经营者个人缴社保", _const("不详"))],
    "tax-month": [("bad_period", "所属期", _const("2024-13")), ("negative_amount", "实缴税款", _const("-1.00"))],
    "lease": [("unknown_flag", "出租方性质", _const("集体")), ("non_numeric_amount", "月租金", _const("面议"))],
    "licence": [("impossible_date", "许可决定日期", _const("2023-02-29")),
                ("unknown_list", "许可证名称", _const("烟草专卖零售许可"))],
}


def inject(source: str, df: pl.DataFrame, rate: float, rng: np.random.Generator,
           first_row: int) -> tuple[pl.DataFrame, list[dict[str, object]]]:
    """Defects at `rate` of rows (at least one of each kind). Returns the feed and the log."""
    kinds = DEFECTS.get(source, [])
    if not kinds or df.height < 10 * len(kinds):
        return df, []
    count = max(len(kinds), round(rate * df.height))
    rows = rng.choice(df.height, size=count, replace=False)
    df = df.with_columns(pl.all().cast(pl.String))
    log: list[dict[str, object]] = []
    dups: list[int] = []
    for k, (kind, column, change) in enumerate(kinds):
        mine = rows[k :: len(kinds)]
        if kind == "duplicate":
            dups += [int(r) for r in mine]
            continue
        mask = np.zeros(df.height, dtype=bool)
        mask[mine] = True
        df = df.with_columns(
            pl.when(pl.lit(pl.Series(mask))).then(change(pl.col(column))).otherwise(pl.col(column)).alias(column)
        )
        log += [{"row": int(r) + first_row, "kind": kind, "column": column} for r in mine]
    if dups:
        taken = set(int(x) for x in rows)
        clean = [r for r in range(min(df.height, 2 * count + len(dups) + 10)) if r not in taken][: len(dups)]
        start = df.height
        df = pl.concat([df, df[clean]])
        log += [{"row": start + i + first_row, "kind": "duplicate", "column": ""} for i in range(len(clean))]
    return df, sorted(log, key=lambda d: int(str(d["row"])))


def is_valid_uscc(code: str) -> bool:
    return uscc_rules.is_valid(code)
