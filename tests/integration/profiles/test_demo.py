"""The demo city used by `zhida run`: generated and loaded once, reused after."""

from datetime import date

from zhida.profiles.demo import demo_store
from zhida.profiles.frame import build_population_frame
from zhida.rules.frame import Requirements


def test_demo_store_is_built_once_and_reused(tmp_path):
    as_of = date(2024, 6, 30)
    first = demo_store(as_of, base=tmp_path, enterprises=800, seed=5)
    batches = [b.id for b in first.batches()]
    assert len(batches) >= 10
    again = demo_store(as_of, base=tmp_path, enterprises=800, seed=5)
    assert [b.id for b in again.batches()] == batches  # nothing regenerated, nothing reloaded
    f = build_population_frame(again, Requirements(fields={("enterprise_size", "2023")}), as_of)
    assert 790 <= f.height <= 800
    assert set(f["enterprise_size@2023"].drop_nulls()) <= {"大型", "中型", "小型", "微型"}
