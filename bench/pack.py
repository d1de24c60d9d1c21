"""Policy-pack benchmark: cold parse and compile, and the compiled-pack cache (packs/cache.py).

    python bench/pack.py [--workdir DIR] [--enterprises 230000 --clauses 4314] [--check 20000] [--json]

The workload is the one of bench/match.py: with --workdir, the workload.pkl and policies.json
it wrote (and profiles.parquet for --check); otherwise it is generated into a temporary
directory. Every phase runs in a fresh child process:

* cold — parse_policy over every document, then compile_policies (wall and CPU seconds;
  CPU is the steadier figure on a shared machine);
* miss — load_or_compile with an empty cache directory: parse, compile, write the entry;
* warm — load_or_compile in a new process with the entry present, from the documents to a
  CompiledPolicies that can evaluate; once with the collector as is (later collections still
  rescan the pack's objects: the time of one full collection right after is reported too)
  and once with freeze=True;
* files-miss, files-warm — the same from the pack written as YAML files (as policies/ holds
  them; load_or_compile_files keys on the files' bytes, so a hit parses no YAML);
* with --check N, the miss and warm phases evaluate the first N profiles and must agree.

With --json the figures are printed as one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

AS_OF = date(2025, 6, 30)
PHASES = ("cold", "miss", "warm", "warm-freeze", "files-miss", "files-warm")


def _inputs(workdir: Path) -> tuple[Any, list[dict[str, Any]]]:
    import zhida_io

    with open(workdir / "workload.pkl", "rb") as f:
        w = pickle.load(f)
    return zhida_io.schema(w.population), json.loads((workdir / "policies.json").read_text(encoding="utf-8"))


def _timed(f: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _check(compiled: Any, workdir: Path, rows: int, name: str) -> dict[str, float]:
    if not rows:
        return {}
    import polars as pl

    df = pl.read_parquet(workdir / "profiles.parquet", n_rows=rows)
    results = compiled.evaluate(df)
    results.write_parquet(workdir / f"check-{name}.parquet")
    fig = {f"{name}_check_pairs": float(results.height)}
    if name != "miss":
        assert results.equals(pl.read_parquet(workdir / "check-miss.parquet")), "cached pack disagrees"
        fig[f"{name}_check_equal"] = 1.0
    return fig


def child(phase: str, workdir: Path, check: int) -> dict[str, float]:
    import gc

    from zhida.packs.cache import SUFFIX, PackCache
    from zhida.rules.evaluate.engine import compile_policies
    from zhida.rules.model.policy import parse_policy

    schema, docs = _inputs(workdir)
    cache_dir = workdir / "cache"
    if phase == "cold":
        policies, pw, pc = _timed(lambda: [parse_policy(d, "<bench>") for d in docs])
        _, cw, cc = _timed(lambda: compile_policies(policies, schema, AS_OF))
        return {"parse_s": pw, "parse_cpu_s": pc, "compile_s": cw, "compile_cpu_s": cc}
    cache = PackCache(cache_dir, freeze=phase == "warm-freeze")
    if phase.startswith("files"):
        compiled, wall, cpu = _timed(lambda: cache.load_or_compile_files([workdir / "yaml"], schema, AS_OF))
    else:
        compiled, wall, cpu = _timed(lambda: cache.load_or_compile(docs, schema, AS_OF))
    expected = (0, 1) if phase.endswith("miss") else (1, 0)
    assert (cache.hits, cache.misses) == expected, (phase, cache.hits, cache.misses)
    key = phase.replace("-", "_")
    fig = {f"{key}_s": wall, f"{key}_cpu_s": cpu}
    if phase == "files-miss":
        return fig
    if phase == "miss":
        fig["entry_mb"] = sum(p.stat().st_size for p in cache_dir.glob(f"*{SUFFIX}")) / 1e6
    else:
        _, gc_s, _ = _timed(gc.collect)
        fig[f"{key}_then_full_gc_s"] = gc_s
    return fig | _check(compiled, workdir, check, key)


def _write_yaml(workdir: Path) -> None:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    (workdir / "yaml").mkdir()
    for doc in json.loads((workdir / "policies.json").read_text(encoding="utf-8")):
        with (workdir / "yaml" / f"{doc['id']}.yaml").open("w", encoding="utf-8") as fh:
            yaml.dump(doc, fh)


def spawn(phase: str, workdir: Path, check: int) -> dict[str, float]:
    subprocess.run([sys.executable, __file__, "--child", phase, "--workdir", str(workdir), "--check", str(check)],
                   check=True)
    return json.loads((workdir / f"{phase}.json").read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, help="workload.pkl and policies.json of bench/match.py")
    ap.add_argument("--enterprises", type=int, default=230_000)
    ap.add_argument("--clauses", type=int, default=4314)
    ap.add_argument("--check", type=int, default=0, help="evaluate this many profiles cold and warm, compare")
    ap.add_argument("--json", action="store_true", help="one JSON object on the last line")
    ap.add_argument("--child", choices=PHASES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        fig = child(args.child, args.workdir, args.check)
        (args.workdir / f"{args.child}.json").write_text(json.dumps(fig))
        return 0

    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    with tempfile.TemporaryDirectory(prefix="zhida-bench-pack-") as tmp:
        workdir = Path(tmp)
        if args.workdir:
            for name in ("workload.pkl", "policies.json", "profiles.parquet"):
                if (args.workdir / name).exists():
                    (workdir / name).symlink_to((args.workdir / name).resolve())
        else:
            import zhida_io
            from workload import generate_workload

            w = generate_workload(args.enterprises, args.clauses)
            with open(workdir / "workload.pkl", "wb") as f:
                pickle.dump(w, f, protocol=pickle.HIGHEST_PROTOCOL)
            zhida_io.frame(w.population).write_parquet(workdir / "profiles.parquet")
            (workdir / "policies.json").write_text(
                json.dumps(zhida_io.policy_documents(w.clauses), ensure_ascii=False), encoding="utf-8")
        _write_yaml(workdir)
        fig: dict[str, float] = {}
        for phase in PHASES:
            fig |= spawn(phase, workdir, args.check)
    log(f"cold: parse {fig['parse_s']:.2f} s ({fig['parse_cpu_s']:.2f} s CPU), "
        f"compile {fig['compile_s']:.2f} s ({fig['compile_cpu_s']:.2f} s CPU)")
    log(f"cache miss (parse, compile, write): {fig['miss_s']:.2f} s; entry {fig['entry_mb']:.1f} MB")
    log(f"warm load: {fig['warm_s']:.2f} s ({fig['warm_cpu_s']:.2f} s CPU), then one full collection "
        f"{fig['warm_then_full_gc_s']:.2f} s; with freeze: {fig['warm_freeze_s']:.2f} s "
        f"({fig['warm_freeze_cpu_s']:.2f} s CPU)")
    log(f"from YAML files: miss {fig['files_miss_s']:.2f} s ({fig['files_miss_cpu_s']:.2f} s CPU), "
        f"warm {fig['files_warm_s']:.2f} s ({fig['files_warm_cpu_s']:.2f} s CPU)")
    if args.check:
        log(f"results of the first {args.check:,} profiles: cached packs agree with the fresh compile")
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in fig.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
