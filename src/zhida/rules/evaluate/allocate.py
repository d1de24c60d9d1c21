"""Who is paid what after matching: exclusivity groups (同一事项不重复享受 / 就高) and a
policy's yearly cap per enterprise (e.g. 温州 总量控制). Runs on sparse results, with the same
code for one enterprise (explanations) and for the whole population."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from zhida.rules.lang.verdicts import STORED

if TYPE_CHECKING:
    from zhida.rules.evaluate.clause import CompiledClause
    from zhida.rules.evaluate.engine import CompiledPolicies

# near_miss: the condition fails on exactly one atom (engine.near_miss_atom); never paid, so
# exclusivity and caps leave such pairs alone.
STATUSES = tuple(s.value for s in STORED)      # the statuses a result row can hold (rules/lang/verdicts.py)
STATUS = pl.Enum(STATUSES)


def apply_exclusivity(results: pl.DataFrame, clauses: Sequence[CompiledClause]) -> pl.DataFrame:
    """同一事项不重复享受: within a group, one eligible clause per enterprise pays.

    `highest` (就高) keeps the largest amount, `priority` the lowest priority number;
    ties go to the clause listed first. The others become `excluded`.
    """
    groups = {c.key: c.clause.spec.exclusive for c in clauses if c.clause.spec.exclusive is not None}
    if not groups or results.is_empty():
        return results
    meta = pl.DataFrame({
        "clause": list(groups),
        "_group": [g.group for g in groups.values()],
        "_by_amount": [g.rule == "highest" for g in groups.values()],
        "_priority": [g.priority for g in groups.values()],
        "_order": [next(c.order for c in clauses if c.key == k) for k in groups],
    }).with_columns(pl.col("clause").cast(results.schema["clause"]))
    tagged = results.with_row_index("_i").join(meta, on="clause", how="left")
    contenders = tagged.filter(pl.col("_group").is_not_null() & (pl.col("status") == "eligible"))
    if contenders.is_empty():
        return results
    contenders = contenders.with_columns(
        _rank=pl.when(pl.col("_by_amount")).then(-pl.col("amount_fen")).otherwise(pl.col("_priority")))
    winners = contenders.sort(["row", "_group", "_rank", "_order"]).group_by(
        ["row", "_group"], maintain_order=True).first().select("_i")
    losers = contenders.join(winners, on="_i", how="anti").get_column("_i")
    return results.with_row_index("_i").with_columns(
        status=pl.when(pl.col("_i").is_in(losers.implode())).then(pl.lit("excluded", dtype=STATUS))
        .otherwise(pl.col("status"))).drop("_i")


def apply_enterprise_caps(df: pl.DataFrame, results: pl.DataFrame, compiled: CompiledPolicies) -> pl.DataFrame:
    """Each yearly cap per enterprise — one policy's, or one shared by the policies of a group —
    granted to its clauses in the order the pack lists them.

    If the cap applies but is unknown (or whether it applies is unknown), the amounts it
    could reduce become unknown.
    """
    order = {c.key: (c.policy.cap_id, c.order) for c in compiled.clauses}
    for cap_id, (amount, when) in compiled.caps.items():
        keys = [k for k, (p, _) in order.items() if p == cap_id]
        mine = results.filter(pl.col("clause").cast(pl.String).is_in(keys) & (pl.col("status") == "eligible"))
        if mine.is_empty():
            continue
        rows = mine.get_column("row").unique()
        caps = df.select(_cap_applies=when, _cap_fen=amount).with_row_index("row").filter(
            pl.col("row").is_in(rows.implode()))
        ranked = mine.with_columns(_ord=pl.col("clause").cast(pl.String).replace_strict(
            {k: o for k, (_, o) in order.items() if k in keys}, return_dtype=pl.Int64))
        ranked = ranked.join(caps.with_columns(pl.col("row").cast(pl.UInt32)), on="row").sort(["row", "_ord"])
        ranked = ranked.with_columns(_before=pl.col("amount_fen").cum_sum().over("row") - pl.col("amount_fen"))
        granted = pl.min_horizontal(pl.col("amount_fen"), pl.max_horizontal(pl.col("_cap_fen") - pl.col("_before"), 0))
        capped = ranked.with_columns(
            _new=pl.when(pl.col("_cap_applies").is_null() | (pl.col("_cap_applies") & pl.col("_cap_fen").is_null()))
            .then(pl.lit(None, dtype=pl.Int64))
            .when(pl.col("_cap_applies")).then(granted).otherwise(pl.col("amount_fen")),
        ).select("row", "clause", "_new")
        results = results.join(capped, on=["row", "clause"], how="left", maintain_order="left").with_columns(
            amount_fen=pl.when(pl.col("_new").is_not_null() | pl.col("clause").cast(pl.String).is_in(keys).not_()
                               | (pl.col("status") != "eligible"))
            .then(pl.coalesce("_new", "amount_fen")).otherwise(pl.lit(None, dtype=pl.Int64)),
        ).with_columns(
            status=pl.when((pl.col("status") == "eligible") & pl.col("amount_fen").is_null())
            .then(pl.lit("unknown", dtype=STATUS)).otherwise(pl.col("status")),
        ).drop("_new")
    return results
