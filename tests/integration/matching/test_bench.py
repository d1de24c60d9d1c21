"""bench/match.py runs end to end on a tiny workload and prints its figures as JSON."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench" / "match.py"


def test_match_benchmark_prints_the_stated_keys_on_its_last_line():
    done = subprocess.run([sys.executable, str(BENCH), "--enterprises", "3000", "--clauses", "40",
                           "--incremental", "4", "--skip-openfisca", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    fig = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"enterprises", "clauses", "full_run_s", "incremental_p50_ms", "incremental_p95_ms",
            "peak_rss_mb"} <= set(fig)
    assert fig["enterprises"] == 3000 and fig["clauses"] == 40 and fig["stored_pairs"] > 0
