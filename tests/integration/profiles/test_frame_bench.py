"""bench/frame.py runs on a small store and prints its figures as JSON."""

import json
import subprocess
import sys
from pathlib import Path

from .conftest import CITY_AS_OF

ROOT = Path(__file__).resolve().parents[3]


def test_frame_benchmark_prints_the_stated_keys_on_its_last_line(loaded_city):
    store, _ = loaded_city
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "frame.py"), "--store", str(store.root),
                           "--as-of", CITY_AS_OF.isoformat(), "--repeat", "1", "--samples", "2", "--few", "3",
                           "--json"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    fig = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"enterprises", "columns", "full_s", "one_s", "one_max_s", "few", "few_s", "speedup"} <= set(fig)
    assert fig["enterprises"] > 2900 and fig["columns"] > 0 and fig["few"] == 3
