"""Frame benchmark: the frame of one (or a few) enterprises versus the whole population.

    python bench/frame.py --store /tmp/zhida-city230k/data/profiles --json

The store is built once (outside the repository) with
    zhida data generate --out /tmp/zhida-city230k/city --enterprises 230000 --seed 1 --as-of 2025-06-30
    zhida data load-city /tmp/zhida-city230k/city --data-dir /tmp/zhida-city230k/data
The real policy pack (`--policies`, default ./policies) is compiled for `--as-of` (not timed);
its requirements are the frame's columns (`--descriptive` adds those a match run adds, as
`rematch_enterprises` reads them). One process: the whole-population frame is built
`--repeat` times, then the frame of one enterprise for `--samples` enterprises spread over the
population, and of `--few` enterprises at once. Prints a table, then (with --json) one JSON
object on the last line with the keys enterprises, columns, full_s, one_s, one_max_s, few,
few_s, speedup (medians; speedup = full_s / one_s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True, help="a profile store directory (…/profiles)")
    ap.add_argument("--as-of", type=date.fromisoformat, default=date(2025, 6, 30))
    ap.add_argument("--policies", type=Path, default=Path("policies"))
    ap.add_argument("--repeat", type=int, default=3, help="whole-population builds")
    ap.add_argument("--samples", type=int, default=20, help="one-enterprise builds (different enterprises)")
    ap.add_argument("--few", type=int, default=10, help="enterprises in the few-enterprise build")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--descriptive", action="store_true",
                    help="add the descriptive columns a match run reads (what rematch_enterprises builds)")
    ap.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = ap.parse_args()

    from zhida import catalog
    from zhida.profiles.frame import build_population_frame
    from zhida.profiles.store import ProfileStore
    from zhida.rules.evaluate.engine import compile_policies
    from zhida.rules.model.policy import load_policies

    if not (args.store / "catalog.json").exists():
        raise SystemExit(f"{args.store} is not a profile store (no catalog.json); build one as the docstring says")
    store = ProfileStore(args.store)
    schema = catalog.load_schema()
    req = compile_policies(load_policies([args.policies]), schema, args.as_of).requirements
    if args.descriptive:
        from zhida.matching.evaluate import profile_requirements

        described = profile_requirements(args.as_of)
        described.update(req)
        req = described

    def build(usccs: list[str] | None = None) -> tuple[float, int, int]:
        t = time.perf_counter()
        df = build_population_frame(store, req, args.as_of, schema, usccs=usccs)
        return time.perf_counter() - t, df.height, df.width - 1

    full = [build() for _ in range(args.repeat)]
    _, rows, columns = full[0]
    everyone = build_population_frame(store, req, args.as_of, schema).get_column("uscc")
    picks = everyone.sample(args.samples + args.few, seed=args.seed).to_list()
    one = [build([u]) for u in picks[:args.samples]]
    assert all(height == 1 for _, height, _ in one)
    few = build(picks[args.samples:])

    full_s = statistics.median(s for s, _, _ in full)
    one_s = statistics.median(s for s, _, _ in one)
    what = "the pack's requirements" + (" and the descriptive columns" if args.descriptive else "")
    print(f"Frame benchmark — {rows:,} enterprises, {columns} columns ({what} on {args.as_of})")
    print(f"{'frame':<28} {'builds':>6} {'median s':>9} {'max s':>7}")
    print(f"{'whole population':<28} {len(full):>6} {full_s:>9.3f} {max(s for s, _, _ in full):>7.3f}")
    print(f"{'one enterprise':<28} {len(one):>6} {one_s:>9.3f} {max(s for s, _, _ in one):>7.3f}")
    print(f"{f'{args.few} enterprises at once':<28} {1:>6} {few[0]:>9.3f} {few[0]:>7.3f}")
    print(f"one enterprise is {full_s / one_s:,.0f}× faster than the whole population")
    result = {"enterprises": rows, "columns": columns, "full_s": round(full_s, 3), "one_s": round(one_s, 4),
              "one_max_s": round(max(s for s, _, _ in one), 4), "few": args.few, "few_s": round(few[0], 4),
              "speedup": round(full_s / one_s, 1)}
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
