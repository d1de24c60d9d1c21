"""Zones from GeoJSON files; the data-quality report; the lineage view."""

import json
from datetime import date

import polars as pl

from zhida.profiles.frame import build_population_frame
from zhida.profiles.profile import mask, trace
from zhida.profiles.quality import source_quality
from zhida.profiles.registry import load_registry
from zhida.profiles.store import ProfileStore
from zhida.rules.lang.frame import Requirements

from .conftest import CITY_AS_OF

REG = load_registry()
LUCHENG_BOX = {"type": "Polygon", "coordinates": [[[120.5, 27.9], [120.8, 27.9], [120.8, 28.1],
                                                   [120.5, 28.1], [120.5, 27.9]]]}


def test_zone_membership_from_a_geojson_file(loaded_city, tmp_path):
    store, _ = loaded_city
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "鹿城核心区.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": LUCHENG_BOX}]}))
    req = Requirements(fields={("longitude", None), ("latitude", None), ("district_code", None)},
                       zones={"鹿城核心区", "没有文件的区"})
    f = build_population_frame(store, req, CITY_AS_OF, zones_dir=zones)
    inside = f.filter(pl.col("zone@鹿城核心区"))
    assert inside.height > 0
    assert inside["longitude"].is_between(120_500_000, 120_800_000).all()
    assert inside["latitude"].is_between(27_900_000, 28_100_000).all()
    # enterprises without coordinates are unknown, never outside
    assert (f["longitude"].is_null() == f["zone@鹿城核心区"].is_null()).all()
    assert f["zone@没有文件的区"].null_count() == f.height
    far = f.filter(pl.col("district_code") == "330329")  # 泰顺, far from 鹿城
    assert not far["zone@鹿城核心区"].drop_nulls().any()


def test_quality_report_per_source(loaded_city, city, tmp_path):
    store, _ = loaded_city
    qs = {q.source: q for q in source_quality(store, REG, date(2025, 7, 10))}
    market = qs["market"]
    assert market.rows_total == city.feeds["market"]["rows"]
    assert market.rows_rejected == len(city.feeds["market"]["defects"])
    assert sum(market.rejects_by_reason.values()) >= market.rows_rejected
    assert market.coverage["district_code"] > 99 and 0 < qs["geo"].coverage["longitude"] < 100
    assert market.fresh and market.age_days == 10
    empty = source_quality(ProfileStore(tmp_path / "empty"), REG, date(2025, 7, 10))
    assert all(q.fresh is None and q.batches == 0 for q in empty)  # never loaded: no freshness
    assert not source_quality(store, REG, date(2026, 1, 1))[0].fresh


def test_trace_shows_source_record_and_masks_personal_information(loaded_city):
    store, _ = loaded_city
    anyone = build_population_frame(store, Requirements(fields={("legal_representative", None)}), CITY_AS_OF)
    uscc, name = anyone.drop_nulls().row(0)
    t = trace(store, REG, uscc, CITY_AS_OF)
    rep = t.filter(pl.col("field") == "legal_representative").row(0, named=True)
    assert rep["value"] == mask(name, "name") != name
    assert rep["source"] == "市场监管" and rep["record_id"].startswith("SCJG") and rep["chosen"]
    assert mask("6222020200112233445", "account") == "6222 **** **** 3445"
