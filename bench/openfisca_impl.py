"""The same clauses as an OpenFisca-Core tax-benefit system, built programmatically.

One entity, `enterprise`; 40 input variables (float for numbers, NaN when missing, which
OpenFisca stores as float32; Enum for codes; bool for certifications); per clause an
eligibility variable `elig_<id>` and an amount variable `amount_<id>`.
Semantics follow the spec: a comparison with NaN is false; a missing base counts as 0 and a
missing tier input gives the lowest step.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from openfisca_core.entities import build_entity
from openfisca_core.indexed_enums import Enum
from openfisca_core.periods import DateUnit
from openfisca_core.simulation_builder import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

from population import CODES, FLAGS, KIND, NUMERIC, Population
from workload import Atom, Clause

PERIOD = "2025"
Enterprise = build_entity("enterprise", "enterprises", "An enterprise", is_person=True)


def _input_variable(name: str, pop: Population) -> type[Variable]:
    attrs: dict = {"entity": Enterprise, "definition_period": DateUnit.YEAR, "label": name}
    if KIND[name] == "code":
        enum = Enum(name, [(f"v{i}", v) for i, v in enumerate(pop.code_values[name])])
        attrs |= {"value_type": Enum, "possible_values": enum, "default_value": enum.v0}
    elif KIND[name] == "bool":
        attrs["value_type"] = bool
    else:
        attrs["value_type"] = float
    return type(name, (Variable,), attrs)


def _atom(a: Atom, pop: Population) -> Callable:
    var = a.var
    if a.kind == "numeric":
        t = float(a.threshold)  # compared with the float32 input in float32 (NumPy 2 rules)
        if a.op == ">=":
            return lambda e, p: e(var, p) >= t
        return lambda e, p: e(var, p) <= t
    if a.kind == "code":
        table = np.isin(np.array(pop.code_values[var]), a.codes)
        return lambda e, p: table[np.asarray(e(var, p))]
    if a.op == "not":
        return lambda e, p: ~e(var, p)
    return lambda e, p: e(var, p)


def _clause_variables(c: Clause, pop: Population) -> tuple[type[Variable], type[Variable]]:
    ands = [_atom(a, pop) for a in c.atoms]
    ors = [_atom(a, pop) for a in c.or_group]

    def eligibility(enterprise, period, parameters):
        ok = ands[0](enterprise, period) if ands else True
        for f in ands[1:]:
            ok = ok & f(enterprise, period)
        if ors:
            any_ = ors[0](enterprise, period)
            for f in ors[1:]:
                any_ = any_ | f(enterprise, period)
            ok = ok & any_
        return ok

    rate = float(c.rate)
    cap = float(c.cap)
    tier = c.tier
    elig_name = f"elig_{c.id}"

    def amount(enterprise, period, parameters):
        eligible = enterprise(elig_name, period)
        base = enterprise(c.base, period)
        value = np.clip(np.where(np.isnan(base), 0, base) * rate, 0, cap)
        if tier is not None:
            x = enterprise(tier.var, period)
            m0, m1, m2 = (float(m) for m in tier.multipliers)
            lo, hi = (float(s) for s in tier.steps)
            value = value * np.where(x >= hi, m2, np.where(x >= lo, m1, m0))  # NaN → m0
        return np.where(eligible, value, 0)

    common = {"entity": Enterprise, "definition_period": DateUnit.YEAR}
    elig = type(elig_name, (Variable,), common | {
        "value_type": bool, "label": f"eligible for {c.id}", "formula": eligibility})
    amt = type(f"amount_{c.id}", (Variable,), common | {
        "value_type": float, "label": f"amount of {c.id}", "formula": amount})
    return elig, amt


def build_system(clauses: list[Clause], pop: Population) -> TaxBenefitSystem:
    tbs = TaxBenefitSystem([Enterprise])
    for name in (*NUMERIC, *CODES, *FLAGS):
        tbs.add_variable(_input_variable(name, pop))
    for c in clauses:
        for v in _clause_variables(c, pop):
            tbs.add_variable(v)
    return tbs


def run(clauses: list[Clause], pop: Population) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The spec's reference phases, timed. Returns (seconds per phase, eligible pairs)."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    tbs = build_system(clauses, pop)
    seconds["build"] = time.perf_counter() - t0

    t = time.perf_counter()
    sim = SimulationBuilder().build_default_simulation(tbs, pop.n)
    for v in NUMERIC:
        sim.set_input(v, PERIOD, pop.floats(v))
    for v in CODES:
        sim.set_input(v, PERIOD, pop.codes[v])
    for v in FLAGS:
        sim.set_input(v, PERIOD, pop.flags[v])
    seconds["inputs"] = time.perf_counter() - t

    t = time.perf_counter()
    eligible = [sim.calculate(f"elig_{c.id}", PERIOD) for c in clauses]
    seconds["eligibility"] = time.perf_counter() - t
    t = time.perf_counter()
    amounts = [sim.calculate(f"amount_{c.id}", PERIOD) for c in clauses]
    seconds["amounts"] = time.perf_counter() - t

    t = time.perf_counter()
    rows = [np.flatnonzero(e).astype(np.int32) for e in eligible]
    pairs = {
        "clause": np.concatenate([np.full(len(r), i, dtype=np.int32) for i, r in enumerate(rows)]),
        "row": np.concatenate(rows),
        "amount": np.concatenate([a[r] for a, r in zip(amounts, rows, strict=True)]),
    }
    seconds["gather"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    return seconds, pairs
