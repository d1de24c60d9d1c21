"""Sparse results and near misses on inline policies and fact documents (no disk)."""

from datetime import date

import polars as pl

from zhida.matching.evaluate import match_frame
from zhida.matching.outbox import diff_events
from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.lang.schema import Field, Schema
from zhida.rules.model.facts import build_frame
from zhida.rules.model.policy import parse_policy

AS_OF = date(2024, 6, 1)
SCHEMA = Schema.build([
    Field("employees", "参保人数", "count"),
    Field("revenue", "营业收入", "money", "year"),
    Field("district_code", "区县代码", "code"),
], [])


def policy(*clauses: dict) -> object:
    return parse_policy({
        "id": "demo", "title": "演示政策", "issuer": "演示", "document_number": "演示〔2024〕1号",
        "region": "330300", "source_url": "https://example.invalid/p", "valid_from": "2020-01-01",
        "department": "演示局", "clauses": list(clauses)})


def clause(cid: str, when: str, amount: str = "1000", near_misses: bool = True) -> dict:
    return {"id": cid, "title": cid, "mode": "exempt", "when": when, "amount": amount, "near_misses": near_misses}


def results(p, facts, near_misses="marked"):
    compiled = compile_policies([p], SCHEMA, AS_OF)
    df = build_frame(facts, compiled.requirements, SCHEMA, AS_OF)
    out = match_frame(compiled, df, near_misses=near_misses)
    return compiled, {(r["uscc"], r["clause"]): r for r in out.iter_rows(named=True)}


def test_one_failed_atom_with_the_others_true_is_a_near_miss_with_its_atom_and_amount():
    p = policy(clause("c", 'employees >= 10 and revenue[last_year] >= 100万 and district_code == "330302"',
                      "employees * 100"))
    _, got = results(p, [
        {"uscc": "A", "facts": {"employees": 8, "revenue": {"2023": "200万"}, "district_code": "330302"}},
        {"uscc": "B", "facts": {"employees": 8, "revenue": {"2023": "50万"}, "district_code": "330302"}},
        {"uscc": "C", "facts": {"employees": 12, "revenue": {"2023": "200万"}, "district_code": "330302"}},
        {"uscc": "D", "facts": {"employees": 8, "district_code": "330302"}},
    ])
    assert got[("A", "demo/c")]["status"] == "near_miss" and got[("A", "demo/c")]["atom"] == 0
    assert got[("A", "demo/c")]["amount_fen"] == 80000
    assert ("B", "demo/c") not in got            # two atoms fail: ineligible, not stored
    assert got[("C", "demo/c")]["status"] == "eligible" and got[("C", "demo/c")]["atom"] is None
    assert ("D", "demo/c") not in got            # one false, one unknown: not a near miss


def test_every_result_names_its_policy_version_and_only_stored_statuses_appear():
    p = policy(clause("c", "employees >= 10 and revenue[last_year] >= 100万"))
    compiled, got = results(p, [{"uscc": "A", "facts": {"employees": 1, "revenue": {"2023": "1万"}}},
                                {"uscc": "B", "facts": {"employees": 11}}])
    assert set(got) == {("B", "demo/c")}
    assert got[("B", "demo/c")]["status"] == "unknown"
    assert got[("B", "demo/c")]["policy_version"] == compiled.policies[0].content_hash


def test_near_misses_are_kept_for_marked_clauses_or_as_asked():
    p = policy(clause("marked", "employees >= 10 and revenue[last_year] >= 100万", "500"),
               clause("unmarked", "employees >= 20 and revenue[last_year] >= 100万", "900", near_misses=False),
               clause("lossy", "employees >= 9 and revenue[last_year] >= 100万", "employees * 100 - 10000",
                      near_misses=False))
    facts = [{"uscc": "A", "facts": {"employees": 8, "revenue": {"2023": "200万"}}}]
    _, marked = results(p, facts)
    assert {k[1]: (r["status"], r["atom"], r["amount_fen"]) for k, r in marked.items()} == {
        "demo/marked": ("near_miss", 0, 50000)}
    _, every = results(p, facts, near_misses="all")
    assert {k[1]: (r["status"], r["atom"], r["amount_fen"]) for k, r in every.items()} == {
        "demo/marked": ("near_miss", 0, 50000), "demo/unmarked": ("near_miss", 0, 90000),
        "demo/lossy": ("near_miss", 0, None)}   # a formula giving a loss is no amount
    _, none = results(p, facts, near_misses="none")
    assert none == {}


def test_single_atom_and_negated_group_clauses_have_no_near_misses():
    p = policy(clause("one", "employees >= 10"),
               clause("neg", "not (employees >= 10 or revenue[last_year] >= 100万)"),
               clause("dated", "as_of <= 2020-12-31 and employees >= 10"))
    compiled, got = results(p, [{"uscc": "A", "facts": {"employees": 12, "revenue": {"2023": "1万"}}},
                                {"uscc": "B", "facts": {"employees": 5, "revenue": {"2023": "1万"}}}],
                            near_misses="all")
    assert [c.near_miss_candidate for c in compiled.clauses] == [False, False, False]
    assert not [k for k, r in got.items() if r["status"] == "near_miss"]


def test_results_are_sorted_and_identical_for_equal_inputs():
    p = policy(clause("a", "employees >= 10 and revenue[last_year] >= 100万"), clause("b", "employees >= 1"))
    facts = [{"uscc": f"E{i:03d}", "facts": {"employees": i % 15, "revenue": {"2023": f"{i * 7}万"}}}
             for i in range(60)]
    compiled = compile_policies([p], SCHEMA, AS_OF)
    df = build_frame(facts, compiled.requirements, SCHEMA, AS_OF)
    first, second = match_frame(compiled, df), match_frame(compiled, df.sample(fraction=1.0, shuffle=True, seed=3))
    assert first.equals(second)
    assert first.select("uscc", "clause").equals(first.select("uscc", "clause").sort("clause", "uscc"))


def test_events_name_who_became_eligible_who_stopped_and_whose_amount_changed():
    cols = {"uscc": pl.String, "clause": pl.String, "policy_version": pl.String, "status": pl.String,
            "amount_fen": pl.Int64}
    old = pl.DataFrame([("A", "p/c", "h1", "eligible", 100), ("B", "p/c", "h1", "eligible", 100),
                        ("C", "p/c", "h1", "unknown", None), ("D", "p/c", "h1", "eligible", 5)],
                       schema=cols, orient="row")
    new = pl.DataFrame([("A", "p/c", "h1", "eligible", 100), ("C", "p/c", "h1", "eligible", 70),
                        ("D", "p/c", "h1", "eligible", 6), ("E", "p/c", "h1", "near_miss", None),
                        ("F", "p/c", "h1", "near_miss", 40)],
                       schema=cols, orient="row")
    old = pl.concat([old, pl.DataFrame([("F", "p/c", "h1", "near_miss", 30)], schema=cols, orient="row")])
    events = {r["uscc"]: r["kind"] for r in diff_events(old, new).iter_rows(named=True)}
    assert events == {"B": "no_longer_eligible", "C": "newly_eligible", "D": "amount_changed",
                      "E": "newly_near_miss"}
