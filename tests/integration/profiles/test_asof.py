"""As-of queries: what the platform knew on a date; precedence between sources; dated lists."""

from datetime import date

import polars as pl
import pytest

from zhida.profiles.frame import build_population_frame
from zhida.profiles.profile import trace
from zhida.profiles.registry import load_registry
from zhida.profiles.store import ProfileStore
from zhida.rules.lang.frame import Requirements

from .feeds import MARKET, STATS, TAX, load

A, B = "914403001922038216", "91440300708461136T"
REG = load_registry()


@pytest.fixture
def store(tmp_path):
    s = ProfileStore(tmp_path / "store")
    load(s, tmp_path, MARKET, "m1.csv", f"代码,状态,区县,行业\n{A},存续,330302,3411\n", date(2024, 1, 31))
    load(s, tmp_path, MARKET, "m2.csv", f"代码,状态,区县,行业\n{A},注销,330302,3411\n{B},存续,330381,5212\n",
         date(2024, 6, 30))
    load(s, tmp_path, TAX, "t.csv", f"代码,年度,人数,营收\n{A},2023,50,100\n{B},2023,8,5\n", date(2024, 5, 31))
    load(s, tmp_path, STATS, "s.csv", f"代码,年度,从业人员,行业\n{A},2023,45,3412\n", date(2024, 3, 31))
    credit = ("source: credit\nkey: 代码\nlists:\n  - name_column: 类别\n"
              "    names: {经营异常名录: 经营异常名录}\n    listed_on: 列入\n    removed_on: 移出\n")
    load(s, tmp_path, credit, "c1.csv", f"代码,类别,列入,移出\n{A},经营异常名录,2023-05-01,\n", date(2024, 2, 1))
    load(s, tmp_path, credit, "c2.csv", f"代码,类别,列入,移出\n{A},经营异常名录,2023-05-01,2024-04-15\n",
         date(2024, 5, 1))
    return s


def frame(store, as_of, **req):
    return build_population_frame(store, Requirements(**req), as_of).sort("uscc")


def test_as_of_returns_what_was_known_then(store):
    fields = {("status", None)}
    before = frame(store, date(2024, 1, 1), fields=fields)
    assert before.height == 0  # nothing was known yet
    march = frame(store, date(2024, 3, 1), fields=fields)
    assert march.rows() == [(A, "存续")]
    july = frame(store, date(2024, 7, 1), fields=fields)
    assert july.rows() == [(A, "注销"), (B, "存续")]


def test_declared_precedence_decides_and_both_values_stay_visible(store):
    f = frame(store, date(2024, 7, 1), fields={("employees", "2023"), ("industry_code", None)})
    rows = {r["uscc"]: r for r in f.iter_rows(named=True)}
    assert rows[A]["employees@2023"] == 45       # 统计 wins over 税务 (precedence [stats, tax])
    assert rows[B]["employees@2023"] == 8        # only 税务 reports B
    assert rows[A]["industry_code"] == "3412"    # 统计 wins over 市场监管
    t = trace(store, REG, A, date(2024, 7, 1)).filter(pl.col("field") == "employees")
    assert sorted(t["value"].to_list()) == ["45", "50"]
    assert t.filter(pl.col("chosen"))["source"].to_list() == ["统计"]
    # before the stats feed was known, tax was all there was
    early = frame(store, date(2024, 3, 1), fields={("employees", "2023")})
    assert early["employees@2023"].to_list() == [None]


def test_list_membership_as_of_dates(store):
    req = {"lists": {"经营异常名录", "严重违法失信名单"}, "list_since": {"经营异常名录"}}
    march = frame(store, date(2024, 3, 1), **req)
    assert march["list@经营异常名录"].to_list() == [True]
    assert march["list_since@经营异常名录"].to_list() == [date(2023, 5, 1)]
    assert march["list@严重违法失信名单"].to_list() == [None]  # never loaded: unknown
    may = frame(store, date(2024, 5, 2), **req)  # the May snapshot records the removal
    assert may["list@经营异常名录"].to_list() == [False]
    stale = frame(store, date(2024, 9, 1), **req)  # freshness 35 days exceeded: unknown
    assert stale["list@经营异常名录"].to_list() == [None, None]


def test_enterprise_size_uses_the_resolved_inputs(store):
    f = frame(store, date(2024, 7, 1), fields={("enterprise_size", "2023")})
    # A: 工业, 45 persons, revenue 100 元 -> 微型 (revenue < 300万); B: retail, 8 persons -> 微型
    assert f["enterprise_size@2023"].to_list() == ["微型", "微型"]
