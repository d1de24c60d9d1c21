"""The interpreter path that incremental re-matching takes for a few enterprises
(rules/evaluate/rowwise.py) gives the batch's results on the demo city and the real policy pack:
statuses, amounts, near misses of every clause, and a policy's per-enterprise cap (温州)."""

import polars as pl

from zhida.matching.evaluate import match_frame
from zhida.matching.run import population_frame
from zhida.rules.evaluate.engine import compile_policies

from .conftest import AS_OF


def test_every_enterprise_matched_row_by_row_equals_the_batch(city_store, policies, schema):
    compiled = compile_policies(policies, schema, AS_OF)
    df = population_frame(city_store, compiled.requirements, AS_OF, schema)
    batch = match_frame(compiled, df, near_misses="all", method="batch")
    assert set(batch.get_column("status").cast(pl.String)) >= {"eligible", "unknown", "near_miss"}
    assert compiled.caps  # 温州 总量控制 applies on this date
    for start in range(0, df.height, 7):  # frames of seven enterprises: "auto" takes the rows path
        few = df.slice(start, 7)
        got = match_frame(compiled, few, near_misses="all", method="auto")
        want = batch.filter(pl.col("uscc").is_in(few.get_column("uscc").implode()))
        assert got.equals(want), f"enterprises {few.get_column('uscc').to_list()}"
