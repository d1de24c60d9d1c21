"""`bench/extract.py` on the repo's gold set: its last line is one JSON object with the figures,
and the extraction meets the issue's target (atom F1 ≥ 0.85) — a regression in the phrase
table or the reader fails here, not only in a benchmark nobody reran."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_extraction_benchmark_prints_its_figures_as_json_and_meets_the_target():
    out = subprocess.run([sys.executable, str(ROOT / "bench/extract.py"), "--json"], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert {"atom_precision", "atom_recall", "atom_f1"} <= figures.keys()
    assert figures["atom_f1"] >= 0.85, figures


def test_another_gold_file_in_the_same_format_is_scored(tmp_path):
    """A one-item set whose expected atom the extractor cannot produce scores recall 0."""
    gold = tmp_path / "gold.yaml"
    gold.write_text("""version: 1
items:
  - id: little-giant
    from: a test
    set: dev
    text: 首次认定的国家级专精特新“小巨人”企业，给予100万元奖励。
    atoms:
      - {field: "unregistered:从未登记的条件", op: "==", value: true}
    amount:
      - {kind: fixed, value: 100万}
""", encoding="utf-8")
    out = subprocess.run([sys.executable, str(ROOT / "bench/extract.py"), "--gold", str(gold), "--json"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["atom_recall"] == 0
