"""The received-benefits source (已获资金): what the platform has paid, as a fact source.

The disbursement ledger publishes it (zhida.workflow.received): each publication is one
batch of source `received` carrying a full snapshot of every paid payment — firm, clause,
period, amount in fen, date paid — in `received.parquet`. Like a list, the latest snapshot
known on `as_of` decides and is closed-world: a firm without a row in it received nothing.
No snapshot known on `as_of` makes `received(…)` and `received_amount(…)` unknown. Only payments
made on or before `as_of` count.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from zhida.profiles.facts import FactView
from zhida.profiles.store import Batch, ProfileStore
from zhida.rules.lang.frame import (
    ID_COLUMN,
    received_column,
    received_fen_column,
    received_on_column,
    received_total_column,
)
from zhida.rules.lang.periods import received_window_start

SOURCE = "received"
TABLE = "received"
SCHEMA: dict[str, pl.DataType] = {
    "uscc": pl.String(), "clause": pl.String(), "policy_id": pl.String(), "period": pl.String(),
    "amount_fen": pl.Int64(), "paid_on": pl.Date(), "payment": pl.String(),
}


def read(store: ProfileStore, batch: Batch) -> pl.LazyFrame:
    """The rows of one received snapshot."""
    return pl.scan_parquet(store.batch_dir(batch.id) / f"{TABLE}.parquet")


def latest(batches: Iterable[Batch]) -> Batch | None:
    """The newest snapshot among `batches` (by the date it was known, then commit order)."""
    mine = [b for b in batches if b.source == SOURCE]
    return max(mine, key=lambda b: (b.known_date, b.seq)) if mine else None


def snapshot(facts: FactView) -> Batch | None:
    """The snapshot that decides on the view's date; None if none was published by then.

    It does not go stale with age: a publication with nothing new is the same snapshot
    (publishing is idempotent), and its rows are exactly what had been paid when it was made."""
    return latest(facts.batches)


def columns(facts: FactView, spine: pl.DataFrame, keys: Iterable[str],
            totals: Iterable[tuple[str, str]] = ()) -> pl.DataFrame:
    """Row by row with `spine`: per clause key of `keys`, whether it was paid on or before as_of
    (null when no snapshot is known), the latest date paid and the amount paid that day; per
    (clause key, window) of `totals`, the amount paid on or before as_of inside the window
    (frame.received_total_column: 0 when nothing was, null when no snapshot is known)."""
    keys, totals = sorted(set(keys)), sorted(set(totals))
    names = [c for k in keys for c in (received_column(k), received_on_column(k), received_fen_column(k))]
    names += [received_total_column(k, w) for k, w in totals]
    batch = snapshot(facts)
    n = spine.height
    if batch is None:
        dtypes = {received_column(k): pl.Boolean() for k in keys} | {
            received_on_column(k): pl.Date() for k in keys}
        return pl.DataFrame({c: pl.repeat(None, n, dtype=dtypes.get(c, pl.Int64()), eager=True) for c in names})
    wanted = sorted(set(keys) | {k for k, _ in totals})
    paid = (facts.restrict(read(facts.store, batch))
            .filter(pl.col("clause").is_in(wanted) & (pl.col("paid_on") <= facts.as_of))
            .group_by("uscc", "clause", "paid_on").agg(pl.col("amount_fen").sum())
            .collect())
    rows = (paid.filter(pl.col("clause").is_in(keys)).group_by("uscc", "clause")
            .agg(pl.col("paid_on").max(), pl.col("amount_fen").sort_by("paid_on").last()))
    out_df = spine.select(ID_COLUMN)
    for k in keys:
        part = rows.filter(pl.col("clause") == k).select(
            ID_COLUMN, pl.col("paid_on").alias(received_on_column(k)),
            pl.col("amount_fen").alias(received_fen_column(k)))
        out_df = out_df.join(part, on=ID_COLUMN, how="left", maintain_order="left").with_columns(
            pl.col(received_on_column(k)).is_not_null().alias(received_column(k)))
    for k, w in totals:
        start = received_window_start(w, facts.as_of)
        inside = pl.col("clause") == k
        if start is not None:
            inside &= pl.col("paid_on") >= start
        col = received_total_column(k, w)
        part = paid.filter(inside).group_by(ID_COLUMN).agg(pl.col("amount_fen").sum().alias(col))
        out_df = out_df.join(part, on=ID_COLUMN, how="left", maintain_order="left").with_columns(
            pl.col(col).fill_null(0))
    return out_df.select(names)
