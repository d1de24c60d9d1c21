"""One whole-population match: profiles × policies → sparse results and a per-policy summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from zhida.profiles.frame import build_population_frame
from zhida.profiles.store import ProfileStore
from zhida.rules.engine import CompiledPolicies, compile_policies
from zhida.rules.policy import Policy, money_fen
from zhida.rules.schema import Schema


@dataclass(frozen=True)
class PolicySummary:
    policy: Policy
    in_force: bool
    eligible_enterprises: int
    unknown_enterprises: int
    eligible_pairs: int
    unknown_pairs: int
    amount_fen: int          # total of eligible amounts (report_only clauses excluded)
    report_only_fen: int     # estimated tax reductions (政策体检), never paid
    budget_fen: int | None


@dataclass(frozen=True)
class MatchOutcome:
    as_of: date
    enterprises: int
    compiled: CompiledPolicies
    frame: pl.DataFrame
    results: pl.DataFrame    # row, clause, status, amount_fen, missing

    def with_ids(self) -> pl.DataFrame:
        """Results with the enterprise's USCC instead of the frame row number, and the
        content hash of the policy version that justified each result."""
        ids = self.frame.select("uscc").with_row_index("row").with_columns(pl.col("row").cast(pl.UInt32))
        versions = {p.id: p.content_hash for p in self.compiled.policies}
        return self.results.join(ids, on="row").drop("row").with_columns(
            policy_version=pl.col("clause").cast(pl.String).str.split("/").list.first()
            .replace_strict(versions, return_dtype=pl.String))


def match_population(store: ProfileStore, policies: Sequence[Policy], schema: Schema, as_of: date) -> MatchOutcome:
    compiled = compile_policies(policies, schema, as_of)
    df = build_population_frame(store, compiled.requirements, as_of, schema)
    return MatchOutcome(as_of, df.height, compiled, df, compiled.evaluate(df))


def summarize(outcome: MatchOutcome) -> list[PolicySummary]:
    keyed = outcome.results.with_columns(
        policy=pl.col("clause").cast(pl.String).str.split("/").list.first(),
        report_only=pl.col("clause").cast(pl.String).is_in(
            [c.key for c in outcome.compiled.clauses if c.clause.spec.mode == "report_only"]),
    )
    out = []
    for p in outcome.compiled.policies:
        mine = keyed.filter(pl.col("policy") == p.id)
        eligible = mine.filter(pl.col("status") == "eligible")
        unknown = mine.filter(pl.col("status") == "unknown")
        paid = eligible.filter(~pl.col("report_only")).get_column("amount_fen").sum()
        reported = eligible.filter(pl.col("report_only")).get_column("amount_fen").sum()
        out.append(PolicySummary(
            p, p.in_force(outcome.as_of),
            eligible.get_column("row").n_unique(), unknown.get_column("row").n_unique(),
            eligible.height, unknown.height, int(paid or 0), int(reported or 0),
            None if p.spec.budget is None else money_fen(p.spec.budget, "budget"),
        ))
    return out
