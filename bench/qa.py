"""Policy Q&A benchmark (政策问答): top-3 hit rate, hand-off accuracy and latency.

    python bench/qa.py [--questions FILE] [--policies DIR] [--today 2025-06-30] [--json] [--verbose]

The index is built from the policy files as publishing would store them (the validated
document and its content hash) plus the FAQ in src/zhida/assistant/faq.yaml. Each question of
the set (format in docs/assistant.md) is answered once after one warm-up question:

* top-3 hit rate — answerable questions whose expected policy is among the first three
  policies returned *and* that are answered (not handed off); retrieval alone (expected policy
  among the first three even when the answer hands off) is printed beside it;
* refusal accuracy — unanswerable questions (expect: null) that are handed off;
* latency — wall time of `answer` per question (segmentation, typo correction, BM25, answer);
  p50 / p95 over all questions. Index build time is printed apart.

With --json the figures are printed as one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]


def load_questions(path: Path) -> list[dict[str, Any]]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    qs = data.get("questions") if isinstance(data, dict) else None
    if not qs:
        sys.exit(f"{path}：没有 questions 列表（格式见 docs/assistant.md）")
    bad = [n for n, q in enumerate(qs, 1) if not isinstance(q, dict) or not q.get("q") or "expect" not in q]
    if bad:
        sys.exit(f"{path}：第 {', '.join(map(str, bad))} 条缺少 q 或 expect")
    return qs


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", type=Path, default=ROOT / "bench/data/qa-questions.yaml")
    ap.add_argument("--policies", type=Path, default=ROOT / "policies")
    ap.add_argument("--today", type=date.fromisoformat, default=date(2025, 6, 30))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="print every miss")
    args = ap.parse_args()

    from zhida.assistant import answer, build_index
    from zhida.rules.model.policy import load_policies

    questions = load_questions(args.questions)
    policies = load_policies([args.policies])
    t0 = time.perf_counter()
    index = build_index([(p.spec.model_dump(mode="json"), p.content_hash) for p in policies])
    build_ms = (time.perf_counter() - t0) * 1000
    answer(index, "稳岗返还", today=args.today)   # warm-up

    hits = found = answerable = refused = unanswerable = 0
    latencies, misses = [], []
    for q in questions:
        t = time.perf_counter()
        a = answer(index, str(q["q"]), today=args.today)
        latencies.append((time.perf_counter() - t) * 1000)
        if q["expect"] is None:
            unanswerable += 1
            ok = a.handoff is not None
            refused += ok
        else:
            answerable += 1
            found += q["expect"] in a.policies[:3]
            ok = a.answered and q["expect"] in a.policies[:3]
            hits += ok
        if not ok:
            misses.append((q["q"], q["expect"], a.policies[:3], round(a.confidence, 2), a.answered))

    result = {
        "questions": len(questions), "answerable": answerable, "unanswerable": unanswerable,
        "top3_hit_rate": round(hits / answerable, 4) if answerable else None,
        "top3_retrieval_rate": round(found / answerable, 4) if answerable else None,
        "refusal_accuracy": round(refused / unanswerable, 4) if unanswerable else None,
        "p50_ms": round(statistics.median(latencies), 2), "p95_ms": round(percentile(latencies, 95), 2),
        "index_build_ms": round(build_ms, 1), "documents": len(index.documents),
    }
    print(f"questions {len(questions)} ({answerable} answerable, {unanswerable} not in the pack); "
          f"index {len(index.documents)} documents built in {build_ms:.0f} ms")
    if answerable:
        print(f"top-3 hit rate      {hits}/{answerable} = {hits / answerable:.1%} "
              f"(retrieval alone, hand-offs counted: {found}/{answerable} = {found / answerable:.1%})")
    if unanswerable:
        print(f"hand-off accuracy   {refused}/{unanswerable} = {refused / unanswerable:.1%}")
    print(f"latency per question p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms")
    if args.verbose:
        for m in misses:
            print("  miss:", *m)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
