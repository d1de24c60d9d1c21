"""The synthetic city end to end: generate, load every feed, check defects and the frame."""

import hashlib

import polars as pl

from zhida.profiles import uscc
from zhida.profiles.frame import build_population_frame
from zhida.profiles.generate import FILES, generate_city
from zhida.profiles.registry import load_registry
from zhida.rules.lang.frame import Requirements

from .conftest import CITY_AS_OF


def test_every_injected_defect_is_reported_on_its_row_and_nothing_else_is_rejected(city, loaded_city):
    _, reports = loaded_city
    for source, feed in city.feeds.items():
        expected = {d["row"] for d in feed["defects"]}
        got = set(reports[source].rejects["row"].to_list())
        assert got == expected, source
        assert reports[source].batch.rows_loaded == feed["rows"] - len(expected)
    kinds = {d["kind"] for f in city.feeds.values() for d in f["defects"]}
    assert len(kinds) >= 10


def test_feeds_use_department_formats(city):
    market = pl.read_csv(city.path("market"), infer_schema=False)
    assert "注册资本(万元)" in market.columns
    assert market["成立日期"].str.contains("年").all()
    tax_bytes = city.path("tax").read_bytes()
    assert "营业收入".encode("gbk") in tax_bytes  # GBK, as many tax extracts are
    assert city.path("econ").suffix == ".xlsx" and city.path("geo").suffix == ".parquet"
    firms = market.filter(pl.col("统一社会信用代码").str.len_chars() == 18)["统一社会信用代码"]
    assert uscc.valid_mask(firms).mean() > 0.99
    assert set(market["所属区县代码"].unique()) - {"330399"} <= set(
        load_registry().code_lists["district_code"])


def test_generation_is_deterministic_for_a_seed(tmp_path):
    a = generate_city(tmp_path / "a", 500, 3, CITY_AS_OF)
    b = generate_city(tmp_path / "b", 500, 3, CITY_AS_OF)
    c = generate_city(tmp_path / "c", 500, 4, CITY_AS_OF)

    def digest(m, name):
        return hashlib.sha256((m.out / name).read_bytes()).hexdigest()

    for name in FILES.values():
        if name.endswith(".xlsx"):
            continue  # XLSX embeds its write time
        assert digest(a, name) == digest(b, name), name
    assert digest(a, FILES["market"]) != digest(c, FILES["market"])


def test_sizes_are_heavy_tailed_and_facts_correlate(loaded_city):
    store, _ = loaded_city
    req = Requirements(fields={("employees", "2024"), ("revenue", "2024"), ("avg_insured", "2024"),
                               ("tax_paid", "2024")})
    f = build_population_frame(store, req, CITY_AS_OF).drop_nulls()
    emp = f["employees@2024"]
    assert emp.max() > 20 * emp.median()
    corr = f.select(pl.corr(pl.col("employees@2024").log(), pl.col("revenue@2024").log()))[0, 0]
    assert corr > 0.5
    assert f.select(pl.corr(pl.col("revenue@2024").log(), pl.col("tax_paid@2024").log()))[0, 0] > 0.5
    insured = f.filter(pl.col("avg_insured@2024") > 0)
    assert insured.select(pl.corr(pl.col("employees@2024").log(), pl.col("avg_insured@2024").log()))[0, 0] > 0.5


def test_frame_has_exactly_the_required_columns_in_the_contract_encoding(loaded_city):
    store, _ = loaded_city
    req = Requirements(
        fields={("revenue", "2024"), ("insured", "2025-05"), ("established_on", None),
                ("is_individual_business", None), ("layoff_rate", "2024"), ("enterprise_size", "2024"),
                ("longitude", None), ("district_code", None)},
        lists={"高新技术企业", "经营异常名录"}, list_since={"四上企业"}, tags={"僵尸企业", "劳务派遣单位"},
    )
    f = build_population_frame(store, req, CITY_AS_OF, load_registry().to_rules_schema())
    assert f.columns == ["uscc", *req.columns()]
    assert f["uscc"].n_unique() == f.height > 2900
    dtypes = dict(zip(f.columns, f.dtypes, strict=True))
    assert dtypes["revenue@2024"] == pl.Int64 and dtypes["insured@2025-05"] == pl.Int64
    assert dtypes["established_on"] == pl.Date and dtypes["is_individual_business"] == pl.Boolean
    assert dtypes["list@高新技术企业"] == pl.Boolean and dtypes["list_since@四上企业"] == pl.Date
    assert dtypes["enterprise_size@2024"] == pl.String and dtypes["tag@僵尸企业"] == pl.Boolean
    assert f["list@高新技术企业"].null_count() == 0 and f["list@高新技术企业"].sum() > 0
    dispatch = f["tag@劳务派遣单位"]  # a tag from rows that carry a licence number only
    assert dispatch.null_count() == 0 and 0 < dispatch.sum() < f.height / 10
    assert f["longitude"].drop_nulls().is_between(119_000_000, 122_000_000).all()


def test_periods_outside_the_loaded_history_are_unknown_not_zero(loaded_city):
    store, _ = loaded_city
    req = Requirements(fields={("insured", "2030-01"), ("insured", "2025-05"), ("revenue", "2019"),
                               ("tax_paid_monthly", "2030-01")})
    f = build_population_frame(store, req, CITY_AS_OF)
    assert f.height > 2900
    assert f["insured@2030-01"].null_count() == f.height  # after the last reported month
    assert f["tax_paid_monthly@2030-01"].null_count() == f.height
    assert f["revenue@2019"].null_count() == f.height
    assert f["insured@2025-05"].null_count() < f.height
    assert (f["insured@2025-05"] == 0).sum() > 0  # reported employers without a record are 0
