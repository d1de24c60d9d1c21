"""Data quality per source: freshness, rows loaded and rejected by reason, field coverage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from zhida.profiles.facts import FactView
from zhida.profiles.registry import Registry
from zhida.profiles.store import ProfileStore


@dataclass
class SourceQuality:
    source: str
    label: str
    batches: int
    last_loaded_at: str | None
    known_on: str | None
    age_days: int | None
    fresh: bool | None          # None: never loaded
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    warnings: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    coverage: dict[str, float] = field(default_factory=dict)  # field id -> % of the population


def source_quality(store: ProfileStore, registry: Registry, as_of: date) -> list[SourceQuality]:
    view = FactView(store, registry, as_of)
    population = view.population()
    pop_n = max(population.height, 1)
    out = []
    for sid, src in registry.sources.items():
        mine = [b for b in view.batches if b.source == sid]
        if not mine:
            out.append(SourceQuality(sid, src.label, 0, None, None, None, None))
            continue
        last = max(mine, key=lambda b: (b.known_date, b.seq))
        age = (as_of - last.known_date).days
        q = SourceQuality(sid, src.label, len(mine), last.loaded_at, last.known_on, age,
                          age <= src.freshness_days)
        for b in mine:
            q.rows_total += b.rows_total
            q.rows_loaded += b.rows_loaded
            q.rows_rejected += b.rows_rejected
            q.warnings += b.warnings
            for reason, n in b.rejects_by_reason.items():
                q.rejects_by_reason[reason] = q.rejects_by_reason.get(reason, 0) + n
        for fid in dict.fromkeys(f for b in mine for f in b.fields):
            ids = pl.concat([
                store.facts(b, ["uscc", fid]).filter(pl.col(fid).is_not_null()).select("uscc")
                for b in mine if fid in b.fields
            ]).unique().collect()
            covered = ids.join(population, on="uscc", how="semi").height
            q.coverage[fid] = round(100.0 * covered / pop_n, 1)
        out.append(q)
    return out
