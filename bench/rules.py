"""Rules benchmark: Zhida vs OpenFisca-Core on the workload of /work/shared/bench-spec.md.

    python bench/rules.py --enterprises 230000 --clauses 4314 [--json] [--skip-openfisca]
                          [--repeat K]

The parent process generates the workload and its exact expected outcome (bench/truth.py),
then runs each engine K times in a fresh child process (so that each peak RSS belongs to
one engine alone, inputs included) and compares the pairs each engine returns.
Times are medians over the K runs; peak RSS is the highest over the K runs.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import agreement  # noqa: E402
import truth as truth_mod  # noqa: E402
from workload import Workload, generate_workload  # noqa: E402

AS_OF = "2025-06-30"
ENGINES = ("zhida", "openfisca")
STATUSES = ("eligible", "unknown", "excluded", "near_miss")  # zhida.rules.evaluate.allocate.STATUSES


class PeakRss:
    """Resident-set high-water mark of this process, from the kernel (getrusage's ru_maxrss,
    as bench/match.py and bench/spark.py read it): exact, and nothing runs beside the engine
    to measure it. Until 2026-12-05 a thread sampled the RSS every 5 ms as well; it competed
    with the engine's threads for the GIL and added 0.1–0.4 s to Zhida's time
    (docs/benchmarks.md), and the kernel's figure was never below its samples."""

    def so_far_mb(self) -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- children: one engine, one fresh process ----------------------------------------------

def run_zhida(w: Workload, peak: PeakRss, diagnose: bool = False) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Compile the workload's policies and evaluate the whole population (the Zhida part)."""
    import datetime

    import zhida_io
    from zhida.rules.evaluate.engine import compile_policies
    from zhida.rules.model.policy import parse_policy

    seconds: dict[str, float] = {}
    df = zhida_io.frame(w.population)
    docs = zhida_io.policy_documents(w.clauses)
    schema = zhida_io.schema(w.population)
    rss_before = psutil.Process().memory_info().rss / 2**20

    t = time.perf_counter()
    policies = [parse_policy(d, "<bench>") for d in docs]
    compiled = compile_policies(policies, schema, datetime.date.fromisoformat(AS_OF))
    seconds["compile"] = time.perf_counter() - t

    t = time.perf_counter()
    # `diagnose` lists the missing inputs of every unknown pair: off unless asked for.
    takes_diagnose = "diagnose" in inspect.signature(compiled.evaluate).parameters
    results = compiled.evaluate(df, diagnose=diagnose) if takes_diagnose else compiled.evaluate(df)
    seconds["evaluate"] = time.perf_counter() - t
    seconds["rss_before_mb"] = rss_before

    seconds["peak_rss_evaluate_mb"] = peak.so_far_mb()

    # Physical codes, not strings: converting 20 M pairs through Python strings would cost
    # more memory than the engine itself.
    keys = zhida_io.clause_keys(w.clauses)
    pairs = {
        "clause": _positions(results.get_column("clause"), keys).astype(np.int32),
        "row": results.get_column("row").to_numpy().astype(np.int32),
        "status": np.array(STATUSES)[_positions(results.get_column("status"), STATUSES)],
        "amount_fen": results.get_column("amount_fen").fill_null(-1).to_numpy(),
    }
    return seconds, pairs


def _positions(s: pl.Series, names: list[str] | tuple[str, ...]) -> np.ndarray:
    """Index of each value in `names`, through the Enum's physical codes (String accepted)."""
    if not isinstance(s.dtype, pl.Enum):
        s = s.cast(pl.Enum(list(names)))
    where = {k: i for i, k in enumerate(names)}
    mapping = np.array([where[k] for k in s.dtype.categories.to_list()])
    return mapping[s.to_physical().to_numpy()]


def run_openfisca(w: Workload, peak: PeakRss, diagnose: bool = False) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    import openfisca_impl

    rss_before = psutil.Process().memory_info().rss / 2**20
    seconds, pairs = openfisca_impl.run(w.clauses, w.population)
    seconds["rss_before_mb"] = rss_before
    seconds["peak_rss_evaluate_mb"] = peak.so_far_mb()
    return seconds, pairs


def child(engine: str, workdir: Path, run: int, diagnose: bool) -> None:
    with open(workdir / "workload.pkl", "rb") as f:
        w = pickle.load(f)
    peak = PeakRss()
    seconds, pairs = (run_zhida if engine == "zhida" else run_openfisca)(w, peak, diagnose)
    seconds["peak_rss_mb"] = peak.so_far_mb()
    (workdir / f"{engine}-{run}.json").write_text(json.dumps(seconds))
    if run == 0:
        np.savez(workdir / f"{engine}-pairs.npz", **pairs)


# --- parent ---------------------------------------------------------------------------------

