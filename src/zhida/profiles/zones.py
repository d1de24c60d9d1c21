"""Zones (园区、功能区、管控区): GeoJSON polygons, membership of the registered location."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import shapely
from shapely.geometry import shape

from zhida.profiles.errors import ProfileError

COORDINATES = ("longitude", "latitude")  # the fields of the registered location, micro-degrees


def zone_names(zones_dir: Path) -> list[str]:
    return sorted(p.stem for p in zones_dir.glob("*.geojson")) if zones_dir.is_dir() else []


@lru_cache(maxsize=64)
def _geometry(path: Path, mtime: float) -> Any:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ProfileError(f"区域文件 {path} 无法读取（{e}）；请提供合法的 GeoJSON。") from e
    if doc.get("type") == "FeatureCollection":
        geoms = [shape(f["geometry"]) for f in doc["features"]]
    elif doc.get("type") == "Feature":
        geoms = [shape(doc["geometry"])]
    else:
        geoms = [shape(doc)]
    geom = shapely.union_all(geoms)
    shapely.prepare(geom)
    return geom


def zone_membership(frame: pl.DataFrame, name: str, zones_dir: Path | None, spine: pl.DataFrame,
                    facts: Any) -> pl.Series:
    """Boolean per row of `frame`: inside zone `name`; null without coordinates or zone file."""
    path = (zones_dir or Path("zones")) / f"{name}.geojson"
    n = frame.height
    if not path.exists():
        return pl.Series(name, [None] * n, dtype=pl.Boolean)
    coords = _coordinates(frame, spine, facts)
    lon = coords.get_column("longitude").to_numpy().astype(np.float64) / 1e6
    lat = coords.get_column("latitude").to_numpy().astype(np.float64) / 1e6
    known = ~(np.isnan(lon) | np.isnan(lat))
    inside = shapely.contains_xy(_geometry(path, path.stat().st_mtime), np.nan_to_num(lon), np.nan_to_num(lat))
    return pl.select(pl.when(pl.lit(pl.Series(known))).then(pl.lit(pl.Series(inside)))).to_series().alias(name)


def _coordinates(frame: pl.DataFrame, spine: pl.DataFrame, facts: Any) -> pl.DataFrame:
    """longitude/latitude (micro-degrees, scale 6) aligned with `frame` rows."""
    out = frame.select("uscc")
    for fid in COORDINATES:
        if fid in frame.columns:
            out = out.with_columns(frame.get_column(fid).cast(pl.Float64).alias(fid))
            continue
        col = facts.field_columns(facts.registry.field(fid), [None])
        col = col.select("uscc", pl.col(fid).cast(pl.Float64)) if fid in col.columns else \
            col.with_columns(pl.lit(None, pl.Float64).alias(fid))
        out = out.join(col, on="uscc", how="left", maintain_order="left")
    return out
