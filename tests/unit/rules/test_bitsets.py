"""Code-membership atoms computed from bitmaps of their codes (rules/evaluate/bitsets.py)
are the atoms Polars' `is_in` gives: nulls, codes absent from the frame, long lists (the
complement), negation, and heights that end inside a word."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.rules.support import clause, compile_frame, policy

from zhida.rules.evaluate.bitsets import CodeBits, Membership
from zhida.rules.lang.scaled import members

CODES = [f"C{i:02d}" for i in range(12)]


def polars_atom(m: Membership) -> pl.Expr:
    test = pl.col(m.column).is_in(members(m.values, pl.String))
    return ~test if m.negated else test


@settings(max_examples=150, deadline=None)
@given(column=st.lists(st.one_of(st.none(), st.sampled_from(CODES)), max_size=200),
       tests=st.lists(st.tuples(st.lists(st.sampled_from([*CODES, "不在数据中"]), max_size=12), st.booleans()),
                      min_size=1, max_size=6))
def test_bitsets_give_what_is_in_gives(column, tests):
    df = pl.DataFrame({"code": column}, schema={"code": pl.String}).with_columns(pl.col("code").cast(pl.Categorical))
    atoms = {f"a{i}": Membership("code", tuple(values), negated) for i, (values, negated) in enumerate(tests)}
    bits = CodeBits(df)
    assert all(bits.usable(m) for m in atoms.values())
    expected = df.select(*[polars_atom(m).alias(name) for name, m in atoms.items()])
    got = bits.frame(atoms)
    assert got.schema == expected.schema
    assert got.to_dicts() == expected.to_dicts()
    # the engine hands the columns to Polars as they are: what Polars computes from them agrees
    assert got.select(pl.all().sum()).row(0) == expected.select(pl.all().sum()).row(0)
    assert got.select(pl.all().null_count()).row(0) == expected.select(pl.all().null_count()).row(0)


def test_a_column_of_strings_is_left_to_polars():
    df = pl.DataFrame({"code": ["C01", None]})
    assert not CodeBits(df).usable(Membership("code", ("C01",), False))
    assert not CodeBits(df).usable(Membership("absent", ("C01",), False))


def test_membership_atoms_are_recognised_from_their_compiled_expression():
    doc = policy([
        clause('district_code in ["330302", "330303"] and employees >= 10', "1000", id="a"),
        clause('district_code not in ["330381"]', "1000", id="b"),
        clause('starts_with(industry_code, ["C", "F5"])', "1000", id="c"),
        clause("employees in [10, 20]", "1000", id="d"),
    ])
    compiled, _ = compile_frame(doc, [{"facts": {}}])
    found = {(m.column, m.values, m.negated) for m in compiled.shared.members.values()}
    assert found == {("district_code", ("330302", "330303"), False), ("district_code", ("330381",), True)}


def test_the_engine_gives_the_same_pairs_with_bitsets_and_with_is_in():
    firms = [{"facts": {"district_code": d, "employees": 5 + i}}
             for i, d in enumerate(["330302", "330303", "330381", None, "330302", "330399"] * 20)]
    doc = policy([
        clause('district_code in ["330302", "330303"] and employees >= 10', "1000", id="a"),
        clause('district_code not in ["330381"] or employees >= 100', "1000", id="b"),
        clause('district_code in ["330302", "330303", "330381", "330399"]', "1000", id="c"),
    ])
    compiled, df = compile_frame(doc, firms)
    assert len(compiled.shared.members) == 3
    assert df.get_column("district_code").null_count() == 20
    with_bits = compiled.evaluate(df, method="batch")
    assert set(with_bits.get_column("status")) == {"eligible", "unknown"}
    assert with_bits.to_dicts() == compiled.evaluate(df, method="batch", vectorised=False).to_dicts()
