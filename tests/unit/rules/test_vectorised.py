"""The programs of amount expressions (rules/evaluate/vectorised.py, run by kernel.py) give
what Polars gives: on hand-made expressions with nulls, on random rules through the whole batch engine,
and on every clause of the pack it accepts."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.rules.support import clause, compile_frame, policy
from tests.unit.rules.test_properties import enterprise, random_clause, random_policy

from zhida.catalog import load_schema
from zhida.rules.evaluate.engine import assumed_bounds, compile_policies
from zhida.rules.evaluate.rounding import round_long
from zhida.rules.evaluate.vectorised import INT64_NULL, Columns, fits, program, round_fen
from zhida.rules.lang.scaled import ROUNDING_MODES
from zhida.rules.model.policy import load_policies

POLICIES = Path(__file__).parents[3] / "policies"
f = pl.element().struct.field
I64 = pl.Int64()


def lit(v: int | bool | None, dtype: pl.DataType = I64) -> pl.Expr:
    return pl.lit(v, dtype=dtype)


DATA = pl.DataFrame({
    "a": [-7, 7, None, -8, 0, 12, None, 3, None],
    "b": [2, None, 3, None, -5, 12, None, 0, -1],
    "t": [True, None, False, True, None, False, True, None, False],
}, schema={"a": I64, "b": I64, "t": pl.Boolean()})
DTYPES = dict(DATA.schema)

EXPRESSIONS = {
    "arithmetic": (f("a") * lit(3) + f("b") - lit(1)).cast(I64),
    "floor division and remainder of negatives": f("a").floordiv(lit(3)) + f("a") % 2,
    "negation and abs": -f("a") + f("b").abs(),
    "clip": f("a").clip(lower_bound=lit(0)) + f("b").clip(lit(-1), lit(2)),
    "when with an unknown predicate": pl.when(f("a") > lit(0)).then(f("b")).otherwise(lit(100)),
    "when chains and a null otherwise": pl.when(f("a") < lit(0)).then(pl.lit(10).cast(I64)).otherwise(
        pl.when(f("a").is_not_null()).then(pl.lit(20).cast(I64)).otherwise(lit(None))),
    "kleene and": pl.when((f("a") > lit(0)) & (f("b") > lit(0))).then(lit(1)).otherwise(lit(2)),
    "kleene or, not": pl.when(~((f("a") > lit(0)) | f("t"))).then(lit(1)).otherwise(lit(2)),
    "and/or of unknowns is not the otherwise branch's business": pl.when(
        ((f("a") > lit(0)) | (f("b") > lit(0))).is_null()).then(lit(1)).otherwise(lit(2)),
    "false and unknown is known false": pl.when(
        ((f("a") > lit(0)) & (f("b") > lit(0))).is_null()).then(lit(1)).otherwise(lit(2)),
    "min/max_horizontal skip nulls": pl.min_horizontal(f("a"), f("b")) + pl.max_horizontal(f("a"), lit(1)),
    "strict min": pl.when(pl.any_horizontal(f("a").is_null(), f("b").is_null())).then(lit(None)).otherwise(
        pl.min_horizontal(f("a"), f("b"))),
    "boolean to integer": f("t").cast(I64) * lit(5),
    "fill_null": f("a").fill_null(lit(9)) + f("t").fill_null(lit(True, pl.Boolean())).cast(I64),
    "a constant": lit(42),
}


def polars_result(expr: pl.Expr, frame: pl.DataFrame = DATA) -> list[int | None]:
    """The expression as the batch engine ran it before: list.eval over a gathered struct."""
    out = frame.select(pl.struct(pl.all()).implode().list.eval(expr.cast(I64)).alias("x")).item()
    return out.to_list()


def numpy_result(expr: pl.Expr, frame: pl.DataFrame = DATA, rows: list[int] | None = None) -> list[int | None]:
    prog = program(expr.cast(I64), dict(frame.schema))
    assert prog is not None, "the expression should be supported"
    index = np.arange(frame.height) if rows is None else np.array(rows)
    result = prog.evaluate(Columns.of(frame, prog.fields), index)
    return [int(v) if ok else None for v, ok in zip(result.values, result.valid, strict=True)]


@pytest.mark.parametrize("expr", EXPRESSIONS.values(), ids=EXPRESSIONS.keys())
def test_numpy_gives_what_polars_gives(expr):
    assert numpy_result(expr) == polars_result(expr)


def test_rows_are_read_where_asked():
    expr = f("a") * lit(2)
    assert numpy_result(expr, rows=[5, 0, 2]) == [24, -14, None]


def test_a_row_beyond_the_frame_is_refused_before_the_kernel_reads_it():
    prog = program(f("a") * lit(2), DTYPES)
    assert prog is not None
    with pytest.raises(ValueError, match="beyond"):
        prog.evaluate(Columns.of(DATA, prog.fields), np.array([0, DATA.height]))


def test_a_column_that_holds_the_null_marker_as_data_keeps_a_validity_array():
    frame = pl.DataFrame({"a": [INT64_NULL, None, 5]}, schema={"a": I64})
    columns = Columns.of(frame, {"a": I64})
    assert columns.validity_row.tolist() == [0] and not columns.sentinel[0]
    assert numpy_result(f("a").clip(lower_bound=lit(0)), frame) == [0, None, 5]


UNSUPPORTED = {
    "Int128": f("a").cast(pl.Int128) * pl.lit(3, dtype=pl.Int128),
    "a code test": pl.when(f("a").is_in(pl.lit(pl.Series([1, 2]).implode()))).then(lit(1)).otherwise(lit(0)),
    "two untyped literals (Int32 in Polars)": f("a") + (pl.lit(2_000_000_000) * pl.lit(2)),
    "division by a column": f("a").floordiv(f("b")),
    "an unknown field": f("nope") * lit(2),
    "a string field": pl.when(f("s") == pl.lit("x")).then(lit(1)).otherwise(lit(0)),
}


@pytest.mark.parametrize("expr", UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_what_numpy_does_not_run_is_left_to_polars(expr):
    assert program(expr, {**DTYPES, "s": pl.String()}) is None


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=20),
       shift=st.integers(-3, 8), mode=st.sampled_from(ROUNDING_MODES), digits=st.sampled_from([2, 0, -2, -4]))
def test_rounding_in_numpy_is_the_rounding_of_polars(values, shift, mode, digits):
    up, div, factor = 10 ** max(0, -shift), 10 ** max(0, shift), 10 ** (2 - digits)
    assert fits(10**9, up, div, factor)
    long = pl.DataFrame({"raw": values, "up": up, "div": div, "mode": ROUNDING_MODES.index(mode), "factor": factor})
    expected = round_long(long, wide=False).get_column("amount_fen").to_list()
    assert round_fen(np.array(values, dtype=np.int64), up, div, mode, factor).tolist() == expected


def test_rounding_that_could_overflow_int64_is_not_done_in_numpy():
    assert not fits(None, 1, 1, 1)
    assert not fits(2**61, 10, 1, 1)
    assert not fits(10**15, 1, 10, 10**6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=random_clause(), firms=st.lists(enterprise(), min_size=1, max_size=12))
def test_the_batch_engine_gives_the_same_pairs_with_and_without_numpy(rule, firms):
    when, amount, extra = rule
    compiled, df = compile_frame(random_policy(when, amount, extra), firms)
    near = compiled.near_miss_orders("all")
    with_numpy = compiled.evaluate(df, near_misses=near, diagnose=True)
    without = compiled.evaluate(df, near_misses=near, diagnose=True, vectorised=False)
    assert with_numpy.to_dicts() == without.to_dicts(), f"when: {when}\namount: {amount}"
    assert with_numpy.schema == without.schema


def test_a_batch_mixing_numpy_and_polars_amounts_keeps_clause_then_row_order():
    regional = {"rate": {"label": "比例", "unit": "percent", "source": "测试",
                         "values": {"2020-01-01": {"default": "60%", "330302": "75%"}}}}
    doc = policy([
        clause("employees >= 0", "employees * 100", id="a"),
        clause("employees >= 0", 'ui_paid[last_year] * param("rate")', id="b"),
        clause("employees >= 1", "min(employees * 7, 30)", id="c"),
        clause("employees >= 5", 'ui_paid[last_year] * param("rate") / 7', id="d",
               rounding={"unit": "yuan", "mode": "down"}),
    ], parameters=regional)
    firms = [{"facts": {"employees": e, "district_code": d, "ui_paid": {"2023": "1000"}}}
             for e, d in [(3, "330302"), (None, "330303"), (0, None), (5, "330303")]]
    compiled, df = compile_frame(doc, firms)
    bounds = assumed_bounds(compiled.schema, compiled.requirements)
    assert [c.raw_amount(bounds).program is not None for c in compiled.clauses] == [True, False, True, False]
    with_numpy = compiled.evaluate(df)
    assert with_numpy.to_dicts() == compiled.evaluate(df, vectorised=False).to_dicts()
    assert with_numpy.select("clause", "row").rows() == [
        ("demo/a", 0), ("demo/a", 1), ("demo/a", 2), ("demo/a", 3),
        ("demo/b", 0), ("demo/b", 1), ("demo/b", 2), ("demo/b", 3),
        ("demo/c", 0), ("demo/c", 1), ("demo/c", 3), ("demo/d", 1), ("demo/d", 3)]
    d = with_numpy.filter(pl.col("clause") == "demo/d")
    assert d.get_column("amount_fen").to_list() == [8500, 8500]   # 1000 × 60% / 7, rounded down to the yuan


def test_the_pack_runs_its_amounts_in_numpy_except_regional_parameters():
    """A pin, so that a change of the compiler or of Polars that sends the pack's amounts back
    to list.eval is noticed: which clauses NumPy runs, and which it leaves, and why."""
    schema = load_schema()
    compiled = compile_policies(load_policies([POLICIES]), schema, datetime.date(2024, 6, 30))
    bounds = assumed_bounds(schema, compiled.requirements)
    left = sorted(c.key for c in compiled.clauses if c.raw_amount(bounds).program is None)
    assert left == ["cn-hrss-2023-job-expansion/expansion-2023-2024", "cn-hrss-2023-job-expansion/expansion-2025"]
    assert len(compiled.clauses) - len(left) >= 14
