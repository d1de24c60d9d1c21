"""A small demo city, generated and loaded in one call (used by `zhida run`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from zhida.profiles.generate import LOAD_ORDER, CityManifest, generate_city
from zhida.profiles.load import LoadReport, load_feed
from zhida.profiles.store import ProfileStore

DEMO_ENTERPRISES = 20_000
DEMO_SEED = 2026


def load_city(store: ProfileStore, manifest: CityManifest,
              progress: Callable[[str], None] | None = None) -> dict[str, LoadReport]:
    """Load every feed of a generated city, known on the city's as-of date."""
    reports = {}
    for key in LOAD_ORDER:
        if key not in manifest.feeds:       # a city generated before this feed was added
            continue
        feed = manifest.feeds[key]
        if progress:
            progress(f"导入 {feed['file']}")
        reports[key] = load_feed(store, feed["source"], manifest.path(key), mapping_name=feed["mapping"],
                                 known_on=manifest.as_of)
    return reports


def demo_store(
    as_of: date,
    base: Path,
    enterprises: int = DEMO_ENTERPRISES,
    seed: int = DEMO_SEED,
    progress: Callable[[str], None] | None = None,
) -> ProfileStore:
    """Generate (once) and load (idempotently) a demo city under the data directory.

    The city's feeds go to `<data dir>/demo-city/<seed>-<enterprises>-<as_of>/` and its own store
    to `store/` inside it, so demo data never mixes with feeds loaded by `zhida data load`.
    Calling it again reuses both: loading the same files changes nothing.
    """
    city = base / "demo-city" / f"{seed}-{enterprises}-{as_of.isoformat()}"
    if (city / "manifest.json").exists():
        manifest = CityManifest.read(city)
    else:
        manifest = generate_city(city, enterprises, seed, as_of, progress=progress)
    store = ProfileStore(city / "store")
    load_city(store, manifest, progress)
    return store
