"""行政许可 of the synthetic city: the licences a plausible share of firms hold, by industry.

One row per licence, as a 市场监管 归集 of the permits the licensing authorities publish (双公示):
licence, number, authority, decision date and validity. Drawn from a generator of its own
(`people.stream`), so the rest of the city is exactly what it was before licences were added.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from zhida.profiles.generate.people import stream
from zhida.profiles.generate.population import days

# list, industry prefixes (with section letter), share of active firms in them, validity (years),
# authority, scope
LICENCES = [
    ("食品经营许可", ("H62", "F5212"), 0.85, 5, "温州市市场监督管理局", "预包装食品销售；热食类食品制售"),
    ("食品经营许可", ("H61",), 0.6, 5, "温州市市场监督管理局", "热食类食品制售"),
    ("食品生产许可", ("C13", "C14", "C15"), 0.8, 5, "浙江省市场监督管理局", "食品生产"),
    ("道路运输经营许可", ("G54",), 0.9, 4, "温州市交通运输局", "道路普通货物运输"),
    ("特种设备生产许可", ("C3443",), 0.3, 4, "浙江省市场监督管理局", "压力管道元件（阀门）制造"),
    ("工业产品生产许可", ("C382",), 0.15, 5, "浙江省市场监督管理局", "电线电缆、低压电器产品生产"),
]


def _number(name: str, district: str, serial: int) -> str:
    if name == "食品经营许可":
        return f"JY{2 if serial % 4 else 1}{district}{serial:06d}{serial % 10}"
    if name == "食品生产许可":
        return f"SC1{district}{serial:07d}"
    if name == "道路运输经营许可":
        return f"浙交运管许可温字{district}{serial:06d}号"
    if name == "特种设备生产许可":
        return f"TS27{district[2:]}{serial:04d}"
    return f"(浙)XK06-{serial % 1000:03d}-{serial:05d}"


def licences(firms: pl.DataFrame, seed: int, as_of: date) -> pl.DataFrame:
    """The licence feed: some of the active firms of each licensed industry, with dated licences."""
    rng = stream(seed, "licences")
    active = firms.filter(pl.col("status") == "存续")
    parts = []
    for name, prefixes, share, years, authority, scope in LICENCES:
        held = active.filter(pl.any_horizontal([pl.col("industry").str.starts_with(p) for p in prefixes]))
        held = held.filter(pl.Series(rng.random(held.height) < share, dtype=pl.Boolean))
        n = held.height
        start = np.maximum(held["established"].cast(pl.Int64).to_numpy() + 30, days(as_of) - (years + 2) * 365)
        issued = start + (rng.random(n) * np.maximum(days(as_of) - 1 - start, 0)).astype(np.int64)
        parts.append(held.select("uscc", "name", "district").with_columns(
            pl.lit(name).alias("list"), pl.Series("issued", issued).cast(pl.Date),
            pl.lit(years).alias("years"), pl.lit(authority).alias("authority"), pl.lit(scope).alias("scope")))
    df = pl.concat(parts).with_columns(pl.int_range(1, pl.len() + 1).alias("serial"))
    df = df.with_columns(
        pl.struct("list", "district", "serial").map_elements(
            lambda r: _number(r["list"], r["district"], r["serial"]), return_dtype=pl.String).alias("number"),
        (pl.col("issued").dt.offset_by(pl.format("{}y", pl.col("years"))) - pl.duration(days=1)).alias("until"))
    return df.select(
        pl.format("XK{}", pl.col("serial").cast(pl.String).str.zfill(8)).alias("许可信息编号"),
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("企业名称"),
        pl.col("list").alias("许可证名称"),
        pl.col("number").alias("许可证编号"),
        pl.col("scope").alias("许可内容"),
        pl.col("authority").alias("许可机关"),
        pl.col("issued").dt.strftime("%Y-%m-%d").alias("许可决定日期"),
        pl.col("until").dt.strftime("%Y-%m-%d").alias("有效期至"),
    )
