"""The frame of a few enterprises (`build_population_frame(..., usccs=...)`) equals the
population frame filtered to them: same columns, dtypes, values and row order."""

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from zhida import catalog
from zhida.profiles.frame import build_population_frame
from zhida.profiles.registry import load_registry
from zhida.profiles.store import ProfileStore
from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.lang.frame import Requirements
from zhida.rules.model.policy import load_policies

from .conftest import CITY_AS_OF
from .feeds import MARKET, STATS, TAX, load

REG = load_registry()
ZONES = Path(__file__).parents[3] / "zones"
A, B, C, D = "914403001922038216", "91440300708461136T", "91330300100058592B", "913303001000631058"
OUTSIDE = "91330302MAEC8DAH5Y"  # valid code, never registered in these stores


def assert_subset_equals_filtered(store, req, as_of, usccs, full=None, zones_dir=None):
    full = build_population_frame(store, req, as_of, zones_dir=zones_dir) if full is None else full
    few = build_population_frame(store, req, as_of, zones_dir=zones_dir, usccs=usccs)
    assert_frame_equal(few, full.filter(pl.col("uscc").is_in(list(usccs))))
    return few


# -- a hand-built store: precedence, as-of visibility, missing: zero, dated lists ------------------

@pytest.fixture
def store(tmp_path):
    s = ProfileStore(tmp_path / "store")
    load(s, tmp_path, MARKET, "m1.csv", f"代码,状态,区县,行业\n{A},存续,330302,3411\n", date(2024, 1, 31))
    load(s, tmp_path, MARKET, "m2.csv", f"代码,状态,区县,行业\n{A},注销,330302,3411\n{B},存续,330381,5212\n"
         f"{C},存续,330302,6513\n{D},存续,330303,3411\n", date(2024, 6, 30))
    load(s, tmp_path, TAX, "t.csv", f"代码,年度,人数,营收\n{A},2023,50,100\n{B},2023,8,5\n{OUTSIDE},2023,3,7\n",
         date(2024, 5, 31))
    load(s, tmp_path, STATS, "s.csv", f"代码,年度,从业人员,行业\n{A},2023,45,3412\n", date(2024, 3, 31))
    # 人社 reports months 2024-01..2024-06 (missing: zero): C only in January to March, D every month
    hrss = ("source: hrss\nkey: 代码\nperiod: month\nperiod_column: 所属期\n"
            "period_format: '%Y%m'\nfields:\n  insured: 参保人数\n")
    rows = [f"{C},2024{m:02d},{10 + m}" for m in (1, 2, 3)] + [f"{D},2024{m:02d},5" for m in range(1, 7)]
    load(s, tmp_path, hrss, "h.csv", "代码,所属期,参保人数\n" + "\n".join(rows) + "\n", date(2024, 7, 5))
    credit = ("source: credit\nkey: 代码\nlists:\n  - name_column: 类别\n"
              "    names: {经营异常名录: 经营异常名录, 行政处罚: 行政处罚}\n"
              "    listed_on: 列入\n    removed_on: 移出\n")
    load(s, tmp_path, credit, "c1.csv", f"代码,类别,列入,移出\n{A},经营异常名录,2023-05-01,\n"
         f"{D},行政处罚,2023-02-01,\n", date(2024, 2, 1))
    load(s, tmp_path, credit, "c2.csv", f"代码,类别,列入,移出\n{A},经营异常名录,2023-05-01,2024-04-15\n"
         f"{D},行政处罚,2023-02-01,\n{D},行政处罚,2024-06-01,\n", date(2024, 7, 1))
    return s


HAND_REQ = Requirements(
    fields={("status", None), ("industry_code", None), ("employees", "2023"), ("revenue", "2023"),
            ("enterprise_size", "2023"), ("penalties_3y", None), ("last_penalty_on", None),
            *{("insured", f"2024-{m:02d}") for m in range(1, 8)}, ("insured", "2023-12")},
    lists={"经营异常名录", "严重违法失信名单", "行政处罚"}, list_since={"经营异常名录"},
)


@pytest.mark.parametrize("as_of", [date(2024, 1, 1), date(2024, 3, 1), date(2024, 5, 2), date(2024, 7, 1),
                                   date(2024, 7, 10), date(2024, 9, 1)])
def test_a_few_enterprises_resolve_like_the_whole_population_on_every_date(store, as_of):
    full = build_population_frame(store, HAND_REQ, as_of)
    for usccs in ([A], [B], [C], [D], [C, D], [D, A, A], [A, B, C, D, OUTSIDE], [OUTSIDE]):
        assert_subset_equals_filtered(store, HAND_REQ, as_of, usccs, full)


def test_missing_zero_uses_the_months_the_source_reports_not_those_of_the_enterprise(store):
    row = build_population_frame(store, HAND_REQ, date(2024, 7, 10), usccs=[C]).row(0, named=True)
    # C has records for January to March; 人社 reported up to June: 0 then, unknown after and before
    assert [row[f"insured@2024-{m:02d}"] for m in range(1, 8)] == [11, 12, 13, 0, 0, 0, None]
    assert row["insured@2023-12"] is None
    never = build_population_frame(store, HAND_REQ, date(2024, 7, 10), usccs=[B]).row(0, named=True)
    assert never["insured@2024-04"] is None  # 人社 never reported B: unknown, not 0


def test_precedence_and_lists_hold_for_one_enterprise(store):
    row = build_population_frame(store, HAND_REQ, date(2024, 7, 1), usccs=[A]).row(0, named=True)
    assert (row["employees@2023"], row["industry_code"], row["status"]) == (45, "3412", "注销")
    assert row["list@经营异常名录"] is False and row["list_since@经营异常名录"] == date(2023, 5, 1)
    assert row["list@严重违法失信名单"] is None  # never loaded: unknown, also for a subset
    d = build_population_frame(store, HAND_REQ, date(2024, 7, 1), usccs=[D]).row(0, named=True)
    assert (d["penalties_3y"], d["last_penalty_on"]) == (2, date(2024, 6, 1))


