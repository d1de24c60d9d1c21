"""政策拆解 benchmark: atom precision / recall / F1 and amount-component precision / recall of
zhida.extract against a gold set of clause sentences (bench/data/extract-gold.yaml, format in
docs/extract.md).

    python bench/extract.py [--gold FILE] [--json] [--verbose]

With --json the last line is one JSON object (atom_precision, atom_recall, atom_f1, …).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from zhida.extract import extract
from zhida.rules.model.policy import to_fraction

GOLD = Path(__file__).parent / "data" / "extract-gold.yaml"


def _value(v: Any) -> object:
    if isinstance(v, (bool, date)):
        return v
    if isinstance(v, list):
        return tuple(sorted(str(x) for x in v))
    if isinstance(v, (int, float)):
        return to_fraction(v, "gold")
    text = str(v)
    try:
        return to_fraction(text, "gold")
    except ValueError:
        return text


def gold_atom(a: dict[str, Any]) -> tuple[object, ...]:
    op, value = a["op"], _value(a["value"])
    if op == "==" and isinstance(value, str):
        op, value = "in", (value,)
    period = a.get("period")
    return (a["field"], op, value, None if period is None else str(period))


def gold_amount(m: dict[str, Any]) -> tuple[object, ...]:
    v = m["value"]
    if m["kind"] == "tier":
        return ("tier", (to_fraction(v[0], "gold"), to_fraction(v[1], "gold")))
    value = _value(v)
    return (m["kind"], value)


def _norm_pred(key: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(str(x) if isinstance(x, int) and not isinstance(x, bool) and not isinstance(x, Fraction) else x
                 for x in key)


def score(items: list[dict[str, Any]], verbose: bool = False) -> dict[str, Any]:
    tp = fp = fn = 0
    mtp = mfp = mfn = 0
    logic_ok = logic_n = 0
    for item in items:
        draft = extract(item["text"])
        pred = Counter(_norm_pred(a.key()) for a in draft.atoms())
        gold = Counter(gold_atom(a) for a in item.get("atoms") or [])
        hit = sum((pred & gold).values())
        tp, fp, fn = tp + hit, fp + sum(pred.values()) - hit, fn + sum(gold.values()) - hit
        mpred = Counter(m.key() for m in draft.amounts())
        mgold = Counter(gold_amount(m) for m in item.get("amount") or [])
        mhit = sum((mpred & mgold).values())
        mtp, mfp, mfn = mtp + mhit, mfp + sum(mpred.values()) - mhit, mfn + sum(mgold.values()) - mhit
        if "logic" in item:
            logic_n += 1
            groups = [g for c in draft.clauses for g in c.groups]
            got = "or" if len(groups) == 1 and len(groups[0]) > 1 else "and"
            logic_ok += got == item["logic"]
        if verbose and (pred != gold or mpred != mgold):
            print(f"— {item['id']}: {item['text']}")
            for k in (pred - gold):
                print(f"    多余 {k}")
            for k in (gold - pred):
                print(f"    遗漏 {k}")
            for k in (mpred - mgold):
                print(f"    金额多余 {k}")
            for k in (mgold - mpred):
                print(f"    金额遗漏 {k}")
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    mp = mtp / (mtp + mfp) if mtp + mfp else 0.0
    mr = mtp / (mtp + mfn) if mtp + mfn else 0.0
    return {"items": len(items), "atoms_gold": tp + fn, "atoms_found": tp + fp,
            "atom_precision": round(p, 4), "atom_recall": round(r, 4), "atom_f1": round(f1, 4),
            "amount_precision": round(mp, 4), "amount_recall": round(mr, 4),
            "logic_accuracy": round(logic_ok / logic_n, 4) if logic_n else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=GOLD, help="gold set (YAML, docs/extract.md)")
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ap.add_argument("--verbose", action="store_true", help="list every missed or extra atom")
    args = ap.parse_args(argv)
    items = YAML(typ="safe", pure=True).load(args.gold.read_text(encoding="utf-8"))["items"]
    overall = score(items, args.verbose)
    by_set = {s: score([i for i in items if i.get("set") == s]) for s in sorted({i.get("set", "") for i in items}) if s}
    rows = [("全部", overall), *by_set.items()]
    print(f"{'集合':<8}{'条目':>5}{'原子P':>8}{'原子R':>8}{'原子F1':>8}{'金额P':>8}{'金额R':>8}{'逻辑':>7}")
    for name, s in rows:
        logic = "—" if s["logic_accuracy"] is None else f"{s['logic_accuracy']:.2f}"
        print(f"{name:<8}{s['items']:>5}{s['atom_precision']:>8.3f}{s['atom_recall']:>8.3f}{s['atom_f1']:>8.3f}"
              f"{s['amount_precision']:>8.3f}{s['amount_recall']:>8.3f}{logic:>7}")
    if args.json:
        print(json.dumps({**overall, "by_set": by_set}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
