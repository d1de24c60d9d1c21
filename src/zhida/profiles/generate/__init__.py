"""A realistic synthetic city: one feed per department, in that department's own format.

`generate_city(out, enterprises, seed, as_of)` is deterministic for a seed and vectorised
(numpy/polars). Defects are injected at a stated rate and listed in `manifest.json`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from zhida.profiles.generate import feeds, programs
from zhida.profiles.generate.defects import inject
from zhida.profiles.generate.licences import licences
from zhida.profiles.generate.people import legal_reps, stream
from zhida.profiles.generate.population import make_firms, make_years
from zhida.profiles.generate.records import make_insurance, make_lists
from zhida.profiles.generate.write import write_feed

# feed -> (source, file). The feed name is also the name of its shipped mapping.
FEEDS = {
    "market": ("market", "市场监管_企业登记信息.csv"),
    "tax": ("tax", "税务_企业所得税年度申报.csv"),
    "tax-month": ("tax", "税务_月度入库税款.csv"),
    "hrss": ("hrss", "人社_失业保险参保缴费月报.csv"),
    "hrss-year": ("hrss", "人社_就业补助年度汇总.csv"),
    "stats": ("stats", "统计_四上企业名录年报.csv"),
    "sci": ("sci", "科技_高企与科小名单.csv"),
    "econ": ("econ", "经信_专精特新企业名单.xlsx"),
    "ip": ("ip", "知识产权_企业专利统计.csv"),
    "credit": ("credit", "信用_信用信息.xlsx"),
    "geo": ("geo", "大数据局_地址编码.parquet"),
    "bank": ("bank", "财政_企业收款账户.csv"),
    "lease": ("lease", "住建_经营场所租赁备案.csv"),
    "licence": ("licence", "市场监管_行政许可信息.csv"),
}
# Feeds (and columns) added after the city's main random stream was fixed draw from generators of
# their own (`people.stream`), defects included, so every value generated before stays the same.
OWN_STREAM = {"licence"}
FILES = {k: v[1] for k, v in FEEDS.items()}
LOAD_ORDER = tuple(FEEDS)
DEFAULT_DEFECT_RATE = 0.001


@dataclass(frozen=True)
class CityManifest:
    out: Path
    seed: int
    enterprises: int
    as_of: date
    defect_rate: float
    feeds: dict[str, dict[str, Any]]

    def path(self, feed: str) -> Path:
        return self.out / self.feeds[feed]["file"]

    @classmethod
    def read(cls, out: Path) -> CityManifest:
        doc = json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))
        return cls(Path(out), doc["seed"], doc["enterprises"], date.fromisoformat(doc["as_of"]),
                   doc["defect_rate"], doc["feeds"])


def generate_city(
    out: Path,
    enterprises: int,
    seed: int,
    as_of: date,
    defect_rate: float = DEFAULT_DEFECT_RATE,
    progress: Callable[[str], None] | None = None,
) -> CityManifest:
    """Write one feed per source (two for 税务 and 人社) into `out`, and a manifest of it all."""
    step = progress or (lambda _s: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    step("企业主体")
    firms = make_firms(rng, enterprises, as_of)
    years = make_years(rng, firms, [as_of.year - 3, as_of.year - 2, as_of.year - 1])
    step("参保月度序列")
    ins = make_insurance(rng, firms, as_of)
    step("名单")
    lists = make_lists(rng, firms, as_of)
    people = legal_reps(firms, seed, as_of)
    frames = {
        "market": lambda: feeds.market(firms, rng, people),
        "tax": lambda: feeds.tax(years, firms, rng),
        "hrss": lambda: feeds.hrss(ins),
        "stats": lambda: feeds.stats(years, firms, lists, rng),
        "sci": lambda: feeds.sci(lists),
        "econ": lambda: feeds.econ(lists, firms),
        "ip": lambda: feeds.ip(firms, lists, as_of, rng),
        "credit": lambda: feeds.credit(lists),
        "geo": lambda: feeds.geo(firms, rng),
        "bank": lambda: feeds.bank(firms, as_of, rng),
        "hrss-year": lambda: programs.hrss_year(ins, firms, as_of, rng),
        "tax-month": lambda: programs.tax_month(firms, years, as_of, rng),
        "lease": lambda: programs.lease(firms, as_of, rng),
        "licence": lambda: licences(firms, seed, as_of),
    }
    written: dict[str, dict[str, Any]] = {}
    for key in LOAD_ORDER:
        source, name = FEEDS[key]
        step(f"写出 {name}")
        df: pl.DataFrame = frames[key]()
        defects_rng = stream(seed, f"{key}-defects") if key in OWN_STREAM else rng
        df, log = inject(key, df, defect_rate, defects_rng, 1 if name.endswith(".parquet") else 2)
        write_feed(out / name, key, df)
        written[key] = {"source": source, "mapping": key, "file": name, "rows": df.height, "defects": log}
    manifest = CityManifest(out, seed, enterprises, as_of, defect_rate, written)
    (out / "manifest.json").write_text(json.dumps({
        "seed": seed, "enterprises": enterprises, "as_of": as_of.isoformat(),
        "defect_rate": defect_rate, "feeds": written,
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest
