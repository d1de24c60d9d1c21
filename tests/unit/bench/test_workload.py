"""The rules-benchmark workload generator (bench/workload.py), on small populations."""

from __future__ import annotations

import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import population as pop_mod
import truth as truth_mod
import workload as wl
import zhida_io

N, M = 20_000, 120


@pytest.fixture(scope="module")
def work() -> wl.Workload:
    return wl.generate_workload(N, M)


def test_population_is_the_same_for_the_same_seed_and_differs_for_another():
    a, b = pop_mod.generate_population(3000), pop_mod.generate_population(3000)
    c = pop_mod.generate_population(3000, seed=1)
    for v in pop_mod.NUMERIC:
        assert np.array_equal(a.ints[v], b.ints[v]) and np.array_equal(a.missing[v], b.missing[v])
    assert not np.array_equal(a.ints["revenue"], c.ints["revenue"])


def test_clauses_are_the_same_for_the_same_seed(work):
    again = wl.generate_workload(N, M, population=work.population)
    assert again.clauses == work.clauses and again.draws == work.draws


def test_population_has_40_variables_with_5_percent_missing_in_each_number(work):
    pop = work.population
    assert len(pop_mod.VARIABLES) == 40
    assert Counter(k for _, _, k in pop_mod.VARIABLES) == {
        "money": 17, "count": 5, "percent": 3, "code": 10, "bool": 5}
    for v in pop_mod.NUMERIC:
        assert 0.04 < pop.missing[v].mean() < 0.06, v
    assert np.median(pop.floats("employees")[~pop.missing["employees"]]) == 9
    assert 2.5e6 < np.nanmedian(pop.floats("revenue")) < 3.8e6


@pytest.mark.parametrize(("flag", "share"), [("high_tech_enterprise", .041), ("tech_sme", .081),
                                             ("green_factory", .012)])
def test_certification_shares_match_the_spec(work, flag, share):
    assert abs(work.population.flags[flag].mean() - share) < 0.3 * share


def test_frame_follows_the_population_frame_encoding(work):
    pop = work.population
    df = zhida_io.frame(pop)
    assert df.height == N and df.columns[0] == "uscc" and df["uscc"].n_unique() == N
    assert df.schema["revenue"] == pl.Int64 and df.schema["employees"] == pl.Int64
    assert df.schema["district"] == pl.String and df.schema["green_factory"] == pl.Boolean
    row = int(np.flatnonzero(~pop.missing["revenue"])[0])
    assert df["revenue"][row] == pop.ints["revenue"][row]  # fen, exactly
    assert df["revenue"].null_count() == pop.missing["revenue"].sum()
    pct = int(np.flatnonzero(~pop.missing["rd_intensity_pct"] & (pop.ints["rd_intensity_pct"] > 0))[0])
    assert df["rd_intensity_pct"][pct] == round(pop.floats("rd_intensity_pct")[pct] * 10**4)
    schema = zhida_io.schema(pop)
    assert schema.fields["rd_intensity_pct"].numeric_scale == 4
    assert schema.fields["revenue"].numeric_scale == 2


def test_clauses_have_2_to_6_atoms_a_numeric_one_and_no_variable_twice(work):
    for c in work.clauses:
        atoms = c.all_atoms()
        assert 2 <= len(atoms) <= 6
        assert any(a.kind == "numeric" for a in atoms)
        assert len({a.var for a in atoms}) == len(atoms)
        assert len(c.or_group) in (0, 2, 3)


def test_atom_kinds_come_out_near_the_spec_proportions(work):
    kinds = Counter(a.kind for c in work.clauses for a in c.all_atoms())
    total = sum(kinds.values())
    assert 0.50 < kinds["numeric"] / total < 0.72      # spec: 65% achieved
    assert 0.18 < kinds["code"] / total < 0.36         # spec: 27%
    assert 0.04 < kinds["flag"] / total < 0.16         # spec: 8%
    numeric = [a for c in work.clauses for a in c.all_atoms() if a.kind == "numeric"]
    assert sum(a.op == ">=" for a in numeric) / len(numeric) > 0.70


def test_no_less_or_equal_on_zero_inflated_variables(work):
    zero_inflated = {"rd_expense", "export_revenue", "loan_balance", "export_share_pct"}
    for c in work.clauses:
        for a in c.all_atoms():
            assert not (a.op == "<=" and a.var in zero_inflated), (c.id, a)


def test_thresholds_have_two_significant_digits(work):
    for c in work.clauses:
        for a in c.all_atoms():
            if a.kind == "numeric":
                assert len(a.threshold.normalize().as_tuple().digits) <= 2, a


def _float_rate(pop: pop_mod.Population, c: wl.Clause) -> float:
    """The clause's rate with plain float NumPy: NaN fails every comparison."""
    def atom(a: wl.Atom) -> np.ndarray:
        if a.kind == "numeric":
            x = pop.floats(a.var)
            return x >= float(a.threshold) if a.op == ">=" else x <= float(a.threshold)
        if a.kind == "code":
            return np.isin(np.array(pop.code_values[a.var])[pop.codes[a.var]], a.codes)
        return ~pop.flags[a.var] if a.op == "not" else pop.flags[a.var]
    ok = np.logical_and.reduce([atom(a) for a in c.atoms] or [np.ones(pop.n, bool)])
    if c.or_group:
        ok &= np.logical_or.reduce([atom(a) for a in c.or_group])
    return float(ok.mean())


def test_every_clause_rate_lies_in_the_window_and_is_what_it_claims(work):
    rates = np.array([c.rate_achieved for c in work.clauses])
    assert rates.min() >= 0.005 and rates.max() <= 0.03
    assert 0.009 < rates.mean() < 0.018   # spec: mean 1.31%
    for c in work.clauses[:40]:
        assert _float_rate(work.population, c) == pytest.approx(c.rate_achieved, abs=1e-12)


