"""Spark engine benchmark: the same compiled rules on Spark local[2] and embedded, same inputs.

    python bench/spark.py --enterprises 230000 --clauses 4314 [--master local[2]]
                          [--partitions P] [--files F] [--warm] [--keep DIR] [--json]

The workload is bench/match.py's (bench/workload.py: the synthetic city and the generated
clause pack, one clause in 50 keeping its near misses); the parent generates it (or reuses it
from --keep DIR) and each engine runs in a fresh child process, one after the other:

* embedded — read the population frame (one Parquet file) → match_codes, as a match run does;
* spark — the frame written as Parquet partitioned by enterprise (P files of consecutive USCCs)
  → SparkEngine.match_frame: range partitions by USCC, mapInArrow tasks each running
  match_codes on their rows with the pack shipped once, the driver numbering the enterprises
  and assembling the results in the run's order. Session start-up (the JVM) is timed apart
  (`spark_start_s`); `spark_s` includes everything after it, the Python workers' start-up and
  pack restore included.

Both load the compiled pack from the pack cache filled beforehand (untimed), and write their
results (coded, with both dictionaries) for the parent, which checks that they are identical
(same rows in the same order, same digest). With --json the figures are printed as one JSON
object on the last line, with at least `spark_s`, `embedded_s`, `pairs` and `identical`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from match import AS_OF, _inputs, prepare  # noqa: E402

PHASES = ("embedded", "spark")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pack(workdir: Path):  # type: ignore[no-untyped-def]
    from zhida.matching.results import pack_cache_dir
    from zhida.packs.cache import PackCache

    schema, docs = _inputs(workdir)
    return PackCache(pack_cache_dir(workdir / "data"), freeze=True).load_or_compile(docs, schema, AS_OF)


def _save(matched, out: Path) -> None:  # type: ignore[no-untyped-def]
    from zhida.matching.run import results_digest

    out.mkdir(parents=True, exist_ok=True)
    matched.results.write_ipc(out / "results.arrow")
    matched.enterprises.to_frame().write_ipc(out / "enterprises.arrow")
    matched.clauses.write_ipc(out / "clauses.arrow")
    (out / "digest").write_text(results_digest(matched))


def child_embedded(workdir: Path) -> dict[str, float]:
    from zhida.matching.evaluate import match_codes

    compiled = _pack(workdir)
    t = time.perf_counter()
    df = pl.read_parquet(workdir / "profiles.parquet")
    matched = match_codes(compiled, df)
    fig = {"embedded_s": time.perf_counter() - t, "embedded_peak_rss_mb": _peak_mb()}
    _save(matched, workdir / "out-embedded")
    return fig


def child_spark(workdir: Path, master: str, partitions: int | None, files: int, warm: bool) -> dict[str, float]:
    import logging

    from zhida.matching.spark import SparkEngine, spark_session

    logging.basicConfig(format="  %(message)s")
    logging.getLogger("zhida.matching.spark").setLevel(logging.INFO)  # each partition's times
    compiled = _pack(workdir)
    frame_dir = workdir / f"profiles-by-enterprise-{files}"
    if not frame_dir.exists():  # P files of consecutive USCCs (the frame is sorted by USCC)
        df = pl.read_parquet(workdir / "profiles.parquet").sort("uscc")
        tmp = workdir / f".{frame_dir.name}.tmp"
        tmp.mkdir(exist_ok=True)
        step = -(-df.height // files)
        for i in range(files):
            df.slice(i * step, step).write_parquet(tmp / f"part-{i:05d}.parquet")
        tmp.rename(frame_dir)
    t = time.perf_counter()
    spark = spark_session(master, app_name="zhida bench")
    fig = {"spark_start_s": time.perf_counter() - t}
    try:
        t = time.perf_counter()
        engine = SparkEngine(spark, workdir / "staging", partitions)
        _, matched = engine.match_frame(frame_dir, compiled)
        fig["spark_s"] = time.perf_counter() - t
        fig["spark_partitions"] = partitions or spark.sparkContext.defaultParallelism
        if warm:  # again in the same session: workers started, the pack restored in each
            del matched
            t = time.perf_counter()
            _, matched = engine.match_frame(frame_dir, compiled)
            fig["spark_warm_s"] = time.perf_counter() - t
    finally:
        spark.stop()
    fig["spark_driver_peak_rss_mb"] = _peak_mb()
    _save(matched, workdir / "out-spark")
    return fig


def spawn(phase: str, workdir: Path, extra: list[str]) -> dict[str, float]:
    subprocess.run([sys.executable, __file__, "--child", phase, "--workdir", str(workdir), *extra], check=True)
    return json.loads((workdir / f"{phase}.json").read_text())


def compare(workdir: Path) -> dict[str, object]:
    a, b = workdir / "out-embedded", workdir / "out-spark"
    same = all(pl.read_ipc(a / f).equals(pl.read_ipc(b / f)) for f in ("results.arrow", "enterprises.arrow",
                                                                      "clauses.arrow"))
    results = pl.read_ipc(a / "results.arrow")
    counts = dict(results.group_by(pl.col("status").cast(pl.String)).len().iter_rows())
    return {"identical": same and (a / "digest").read_text() == (b / "digest").read_text(),
            "pairs": results.height, "eligible_pairs": counts.get("eligible", 0),
            "near_miss_pairs": counts.get("near_miss", 0), "unknown_pairs": counts.get("unknown", 0)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=230_000)
    ap.add_argument("--clauses", type=int, default=4314)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--partitions", type=int, help="Spark range partitions (default: the session's parallelism)")
    ap.add_argument("--files", type=int, default=8, help="Parquet files the partitioned frame is written as")
    ap.add_argument("--warm", action="store_true", help="run Spark twice in one session, report both")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="write (or reuse) the workload in DIR")
    ap.add_argument("--json", action="store_true", help="one JSON object on the last line")
    ap.add_argument("--child", choices=PHASES, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        fig = (child_embedded(args.workdir) if args.child == "embedded"
               else child_spark(args.workdir, args.master, args.partitions, args.files, args.warm))
        (args.workdir / f"{args.child}.json").write_text(json.dumps(fig))
        return 0

    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    with tempfile.TemporaryDirectory(prefix="zhida-bench-spark-") as tmp:
        workdir = args.keep or Path(tmp)
        fig: dict[str, object] = dict(prepare(workdir, args.enterprises, args.clauses, log))
        t = time.perf_counter()
        _pack(workdir)  # fill the pack cache: both engines then load it
        log(f"pack compiled and cached in {time.perf_counter() - t:.1f} s")
        fig |= spawn("embedded", workdir, [])
        log(f"embedded: {fig['embedded_s']:.1f} s (read the frame + match), peak {fig['embedded_peak_rss_mb']:,.0f} MB")
        extra = ["--master", args.master, "--files", str(args.files)]
        if args.partitions:
            extra += ["--partitions", str(args.partitions)]
        if args.warm:
            extra.append("--warm")
        fig |= spawn("spark", workdir, extra)
        log(f"spark {args.master}: {fig['spark_s']:.1f} s over {fig['spark_partitions']} partitions "
            f"(+ {fig['spark_start_s']:.1f} s session start), driver peak {fig['spark_driver_peak_rss_mb']:,.0f} MB"
            + (f"; again in the same session: {fig['spark_warm_s']:.1f} s" if args.warm else ""))
        fig |= compare(workdir)
        log(f"{fig['pairs']:,} pairs ({fig['eligible_pairs']:,} eligible, {fig['near_miss_pairs']:,} near misses); "
            f"identical: {fig['identical']}")
    if args.json:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in fig.items()}))
    return 0 if fig["identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