def spawn(engine: str, workdir: Path, runs: int, extra: list[str]
          ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    stats = []
    for k in range(runs):
        subprocess.run([sys.executable, __file__, "--child", engine, "--workdir", str(workdir),
                        "--run", str(k), *extra], check=True)
        stats.append(json.loads((workdir / f"{engine}-{k}.json").read_text()))
    summary: dict = {key: statistics.median(s[key] for s in stats) for key in stats[0]}
    main_phase = "evaluate" if engine == "zhida" else "total"
    summary["runs"] = [round(s[main_phase], 3) for s in stats]
    for key in ("peak_rss_mb", "peak_rss_evaluate_mb"):
        summary[key] = max(s[key] for s in stats)
    with np.load(workdir / f"{engine}-pairs.npz") as z:
        pairs = {k: z[k] for k in z.files}
    return summary, pairs


def report(fig: dict, as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=as_json)
    table = Table(title=f"Rules engine: {fig['enterprises']:,} enterprises × "
                        f"{fig['clauses']:,} clauses")
    for col, just in (("engine", "left"), ("phase", "left"), ("seconds", "right"),
                      ("× Zhida evaluate", "right"), ("peak RSS MB", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    z = fig["zhida_s"]
    table.add_row("Zhida", "compile (parse + type-check)", f"{fig['zhida_compile_s']:.2f}", "", "")
    table.add_row("Zhida", "evaluate: statuses + amounts, sparse pairs", f"{z:.2f}", "1.0",
                  f"{fig['peak_rss_mb']:,.0f}")
    if fig.get("openfisca_s") is not None:
        for phase, key in (("build system", "openfisca_build_s"),
                           ("set inputs", "openfisca_inputs_s"),
                           ("eligibility variables", "openfisca_eligibility_s"),
                           ("amount variables", "openfisca_amounts_s"),
                           ("gather eligible pairs", "openfisca_gather_s")):
            table.add_row("OpenFisca", phase, f"{fig[key]:.2f}", "", "")
        table.add_row("OpenFisca", "total", f"{fig['openfisca_s']:.2f}",
                      f"{fig['ratio_vs_openfisca']:.1f}", f"{fig['openfisca_peak_rss_mb']:,.0f}")
    console.print(table)
    console.print("Peak RSS: each engine in its own fresh child process, inputs included, the "
                  "kernel's high-water mark at the end of the timed phases (Zhida's process held "
                  f"{fig['zhida_rss_before_mb']:,.0f} MB before compiling).")
    agreement = Table(title="Agreement")
    agreement.add_column("figure")
    agreement.add_column("value", justify="right")
    for key, value in fig.items():
        if isinstance(value, bool | str | list):
            continue
        if key.startswith(("zhida_", "unknown_", "openfisca_", "expected_")) and not key.endswith(
                ("_s", "_mb")):
            agreement.add_row(key, f"{value:,.4f}" if isinstance(value, float) else f"{value:,}")
    console.print(agreement)
    if as_json:
        print(json.dumps(fig, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=230_000)
    ap.add_argument("--clauses", type=int, default=4314)
    ap.add_argument("--json", action="store_true", help="one JSON object on the last line")
    ap.add_argument("--skip-openfisca", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="fresh processes per engine (median)")
    ap.add_argument("--diagnose", action="store_true",
                    help="ask Zhida for the missing inputs of every unknown pair (slower)")
    ap.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--run", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.workdir, args.run, args.diagnose)
        return 0

    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    t = time.perf_counter()
    w = generate_workload(args.enterprises, args.clauses)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    expected = truth_mod.truth(w)
    truth_s = time.perf_counter() - t
    log(f"workload: {len(w.clauses)} clauses kept of {w.draws} drawn in {gen_s:.1f} s; "
        f"exact expected outcome in {truth_s:.1f} s")
    n = w.population.n
    fig: dict = {
        "enterprises": n, "clauses": len(w.clauses),
        "atoms": sum(len(c.all_atoms()) for c in w.clauses),
        "clauses_with_or_group": sum(bool(c.or_group) for c in w.clauses),
        "clauses_with_tier": sum(c.tier is not None for c in w.clauses),
        "clause_draws": w.draws,
        "expected_eligible_pairs": expected.count(truth_mod.ELIGIBLE),
        "expected_condition_true_pairs": expected.count(truth_mod.ELIGIBLE)
        + expected.count(truth_mod.UNKNOWN_AMOUNT),
        "expected_unknown_amount_pairs": expected.count(truth_mod.UNKNOWN_AMOUNT),
        "expected_unknown_condition_pairs": expected.count(truth_mod.UNKNOWN_CONDITION),
    }
    extra = ["--diagnose"] if args.diagnose else []
    with tempfile.TemporaryDirectory(prefix="zhida-bench-") as tmp:
        workdir = Path(tmp)
        with open(workdir / "workload.pkl", "wb") as f:
            pickle.dump(w, f, protocol=pickle.HIGHEST_PROTOCOL)
        zs, zp = spawn("zhida", workdir, args.repeat, extra)
        fig |= {"zhida_s": zs["evaluate"], "zhida_s_runs": zs["runs"],
                "zhida_compile_s": zs["compile"],
                "peak_rss_mb": zs["peak_rss_evaluate_mb"],
                "zhida_rss_before_mb": zs["rss_before_mb"],
                "zhida_peak_rss_process_mb": zs["peak_rss_mb"]}
        fig |= agreement.compare_zhida(expected, zp, n)
        fig |= {"openfisca_s": None, "ratio_vs_openfisca": None}
        if not args.skip_openfisca:
            os_, op = spawn("openfisca", workdir, args.repeat, [])
            fig |= {"openfisca_s": os_["total"], "openfisca_s_runs": os_["runs"],
                    "openfisca_peak_rss_mb": os_["peak_rss_evaluate_mb"],
                    "openfisca_peak_rss_process_mb": os_["peak_rss_mb"],
                    "ratio_vs_openfisca": os_["total"] / zs["evaluate"]}
            fig |= {f"openfisca_{k}_s": os_[k] for k in ("build", "inputs", "eligibility",
                                                          "amounts", "gather")}
            fig |= agreement.compare_openfisca(expected, op, zp, n)
    import zhida  # which engine ran: set PYTHONPATH to a snapshot to pin a commit

    fig["zhida_package"] = str(Path(zhida.__file__).parent)
    fig["repeat"] = args.repeat
    fig["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    fig["zhida_diagnose"] = args.diagnose
    report(fig, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