def test_some_clauses_have_an_or_group_and_about_37_percent_a_tier(work):
    assert 0.08 < sum(bool(c.or_group) for c in work.clauses) / M < 0.40
    assert 0.22 < sum(c.tier is not None for c in work.clauses) / M < 0.52


def _clause(**kw) -> wl.Clause:
    base = dict(id="c0001", atoms=(wl.Atom("revenue", ">=", Decimal("5.1E+5")),),
                or_group=(), base="revenue", rate=Decimal("0.035"), cap=Decimal("2E+6"),
                tier=None, target_rate=0.01, rate_achieved=0.01)
    return wl.Clause(**(base | kw))


def test_clause_renders_into_the_rules_language():
    c = _clause(
        atoms=(wl.Atom("revenue", ">=", Decimal("5.1E+5")),
               wl.Atom("rd_intensity_pct", "<=", Decimal("0.035")),
               wl.Atom("profit", "<=", Decimal("-1.2E+4"))),
        or_group=(wl.Atom("district", "in", codes=("330302", "330303")),
                  wl.Atom("green_factory", "not")),
        tier=wl.Tier("total_assets", (Decimal("1.2E+6"), Decimal("8.8E+6")),
                      (Decimal(1), Decimal("1.5"), Decimal(2))))
    assert zhida_io.render_when(c) == (
        'revenue >= 510000 and rd_intensity_pct <= 3.5% and profit <= -12000 and '
        '(district in ["330302", "330303"] or not green_factory)')
    assert zhida_io.render_amount(c) == (
        "min(max(revenue * 3.5%, 0), 2000000) * tier(total_assets, [1200000, 8800000], [1, 1.5, 2])")
    per_person = _clause(base="employees", rate=Decimal("1.5E+3"))
    assert zhida_io.render_amount(per_person) == "min(max(employees * 1500, 0), 2000000)"


def _one_row_workload(**ints) -> wl.Workload:
    pop = pop_mod.generate_population(1)
    for var, value in ints.items():
        pop.ints[var][0] = 0 if value is None else value
        pop.missing[var][0] = value is None
    return wl.Workload(pop, [], 0, np.arange(1))


def test_exact_amount_rounds_half_up_once_at_the_end():
    c = _clause(rate=Decimal("0.005"))
    fen, known = truth_mod.exact_amounts(c, _one_row_workload(revenue=100), np.arange(1))
    assert fen.tolist() == [1] and known.tolist() == [True]  # 1 yuan × 0.5% = 0.5 fen → 1 fen


def test_exact_amount_is_capped_then_multiplied_by_the_tier_step():
    c = _clause(tier=wl.Tier("employees", (Decimal(10), Decimal(50)),
                             (Decimal("0.5"), Decimal(1), Decimal("1.5"))))
    w = _one_row_workload(revenue=10_000_000_000, employees=50)   # 1e8 yuan × 3.5% > cap
    fen, _ = truth_mod.exact_amounts(c, w, np.arange(1))
    assert fen.tolist() == [2_000_000 * 100 * 3 // 2]


def test_missing_base_or_tier_input_makes_the_amount_unknown_but_counts_as_zero_for_openfisca():
    c = _clause(tier=wl.Tier("employees", (Decimal(10), Decimal(50)),
                             (Decimal(1), Decimal(2), Decimal(3))))
    fen, known = truth_mod.exact_amounts(c, _one_row_workload(revenue=None, employees=60),
                                         np.arange(1))
    assert known.tolist() == [False] and fen.tolist() == [0]
    fen, known = truth_mod.exact_amounts(c, _one_row_workload(revenue=100_000, employees=None),
                                         np.arange(1))
    assert known.tolist() == [False] and fen.tolist() == [3500]  # lowest step, × 1


def test_openfisca_system_computes_the_same_eligibility_as_the_exact_outcome():
    import openfisca_impl

    w = wl.generate_workload(3000, 20)
    seconds, pairs = openfisca_impl.run(w.clauses, w.population)
    expected = truth_mod.truth(w)
    condition_true = expected.status != truth_mod.UNKNOWN_CONDITION
    got = np.sort(pairs["clause"].astype(np.int64) * 3000 + pairs["row"])
    assert np.array_equal(got, expected.keys(3000)[condition_true])
    assert seconds["total"] > 0


def test_agreement_counts_a_wrong_amount_and_a_missing_pair():
    import agreement

    t = truth_mod.Truth(clause=np.array([0, 0, 1], np.int32), row=np.array([2, 5, 1], np.int32),
                        status=np.array([1, 2, 3], np.int8),
                        amount_fen=np.array([100, -1, -1]), amount_fen_zero_filled=np.array([100, 0, -1]))
    exact = {"clause": np.array([1, 0, 0], np.int32), "row": np.array([1, 5, 2], np.int32),
             "status": np.array(["unknown", "unknown", "eligible"]),
             "amount_fen": np.array([-1, -1, 100])}
    assert agreement.compare_zhida(t, exact, 10) == {
        "zhida_eligible_pairs": 1, "zhida_unknown_pairs": 2, "zhida_pairs_not_expected": 0,
        "zhida_pairs_missing": 0, "zhida_status_mismatches": 0, "zhida_amount_mismatches": 0,
        "unknown_amount_pairs": 1, "unknown_condition_pairs": 1}
    wrong = exact | {"amount_fen": np.array([-1, -1, 101])}
    assert agreement.compare_zhida(t, wrong, 10)["zhida_amount_mismatches"] == 1
    short = {k: v[1:] for k, v in exact.items()}
    assert agreement.compare_zhida(t, short, 10)["zhida_pairs_missing"] == 1
