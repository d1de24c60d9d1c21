"""The demo city used by `zhida run`: generated and loaded once, reused after."""

from datetime import date

from zhida.profiles.demo import demo_store
from zhida.profiles.frame import build_population_frame
from zhida.rules.lang.frame import Requirements


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


def test_a_city_too_small_for_some_lists_is_still_made(tmp_path):
    """A handful of firms leaves some lists empty (no 小巨人, no 僵尸企业): the feeds are still
    typed, the city loads, every firm is in it."""
    as_of = date(2024, 6, 30)
    for n in (1, 3, 20):
        store = demo_store(as_of, base=tmp_path / str(n), enterprises=n, seed=2026)
        f = build_population_frame(store, Requirements(fields={("enterprise_size", "2023")}), as_of)
        assert f.height == n
