"""A run's summary per policy: enterprises eligible and awaiting data, money, budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from zhida.matching.run import MatchRun
from zhida.rules.model.policy import Policy, money_fen


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

    def to_dict(self) -> dict[str, object]:
        return {"policy": self.policy.id, "title": self.policy.spec.title, "content_hash": self.policy.content_hash,
                "in_force": self.in_force, "eligible_enterprises": self.eligible_enterprises,
                "unknown_enterprises": self.unknown_enterprises, "eligible_pairs": self.eligible_pairs,
                "unknown_pairs": self.unknown_pairs, "amount_fen": self.amount_fen,
                "report_only_fen": self.report_only_fen, "budget_fen": self.budget_fen}


def summarize(run: MatchRun, results: pl.DataFrame, policies: Sequence[Policy]) -> list[PolicySummary]:
    """One line per policy of the run (named results as `run_results`/`current_results` give
    them); `policies` are the versions the run evaluated, in the order to show them."""
    versions = dict(run.policies)
    wrong = [p.id for p in policies if p.id in versions and versions[p.id] != p.content_hash]
    if wrong:
        raise ValueError(f"policies {wrong} are not the versions the run evaluated")
    report_only = [c.key for p in policies for c in p.clauses if c.spec.mode == "report_only"]
    keyed = results.with_columns(report_only=pl.col("clause").cast(pl.String).is_in(report_only))
    counts = keyed.group_by("policy", "status").agg(
        enterprises=pl.col("uscc").n_unique(), pairs=pl.len(),
        paid=pl.col("amount_fen").filter(~pl.col("report_only")).sum(),
        reported=pl.col("amount_fen").filter(pl.col("report_only")).sum())
    by = {(r["policy"], str(r["status"])): r for r in counts.iter_rows(named=True)}
    out = []
    for p in policies:
        eligible = by.get((p.id, "eligible"), {})
        unknown = by.get((p.id, "unknown"), {})
        out.append(PolicySummary(
            p, p.in_force(run.as_of), int(eligible.get("enterprises") or 0), int(unknown.get("enterprises") or 0),
            int(eligible.get("pairs") or 0), int(unknown.get("pairs") or 0), int(eligible.get("paid") or 0),
            int(eligible.get("reported") or 0),
            None if p.spec.budget is None else money_fen(p.spec.budget, "budget"),
        ))
    return out
