"""Matching-service benchmark: a full run end to end and incremental re-matching latency.

    python bench/match.py --enterprises 230000 --clauses 4314 [--incremental 100]
                          [--skip-openfisca] [--keep DIR] [--json]

The workload is the one of bench/rules.py (bench/workload.py: the synthetic city and the
generated clause pack, CLAUSES_PER_POLICY clauses per policy document), with one clause in
NEAR_MISS_EVERY marked `near_misses: true` (an officer marks the clauses worth nudging; marking
every clause would make a fifth of all pairs near misses). The parent generates it and writes
the population as a Parquet profile file; each measured phase then runs in a fresh child
process, so its peak RSS is its own:

* publish — parse and compile the pack into the data directory's pack cache
  (zhida.packs.cache), as publishing a policy version does; cold, timed apart;
* full — read the profiles (Parquet) → load the compiled pack (a cache hit) → match (eligible,
  unknown, excluded, and near misses of the marked clauses: zhida.matching.evaluate.match_codes)
  → store the sparse results (Parquet) and commit the run record (SQLite), as `zhida match run`
  does (record_run);
* incremental — for N random enterprises in turn: change one fact of its row and re-match it
  against every clause with zhida.matching.incremental.rematch_enterprises (old results read
  from the run, new results and outbox events committed); the first call, which loads the
  compiled pack once per process (from the pack cache), is reported apart;
* openfisca — OpenFisca-Core on the same rules (bench/openfisca_impl.py), statuses and amounts
  only (no near misses, nothing stored), for comparison.

With --keep DIR the workload is written to DIR (and reused from it when DIR already holds one
of the same size), so bench/pack.py and profilers can work on the same files; the run
results are written afresh each time. With --json the figures are printed as one JSON object
on the last line.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workload import generate_workload  # noqa: E402

AS_OF = date(2025, 6, 30)
PHASES = ("publish", "full", "incremental", "openfisca")
NEAR_MISS_EVERY = 50   # one clause in 50 keeps its near misses in every run


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def policy_documents(w) -> list[dict]:  # type: ignore[no-untyped-def]
    """The pack of bench/rules.py, one clause in NEAR_MISS_EVERY marked for near misses."""
    import zhida_io

    docs = zhida_io.policy_documents(w.clauses)
    for i, clause in enumerate(c for d in docs for c in d["clauses"]):
        clause["near_misses"] = i % NEAR_MISS_EVERY == 0
    return docs


def _inputs(workdir: Path):  # type: ignore[no-untyped-def]
    import zhida_io

    with open(workdir / "workload.pkl", "rb") as f:
        w = pickle.load(f)
    docs = json.loads((workdir / "policies.json").read_text(encoding="utf-8"))
    return zhida_io.schema(w.population), docs


def child_publish(workdir: Path) -> dict[str, float]:
    from zhida.matching.results import pack_cache_dir
    from zhida.packs.cache import PackCache

    schema, docs = _inputs(workdir)
    cache = PackCache(pack_cache_dir(workdir / "data"))
    t = time.perf_counter()
    cache.load_or_compile(docs, schema, AS_OF)
    return {"pack_compile_s": time.perf_counter() - t, "pack_cache_misses": cache.misses,
            "pack_cache_mb": sum(p.stat().st_size for p in cache.directory.iterdir()) / 2**20}


def child_full(workdir: Path) -> dict[str, float]:
    from zhida.db import Database
    from zhida.matching.evaluate import match_codes
    from zhida.matching.results import pack_cache_dir
    from zhida.matching.run import MatchSetup, record_run
    from zhida.matching.snapshot import Snapshot
    from zhida.packs.cache import PackCache

    schema, docs = _inputs(workdir)
    database = Database.open(f"sqlite:///{workdir / 'zhida.sqlite'}")
    cache = PackCache(pack_cache_dir(workdir / "data"), freeze=True)
    fig: dict[str, float] = {}
    started = datetime.now(UTC)
    t0 = t = time.perf_counter()
    df = pl.read_parquet(workdir / "profiles.parquet")
    fig["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    compiled = cache.load_or_compile(docs, schema, AS_OF)
    fig["pack_load_s"] = time.perf_counter() - t
    fig["pack_cache_hits"] = cache.hits
    t = time.perf_counter()
    matched = match_codes(compiled, df)
    fig["match_s"] = time.perf_counter() - t
    t = time.perf_counter()
    snapshot = Snapshot(str(workdir), (("profiles.parquet", "bench"),))
    setup = MatchSetup(data_dir=workdir / "data", schema=schema)
    run = record_run(database.uow(), setup, compiled, df, matched, snapshot, started)
    fig["store_s"] = time.perf_counter() - t
    fig["full_run_s"] = time.perf_counter() - t0
    fig |= {f"{k}_pairs": v for k, v in matched.counts().items()}
    fig["stored_pairs"] = matched.results.height
    fig["near_miss_clauses"] = len(compiled.near_miss_orders("marked"))
    fig["results_mb"] = (workdir / "data" / "match" / "runs" / run.id / "results.arrow").stat().st_size / 2**20
    fig["peak_rss_mb"] = _peak_mb()
    return fig


def child_incremental(workdir: Path, n: int) -> dict[str, float]:
    import zhida_io
    from zhida.db import Database
    from zhida.matching.incremental import rematch_enterprises
    from zhida.matching.run import MatchSetup, load_run

    with open(workdir / "workload.pkl", "rb") as f:
        w = pickle.load(f)
    schema = zhida_io.schema(w.population)
    database = Database.open(f"sqlite:///{workdir / 'zhida.sqlite'}")
    setup = MatchSetup(data_dir=workdir / "data", schema=schema)
    run = load_run(database.uow())
    df = pl.read_parquet(workdir / "profiles.parquet")
    numeric = [c for c, dtype in df.schema.items() if dtype == pl.Int64]
    rng = np.random.default_rng(5)
    picks = rng.choice(df.height, size=n + 1, replace=False)
    latencies, events = [], 0
    first_s = 0.0
    for k, i in enumerate(picks):
        row = df.slice(int(i), 1)
        col = numeric[int(rng.integers(len(numeric)))]
        row = row.with_columns(pl.col(col) * 2)          # the enterprise's new fact
        t = time.perf_counter()
        update = rematch_enterprises(database.uow(), setup, run, None, [row["uscc"][0]], frame=row)
        elapsed = time.perf_counter() - t
        if k == 0:
            first_s = elapsed                             # loads the pack once per process
        else:
            latencies.append(elapsed * 1000)
            events += update.events.height
    q = statistics.quantiles(latencies, n=20, method="inclusive")
    return {"incremental_first_call_s": first_s, "incremental_p50_ms": statistics.median(latencies),
            "incremental_p95_ms": q[18], "incremental_max_ms": max(latencies), "incremental_calls": len(latencies),
            "incremental_events": events, "incremental_peak_rss_mb": _peak_mb()}


def child_openfisca(workdir: Path) -> dict[str, float]:
    import openfisca_impl

    with open(workdir / "workload.pkl", "rb") as f:
        w = pickle.load(f)
    t = time.perf_counter()
    _seconds, _pairs = openfisca_impl.run(w.clauses, w.population)
    return {"openfisca_s": time.perf_counter() - t, "openfisca_peak_rss_mb": _peak_mb()}


def spawn(phase: str, workdir: Path, extra: list[str]) -> dict[str, float]:
    subprocess.run([sys.executable, __file__, "--child", phase, "--workdir", str(workdir), *extra], check=True)
    return json.loads((workdir / f"{phase}.json").read_text())


def prepare(workdir: Path, enterprises: int, clauses: int, log) -> dict:  # type: ignore[no-untyped-def]
    """Write the workload (population, pack, profiles) into `workdir`, or reuse the one there
    when it has this size; remove earlier run results and the pack cache."""
    import shutil

    import zhida_io

    size = {"enterprises": enterprises, "clauses": clauses}
    marker = workdir / "workload.json"
    if marker.exists() and json.loads(marker.read_text())["size"] == size:
        w = json.loads(marker.read_text())
        log(f"workload: reused from {workdir}")
    else:
        t = time.perf_counter()
        wl = generate_workload(enterprises, clauses)
        log(f"workload: {wl.population.n:,} enterprises, {len(wl.clauses):,} clauses "
            f"in {time.perf_counter() - t:.1f} s")
        workdir.mkdir(parents=True, exist_ok=True)
        with open(workdir / "workload.pkl", "wb") as f:
            pickle.dump(wl, f, protocol=pickle.HIGHEST_PROTOCOL)
        zhida_io.frame(wl.population).write_parquet(workdir / "profiles.parquet")
        (workdir / "policies.json").write_text(json.dumps(policy_documents(wl), ensure_ascii=False), encoding="utf-8")
        w = {"size": size, "enterprises": wl.population.n, "clauses": len(wl.clauses)}
        marker.write_text(json.dumps(w))
    shutil.rmtree(workdir / "data", ignore_errors=True)
    (workdir / "zhida.sqlite").unlink(missing_ok=True)
    return {"enterprises": w["enterprises"], "clauses": w["clauses"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=230_000)
    ap.add_argument("--clauses", type=int, default=4314)
    ap.add_argument("--incremental", type=int, default=100, help="enterprises re-matched one at a time")
    ap.add_argument("--skip-openfisca", action="store_true")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="write (or reuse) the workload in DIR")
    ap.add_argument("--json", action="store_true", help="one JSON object on the last line")
    ap.add_argument("--child", choices=PHASES, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        fig = {"publish": lambda: child_publish(args.workdir),
               "full": lambda: child_full(args.workdir),
               "incremental": lambda: child_incremental(args.workdir, args.incremental),
               "openfisca": lambda: child_openfisca(args.workdir)}[args.child]()
        (args.workdir / f"{args.child}.json").write_text(json.dumps(fig))
        return 0

    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    with tempfile.TemporaryDirectory(prefix="zhida-bench-match-") as tmp:
        workdir = args.keep or Path(tmp)
        fig = prepare(workdir, args.enterprises, args.clauses, log)
        fig |= spawn("publish", workdir, [])
        log(f"publish (parse, compile, cache the pack): {fig['pack_compile_s']:.1f} s, "
            f"{fig['pack_cache_mb']:.0f} MB cached")
        fig |= spawn("full", workdir, [])
        log(f"full run: {fig['full_run_s']:.1f} s (read {fig['read_s']:.1f}, pack {fig['pack_load_s']:.1f}, "
            f"match {fig['match_s']:.1f}, store {fig['store_s']:.1f}), peak {fig['peak_rss_mb']:,.0f} MB, "
            f"{fig['stored_pairs']:,} pairs stored ({fig['near_miss_pairs']:,} near misses of "
            f"{fig['near_miss_clauses']:,} marked clauses)")
        fig |= spawn("incremental", workdir, ["--incremental", str(args.incremental)])
        log(f"incremental: p50 {fig['incremental_p50_ms']:.0f} ms, p95 {fig['incremental_p95_ms']:.0f} ms "
            f"over {fig['incremental_calls']} enterprises (first call {fig['incremental_first_call_s']:.1f} s)")
        if not args.skip_openfisca:
            fig |= spawn("openfisca", workdir, [])
            log(f"OpenFisca on the same rules: {fig['openfisca_s']:.1f} s, peak {fig['openfisca_peak_rss_mb']:,.0f} MB")
    if args.json:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in fig.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
