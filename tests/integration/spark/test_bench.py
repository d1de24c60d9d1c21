"""bench/spark.py runs end to end on a tiny workload and prints its figures as JSON."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench" / "spark.py"


def test_spark_benchmark_prints_the_stated_keys_on_its_last_line():
    done = subprocess.run([sys.executable, str(BENCH), "--enterprises", "2000", "--clauses", "20", "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    fig = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"spark_s", "embedded_s", "pairs", "identical"} <= set(fig)
    assert fig["identical"] is True and fig["pairs"] > 0 and fig["enterprises"] == 2000
