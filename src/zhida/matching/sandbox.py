"""Policy sandbox (政策沙盘): a draft policy version against the current population, without
publishing — eligible / unknown counts, total cost against budget, by district / industry /
size, and the difference from the published version (who gains, who loses, how much).

Nothing is recorded and no event is written. The comparison is per enterprise over the whole
policy (clause ids may change between versions); 政策体检 (report_only) clauses are counted
apart because they are never paid. Exclusivity groups shared with *other* policies are not
applied here (each version is evaluated on its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from zhida.matching.evaluate import match_frame
from zhida.matching.run import enterprises_table, population_frame
from zhida.matching.whitelist import summarize_groups
from zhida.profiles.registry import Registry, load_registry
from zhida.profiles.store import ProfileStore
from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.lang.frame import Requirements
from zhida.rules.lang.schema import Schema
from zhida.rules.model.policy import Policy, money_fen


@dataclass(frozen=True)
class VersionFigures:
    content_hash: str
    eligible_enterprises: int
    unknown_enterprises: int
    eligible_pairs: int
    unknown_pairs: int
    cost_fen: int             # paid clauses only
    report_only_fen: int      # estimated tax reductions, never paid
    budget_fen: int | None
    by_group: pl.DataFrame    # 维度, 分组, 企业数, 金额（分） (paid clauses)

    @property
    def over_budget(self) -> bool:
        return self.budget_fen is not None and self.cost_fen > self.budget_fen


@dataclass(frozen=True)
class Simulation:
    as_of: date
    enterprises: int
    draft: VersionFigures
    published: VersionFigures | None
    changes: pl.DataFrame     # uscc, name, district, industry, size, old_fen, new_fen, delta_fen, change
    #                           change: gains (not eligible before) | loses (not eligible now) | more | less

    def gainers(self) -> pl.DataFrame:
        return self.changes.filter(pl.col("change") == "gains")

    def losers(self) -> pl.DataFrame:
        return self.changes.filter(pl.col("change") == "loses")

    @property
    def delta_fen(self) -> int:
        return int(self.changes.get_column("delta_fen").sum() or 0)


def _figures(policy: Policy, results: pl.DataFrame, people: pl.DataFrame, registry: Registry) -> VersionFigures:
    report_only = [c.key for c in policy.clauses if c.spec.mode == "report_only"]
    eligible = results.filter(pl.col("status") == "eligible")
    unknown = results.filter(pl.col("status") == "unknown")
    paid = eligible.filter(~pl.col("clause").is_in(report_only))
    per_firm = paid.group_by("uscc").agg(amount_fen=pl.col("amount_fen").sum()).join(people, on="uscc", how="left")
    return VersionFigures(
        policy.content_hash, eligible.get_column("uscc").n_unique(), unknown.get_column("uscc").n_unique(),
        eligible.height, unknown.height, int(paid.get_column("amount_fen").sum() or 0),
        int(eligible.filter(pl.col("clause").is_in(report_only)).get_column("amount_fen").sum() or 0),
        None if policy.spec.budget is None else money_fen(policy.spec.budget, "budget"),
        summarize_groups(per_firm, registry),
    )


def _paid_per_firm(policy: Policy, results: pl.DataFrame) -> pl.DataFrame:
    report_only = [c.key for c in policy.clauses if c.spec.mode == "report_only"]
    return (results.filter((pl.col("status") == "eligible") & ~pl.col("clause").is_in(report_only))
            .group_by("uscc").agg(fen=pl.col("amount_fen").sum()))


def simulate(store: ProfileStore, schema: Schema, as_of: date, draft: Policy, published: Policy | None = None, *,
             registry: Registry | None = None, zones_dir: Path | None = None) -> Simulation:
    """Evaluate `draft` (and `published`, when there is one) on the population known on `as_of`."""
    registry = registry or load_registry()
    new_set = compile_policies([draft], schema, as_of)
    old_set = compile_policies([published], schema, as_of) if published is not None else None
    requirements = Requirements()
    for c in (new_set, old_set):
        if c is not None:
            requirements.update(c.requirements)
    df = population_frame(store, requirements, as_of, schema, zones_dir)
    people = enterprises_table(df, as_of)
    new = match_frame(new_set, df, near_misses="none")
    draft_figures = _figures(draft, new, people, registry)
    if published is None or old_set is None:
        old = pl.DataFrame(schema={"uscc": pl.String, "fen": pl.Int64})
        published_figures = None
    else:
        old_results = match_frame(old_set, df, near_misses="none")
        old = _paid_per_firm(published, old_results)
        published_figures = _figures(published, old_results, people, registry)
    both = old.rename({"fen": "old_fen"}).join(_paid_per_firm(draft, new).rename({"fen": "new_fen"}),
                                               on="uscc", how="full", coalesce=True)
    changes = (both.with_columns(
        change=pl.when(pl.col("old_fen").is_null()).then(pl.lit("gains"))
        .when(pl.col("new_fen").is_null()).then(pl.lit("loses"))
        .when(pl.col("new_fen") > pl.col("old_fen")).then(pl.lit("more"))
        .when(pl.col("new_fen") < pl.col("old_fen")).then(pl.lit("less")))
        .filter(pl.col("change").is_not_null())
        .with_columns(pl.col("old_fen").fill_null(0), pl.col("new_fen").fill_null(0))
        .with_columns(delta_fen=pl.col("new_fen") - pl.col("old_fen"))
        .join(people, on="uscc", how="left")
        .sort(["delta_fen", "uscc"]))
    return Simulation(as_of, df.height, draft_figures, published_figures,
                      changes.select("uscc", "name", "district", "industry", "size", "old_fen", "new_fen",
                                     "delta_fen", "change"))

