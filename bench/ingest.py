"""Ingestion benchmark: generate a synthetic city, load every feed, build a population frame.

    python bench/ingest.py --enterprises 230000 --json

Each phase runs in a fresh child process so its wall time and peak memory are its own.
Prints a table, then (with --json) one JSON object on the last line with the keys
enterprises, facts, generate_s, load_s, facts_per_s, peak_rss_mb (and frame_s, frame_columns).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

AS_OF = date(2025, 6, 30)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _generate(out: str, n: int, seed: int, q: Any) -> None:
    from zhida.profiles.generate import generate_city

    t = time.perf_counter()
    m = generate_city(Path(out), n, seed, AS_OF)
    q.put({"seconds": time.perf_counter() - t, "peak_mb": _peak_mb(),
           "rows": sum(f["rows"] for f in m.feeds.values())})


def _load(out: str, store_dir: str, q: Any) -> None:
    from zhida.profiles.demo import load_city
    from zhida.profiles.generate import CityManifest
    from zhida.profiles.store import ProfileStore

    m = CityManifest.read(Path(out))
    t = time.perf_counter()
    reports = load_city(ProfileStore(Path(store_dir)), m)
    seconds = time.perf_counter() - t
    per_source = {s: {"rows": r.batch.rows_loaded, "facts": r.batch.facts, "lists": r.batch.list_entries,
                      "rejected": r.batch.rows_rejected} for s, r in reports.items()}
    q.put({"seconds": seconds, "peak_mb": _peak_mb(), "sources": per_source,
           "facts": sum(r.batch.facts for r in reports.values()),
           "list_entries": sum(r.batch.list_entries for r in reports.values())})


def _frame(store_dir: str, q: Any) -> None:
    from zhida.profiles.frame import build_population_frame
    from zhida.profiles.registry import load_registry
    from zhida.profiles.store import ProfileStore
    from zhida.rules.lang.frame import Requirements

    reg = load_registry()
    req = Requirements(lists=set(reg.lists), list_since=set(reg.lists), tags=set(reg.tags))
    for f in reg.fields.values():  # every field: last two years, last 12 months
        if f.key:
            continue
        if f.period == "none":
            req.fields.add((f.id, None))
        elif f.period == "year":
            req.fields |= {(f.id, "2023"), (f.id, "2024")}
        else:
            req.fields |= {(f.id, f"2024-{m:02d}") for m in range(1, 13)}
    t = time.perf_counter()
    df = build_population_frame(ProfileStore(Path(store_dir)), req, AS_OF)
    q.put({"seconds": time.perf_counter() - t, "peak_mb": _peak_mb(), "rows": df.height,
           "columns": df.width - 1})


def _child(target: Any, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    result = q.get()
    p.join()
    if p.exitcode:
        sys.exit(f"child {target.__name__} failed with exit code {p.exitcode}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=230_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None, help="keep the city and store here")
    ap.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="zhida-bench-"))
    city, store = work / "city", work / "store"
    shutil.rmtree(city, ignore_errors=True)
    shutil.rmtree(store, ignore_errors=True)
    try:
        gen = _child(_generate, str(city), args.enterprises, args.seed)
        load = _child(_load, str(city), str(store))
        frame = _child(_frame, str(store))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"Ingestion benchmark — {args.enterprises:,} enterprises, seed {args.seed}, as of {AS_OF}")
    print(f"{'source':<8} {'rows loaded':>12} {'facts':>12} {'list entries':>13} {'rejected':>9}")
    for s, r in load["sources"].items():
        print(f"{s:<8} {r['rows']:>12,} {r['facts']:>12,} {r['lists']:>13,} {r['rejected']:>9,}")
    print(f"{'phase':<22} {'wall s':>8} {'peak RSS MB':>12}")
    print(f"{'generate (all feeds)':<22} {gen['seconds']:>8.1f} {gen['peak_mb']:>12,.0f}")
    print(f"{'load (all feeds)':<22} {load['seconds']:>8.1f} {load['peak_mb']:>12,.0f}")
    print(f"{'frame ({} cols)'.format(frame['columns']):<22} {frame['seconds']:>8.1f} {frame['peak_mb']:>12,.0f}")
    rate = load["facts"] / load["seconds"]
    print(f"facts loaded: {load['facts']:,} (+ {load['list_entries']:,} list entries) → {rate:,.0f} facts/s")
    result = {
        "enterprises": args.enterprises, "facts": load["facts"],
        "generate_s": round(gen["seconds"], 2), "load_s": round(load["seconds"], 2),
        "facts_per_s": round(rate), "peak_rss_mb": round(max(gen["peak_mb"], load["peak_mb"])),
        "frame_s": round(frame["seconds"], 2), "frame_columns": frame["columns"],
    }
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
