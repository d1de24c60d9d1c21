"""Sparse match results of a population frame: eligible, unknown, excluded and near misses.

Everything else is ineligible and is not stored (never a dense enterprise × clause matrix).

Near misses (the condition fails on exactly one atom; defined in zhida.rules.evaluate.engine) are kept
for the clauses a run asks for: by default those marked `near_misses: true` in their policy
(`marked`), or every clause (`all`), or none. They are not kept for every clause by default
because they are not sparse: with clauses of two or three atoms a fifth of all pairs miss by
one atom (on the benchmark pack, 21% of a billion pairs). An enterprise's report computes its
own near misses over every clause, on demand (report.py).

Results come in two forms. `Matched` is what a run stores: integer codes (the enterprise's
index in the sorted USCC list, the clause's index in the sorted clause keys) sorted by
(clause, enterprise) — the order the engine produces them in, so nothing is sorted — with the
two dictionaries beside them; `Matched.named()` and `match_frame` give the same rows with USCCs
and clause keys (RESULT_SCHEMA), for small scopes and consumers. Both orders are (clause key,
USCC): independent of the frame's row order and of the order policies were given in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from zhida.rules.evaluate.allocate import STATUS, STATUSES
from zhida.rules.evaluate.engine import NEAR_MISS_MODES, CompiledPolicies
from zhida.rules.lang import frame

__all__ = [
    "CODED_SCHEMA",
    "NEAR_MISS_MODES",
    "RESULT_SCHEMA",
    "STATUS",
    "STATUSES",
    "Matched",
    "clause_table",
    "match_codes",
    "match_frame",
    "name_results",
    "profile_requirements",
    "size_column",
]

RESULT_SCHEMA: dict[str, pl.DataType] = {
    "uscc": pl.String(), "clause": pl.String(), "policy": pl.String(), "policy_version": pl.String(),
    "status": STATUS, "amount_fen": pl.Int64(), "atom": pl.Int16(),
}
CODED_SCHEMA: dict[str, pl.DataType] = {
    "enterprise": pl.UInt32(), "clause": pl.UInt32(), "status": STATUS, "amount_fen": pl.Int64(), "atom": pl.Int16(),
}
CLAUSE_TABLE_SCHEMA: dict[str, pl.DataType] = {"clause": pl.String(), "policy": pl.String(),
                                               "policy_version": pl.String()}
Progress = Callable[[str, int, int], None]   # (what, done, total)


def profile_requirements(as_of: date) -> frame.Requirements:
    """The descriptive columns every run keeps for whitelists and summaries: name, district,
    industry and size (划型 on last year's figures)."""
    return frame.Requirements(fields={("enterprise_name", None), ("district_code", None),
                                      ("industry_code", None), ("enterprise_size", str(as_of.year - 1))})


def size_column(as_of: date) -> str:
    return frame.field_column("enterprise_size", str(as_of.year - 1))


def by_key(compiled: CompiledPolicies) -> CompiledPolicies:
    """The same compiled clauses, evaluated in the order of their keys (exclusivity ties and
    caps still follow the order policies list them: they read `CompiledClause.order`)."""
    return dataclasses.replace(compiled, clauses=sorted(compiled.clauses, key=lambda c: c.key))


def clause_table(compiled: CompiledPolicies) -> pl.DataFrame:
    """clause (key), policy, policy_version of every compiled clause, in the order evaluated:
    a clause code is its row."""
    return pl.DataFrame({"clause": compiled.keys, "policy": [c.policy.id for c in compiled.clauses],
                         "policy_version": [c.policy.content_hash for c in compiled.clauses]},
                        schema=CLAUSE_TABLE_SCHEMA)


@dataclass(frozen=True)
class Matched:
    """A population's sparse results as integer codes, and the dictionaries that name them."""

    results: pl.DataFrame     # CODED_SCHEMA, sorted by (clause, enterprise)
    enterprises: pl.Series    # USCCs, sorted: an enterprise code is its position here
    clauses: pl.DataFrame     # clause_table(): a clause code is its row

    def named(self) -> pl.DataFrame:
        return name_results(self.results, self.enterprises, self.clauses)

    def counts(self) -> dict[str, int]:
        found = dict(self.results.group_by("status").len().iter_rows())
        return {s: int(found.get(s, 0)) for s in STATUSES}


def name_results(coded: pl.DataFrame, enterprises: pl.Series, clauses: pl.DataFrame) -> pl.DataFrame:
    """RESULT_SCHEMA rows of coded results (same order)."""
    e, c = coded.get_column("enterprise"), coded.get_column("clause")
    return pl.DataFrame({
        "uscc": enterprises.cast(pl.String).gather(e),
        "clause": clauses.get_column("clause").gather(c),
        "policy": clauses.get_column("policy").gather(c),
        "policy_version": clauses.get_column("policy_version").gather(c),
        "status": coded.get_column("status"), "amount_fen": coded.get_column("amount_fen"),
        "atom": coded.get_column("atom"),
    }).cast(RESULT_SCHEMA)  # type: ignore[arg-type]


def near_miss_orders(compiled: CompiledPolicies, near_misses: str | Collection[int]) -> frozenset[int]:
    return compiled.near_miss_orders(near_misses) if isinstance(near_misses, str) else frozenset(near_misses)


def match_codes(compiled: CompiledPolicies, df: pl.DataFrame, *, near_misses: str | Collection[int] = "marked",
                progress: Progress | None = None, method: str = "batch") -> Matched:
    """Every clause over every row of `df`, as codes sorted by (clause, enterprise): equal
    inputs give identical output, whatever the frame's row order.

    `near_misses`: `marked`, `all`, `none`, or the compile orders of the clauses whose near
    misses to keep. `method`: CompiledPolicies.evaluate's (`auto` for a few enterprises)."""
    compiled = by_key(compiled)
    df = compiled.prepare(df)
    usccs = df.get_column(frame.ID_COLUMN).cast(pl.String)
    if not usccs.is_sorted():  # sorted by USCC, a row number is the enterprise code
        order = usccs.arg_sort()
        df, usccs = df[order], usccs.gather(order)
    total = len(compiled.clauses)
    out = compiled.evaluate(df, near_misses=near_miss_orders(compiled, near_misses), method=method,
                            progress=None if progress is None else lambda done: progress("match", done, total))
    if progress:
        progress("write", 0, 1)
    if "atom" not in out.columns:
        out = out.with_columns(atom=pl.lit(None, dtype=pl.Int16))
    # evaluate gives its rows by clause (in key order), then by row: (clause, enterprise)
    coded = pl.DataFrame({
        "enterprise": out.get_column("row"), "clause": out.get_column("clause").to_physical(),
        "status": out.get_column("status"), "amount_fen": out.get_column("amount_fen"),
        "atom": out.get_column("atom"),
    }).cast(CODED_SCHEMA)  # type: ignore[arg-type]
    return Matched(coded, usccs.rename(frame.ID_COLUMN), clause_table(compiled))


def match_frame(compiled: CompiledPolicies, df: pl.DataFrame, *, near_misses: str | Collection[int] = "marked",
                progress: Progress | None = None, keys: Sequence[str] | None = None,
                method: str = "batch") -> pl.DataFrame:
    """match_codes() with USCCs and clause keys (RESULT_SCHEMA), sorted by (clause, uscc).
    `keys` keeps only those clauses' pairs (incremental updates of part of a set)."""
    matched = match_codes(compiled, df, near_misses=near_misses, progress=progress, method=method)
    coded = matched.results
    if keys is not None:
        wanted = set(keys)
        codes = [i for i, k in enumerate(matched.clauses.get_column("clause")) if k in wanted]
        coded = coded.filter(pl.col("clause").is_in(codes))
    return name_results(coded, matched.enterprises, matched.clauses)