def test_an_enterprise_outside_the_population_has_no_row_even_with_facts(store):
    assert build_population_frame(store, HAND_REQ, date(2024, 7, 1), usccs=[OUTSIDE]).height == 0


def test_no_enterprise_gives_an_empty_frame_with_the_population_schema(store):
    as_of = date(2024, 7, 10)
    empty = build_population_frame(store, HAND_REQ, as_of, usccs=[])
    assert empty.height == 0
    assert empty.schema == build_population_frame(store, HAND_REQ, as_of).schema


# -- the generated city, the real policy pack and every registry field -----------------------------

def pack_requirements():
    """What the real policy pack reads over its life (one zone is read only in 2022)."""
    schema = catalog.load_schema()
    policies = load_policies([Path(__file__).parents[3] / "policies"])
    req = Requirements()
    for day in (date(2022, 6, 30), date(2023, 6, 30), date(2024, 6, 30), CITY_AS_OF):
        req.update(compile_policies(policies, schema, day).requirements)
    assert req.zones
    return req


def registry_requirements():
    """Every registry field (two years, 2024's months and periods outside the history), list,
    tag and shipped zone."""
    req = Requirements(lists=set(REG.lists), list_since=set(REG.lists), tags=set(REG.tags),
                       zones={p.stem for p in ZONES.glob("*.geojson")})
    for f in REG.fields.values():
        if f.key:
            continue
        if f.period == "none":
            req.fields.add((f.id, None))
        elif f.period == "year":
            req.fields |= {(f.id, "2019"), (f.id, "2023"), (f.id, "2024")}
        else:
            req.fields |= {(f.id, f"2024-{m:02d}") for m in range(1, 13)} | {(f.id, "2023-05"), (f.id, "2030-01")}
    return req


@pytest.fixture(scope="module")
def city_frames(loaded_city):
    store, _ = loaded_city
    req = pack_requirements()
    req.update(registry_requirements())
    return store, req, build_population_frame(store, req, CITY_AS_OF, zones_dir=ZONES)


def special_enterprises(store, full):
    """An enterprise of each kind the frame treats specially, checked to be what it claims."""
    hrss = next(b for b in store.batches() if "insured" in b.fields)
    lo, hi = store.period_bounds(hrss)
    records = store.facts(hrss, ["uscc", "period"]).collect()
    gaps = (records.group_by("uscc").agg(pl.col("period").n_unique().alias("n"))
            .filter(pl.col("n") < records.get_column("period").n_unique()).sort("uscc"))
    zero_uscc = gaps.get_column("uscc").filter(gaps.get_column("uscc").is_in(full.get_column("uscc").implode()))[0]
    month = next(f"2024-{m:02d}" for m in range(1, 13)
                 if lo <= f"2024-{m:02d}" <= hi and records.filter((pl.col("uscc") == zero_uscc)
                                                                   & (pl.col("period") == f"2024-{m:02d}")).is_empty())
    assert full.filter(pl.col("uscc") == zero_uscc)[f"insured@{month}"].to_list() == [0]  # missing: zero
    no_hrss = full.filter(~pl.col("uscc").is_in(records.get_column("uscc").implode()))
    assert no_hrss.height and no_hrss[f"insured@{month}"].null_count() == no_hrss.height
    listed = full.filter(pl.col("list@高新技术企业"))
    zone = full.filter(pl.col("zone@中高风险地区所在县区2022"))
    penalised = full.filter(pl.col("penalties_3y") > 0)
    registered = set(full.get_column("uscc").to_list())
    unregistered = sorted({u for b in store.batches() if b.source != "market"
                           for u in store.facts(b, ["uscc"]).collect().get_column("uscc").to_list()} - registered)
    assert listed.height and zone.height and penalised.height
    return {"missing zero": zero_uscc, "no 人社 record": no_hrss["uscc"][0], "on a list": listed["uscc"][0],
            "inside a zone": zone["uscc"][0], "penalised": penalised["uscc"][0],
            "not in the population": unregistered[0] if unregistered else OUTSIDE}


def test_each_special_enterprise_alone_equals_its_population_row(city_frames):
    store, req, full = city_frames
    for kind, uscc in special_enterprises(store, full).items():
        few = assert_subset_equals_filtered(store, req, CITY_AS_OF, [uscc], full, ZONES)
        assert few.height == (0 if kind == "not in the population" else 1), kind


def test_a_sample_of_enterprises_equals_the_filtered_population(city_frames):
    store, req, full = city_frames
    sample = full.get_column("uscc").sample(25, seed=3).to_list()
    wanted = [*special_enterprises(store, full).values(), *sample]
    few = assert_subset_equals_filtered(store, req, CITY_AS_OF, wanted, full, ZONES)
    assert few.height >= 25


def test_no_enterprise_of_the_city_gives_the_population_schema(city_frames):
    store, req, full = city_frames
    empty = build_population_frame(store, req, CITY_AS_OF, zones_dir=ZONES, usccs=[])
    assert empty.height == 0 and empty.schema == full.schema


def test_period_bounds_from_statistics_equal_a_scan(loaded_city):
    store, _ = loaded_city
    for b in store.batches():
        scanned = store.facts(b, ["period"]).select(pl.col("period").min().alias("lo"),
                                                    pl.col("period").max().alias("hi")).collect()
        assert store.period_bounds(b) == (scanned["lo"][0], scanned["hi"][0]), b.source
