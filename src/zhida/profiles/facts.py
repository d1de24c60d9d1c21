"""Resolve facts as known on a date: precedence between sources, history by period.

For one field, every committed batch known on or before `as_of` that carries it is a
candidate. The winner per (enterprise, period) is the first by: the field's declared source
precedence, then the latest `known_on`, then the latest commit, then (for a timeless field
read from a periodic feed) the latest period, then the later row. Losing values stay in the
store and are shown by `zhida data show` (see `profile.trace`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import polars as pl

from zhida.profiles.registry import FieldDef, Registry
from zhida.profiles.store import Batch, ProfileStore


def uscc_filter(usccs: Sequence[str]) -> pl.Expr:
    """A predicate for the rows of some enterprises, to push into a Parquet scan.

    Polars 2.1 skips row groups by their uscc statistics for `==` (and ranges), not for
    `is_in`: one enterprise, the common case of incremental re-matching, is an equality. Several
    are `is_in`: an `|` of equalities would prune too, but costs 2-3 times more per row, and
    the store's batches are not sorted by uscc, so every row group spans nearly all codes and
    nothing is pruned anyway (docs/profiles.md, "The frame of a few enterprises").
    """
    ids = sorted(set(usccs))
    if not ids:
        return pl.lit(False)
    if len(ids) == 1:
        return pl.col("uscc") == pl.lit(ids[0], pl.String)
    return pl.col("uscc").is_in(pl.Series(ids, dtype=pl.String).implode())


class FactView:
    """The store as known on `as_of`; with `usccs`, only those enterprises' rows are read.

    Batch metadata (which batches are visible, which sources are loaded, list freshness) and
    the periods a source reports are properties of whole batches and stay the same either way.

    A view of a few enterprises reads each batch once (`prefetch`): their handful of rows, with
    every column the build will ask for, kept in memory; the many small queries of a build then
    run on those rows instead of scanning the batch's `uscc` column again for each of them.
    """

    def __init__(self, store: ProfileStore, registry: Registry, as_of: date,
                 usccs: Sequence[str] | None = None) -> None:
        self.store = store
        self.registry = registry
        self.as_of = as_of
        self.batches = store.batches(known_by=as_of)
        self.usccs = None if usccs is None else sorted(set(usccs))
        self._coverage: dict[tuple[str, ...], tuple[pl.DataFrame, str | None, str | None]] = {}
        self._rows: dict[str, pl.DataFrame] = {}     # batch id -> the wanted enterprises' facts
        self._entries: dict[str, pl.DataFrame] = {}  # batch id -> their list entries

    def restrict(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """`lf` (with a `uscc` column) reduced to the wanted enterprises, if any were named."""
        return lf if self.usccs is None else lf.filter(uscc_filter(self.usccs))

    def scan(self, batch: Batch, columns: list[str]) -> pl.LazyFrame:
        """Some columns of a batch's facts (`uscc` among them), only the wanted enterprises' rows."""
        rows = self._rows.get(batch.id)
        if rows is not None and set(columns) <= set(rows.columns):
            return rows.lazy().select(columns)
        return self.restrict(self.store.facts(batch, columns))

    def list_entries(self, batch: Batch) -> pl.DataFrame:
        """The list entries a batch carries (every list), only the wanted enterprises'; read once."""
        if batch.id not in self._entries:
            self._entries[batch.id] = self.restrict(self.store.lists(batch)).collect()
        return self._entries[batch.id]

    def prefetch(self, fields: Iterable[str], list_batches: Iterable[Batch] = ()) -> None:
        """Read the wanted enterprises' rows once, for all the reads a build will make.

        The facts of the population's batches and of every batch carrying one of `fields`
        (with `uscc`, `period`, `_row` and those fields), and the list entries of
        `list_batches`, all in one parallel pass; later reads of them are served from memory.
        A whole-population view reads nothing here: its scans stay lazy, pushed down per read.
        """
        if self.usccs is None:
            return
        columns: dict[str, dict[str, None]] = {b.id: {"uscc": None} for b in self.population_batches()}
        for fid in fields:
            for b in self.batches_with_field(fid):
                columns.setdefault(b.id, {"uscc": None}).update(dict.fromkeys(["period", "_row", fid]))
        by_id = {b.id: b for b in self.batches}
        facts = [bid for bid, cols in columns.items()
                 if bid not in self._rows or not set(cols) <= set(self._rows[bid].columns)]
        lists = list({b.id: b for b in list_batches if b.id not in self._entries}.values())
        frames = pl.collect_all([*(self.restrict(self.store.facts(by_id[bid], list(columns[bid]))) for bid in facts),
                                 *(self.restrict(self.store.lists(b)) for b in lists)])
        self._rows.update(zip(facts, frames[:len(facts)], strict=True))
        self._entries.update(zip((b.id for b in lists), frames[len(facts):], strict=True))

    def batches_with_field(self, field_id: str) -> list[Batch]:
        return [b for b in self.batches if field_id in b.fields]

    def population_batches(self) -> list[Batch]:
        """The batches of the population source; all batches with facts if it was never loaded."""
        chosen = [b for b in self.batches if b.source == self.registry.population_source]
        return chosen or [b for b in self.batches if b.fields]

    def population(self) -> pl.DataFrame:
        """Enterprises of the population source; the union of all sources if it was never loaded."""
        chosen = self.population_batches()
        if not chosen:
            return pl.DataFrame(schema={"uscc": pl.String})
        frames = [self.scan(b, ["uscc"]) for b in chosen]
        return pl.concat(frames).unique().sort("uscc").collect()

    def candidates(self, f: FieldDef, periods: list[str] | None) -> pl.DataFrame:
        """uscc, period, value, and the ordering keys of every candidate fact of `f`."""
        parts = []
        order = f.sources
        for b in self.batches_with_field(f.id):
            lf = self.scan(b, ["uscc", "period", "_row", f.id]).filter(pl.col(f.id).is_not_null())
            if periods is not None:
                lf = lf.filter(pl.col("period").is_in(periods))
            rank = order.index(b.source) if b.source in order else len(order)
            parts.append(lf.rename({f.id: "value"}).with_columns(
                pl.lit(rank, pl.Int32).alias("_rank"), pl.lit(b.known_date).alias("_known"),
                pl.lit(b.seq, pl.Int32).alias("_seq"),
            ))
        if not parts:
            return pl.DataFrame()
        return pl.concat(parts, how="vertical_relaxed").collect()

    def resolve(self, f: FieldDef, periods: list[str] | None) -> pl.DataFrame:
        """One winning value per (uscc, period); period is null for timeless fields."""
        cand = self.candidates(f, periods)
        if cand.is_empty():
            return cand
        keys = ["uscc"] if f.period == "none" else ["uscc", "period"]
        single = cand.get_column("_seq").n_unique() == 1 and f.period != "none"
        if not single:
            cand = cand.sort(
                ["_rank", "_known", "_seq", "period", "_row"],
                descending=[False, True, True, True, True], nulls_last=True,
            ).unique(subset=keys, keep="first", maintain_order=False)
        if f.period == "none":
            return cand.select("uscc", "value")
        return cand.select("uscc", "period", "value")

    def field_columns(self, f: FieldDef, periods: list[str | None]) -> pl.DataFrame:
        """uscc + one column per requested period, named per docs/decisions/0001."""
        if f.period == "none":
            res = self.resolve(f, None)
            if res.is_empty():
                return pl.DataFrame(schema={"uscc": pl.String})
            return res.rename({"value": f.id})
        wanted = [p for p in periods if p is not None]
        res = self.resolve(f, wanted)
        if res.is_empty():
            return pl.DataFrame(schema={"uscc": pl.String})
        wide = res.pivot(on="period", index="uscc", values="value")
        return wide.rename({p: f"{f.id}@{p}" for p in wide.columns if p != "uscc"})

    def precedence(self, f: FieldDef) -> list[Batch]:
        """The batches carrying `f`, best first: source precedence, latest known_on, latest commit."""
        order = f.sources

        def rank(b: Batch) -> tuple[int, int, int]:
            return (order.index(b.source) if b.source in order else len(order), -b.known_date.toordinal(), -b.seq)

        return sorted(self.batches_with_field(f.id), key=rank)

    def batch_columns(self, batch: Batch, fields: list[str], periods: list[str], keys: pl.DataFrame) -> pl.DataFrame:
        """Several fields of one batch at once, aligned row by row with `keys` (a `uscc` frame).

        Columns are `field` or `field@period`. Keys are unique per (uscc, period) in a batch; a
        timeless field read from a periodic batch takes the latest period's value, then the
        later row.
        """
        timeless = [f for f in fields if self.registry.fields[f].period == "none"]
        periodic = [f for f in fields if f not in timeless]
        lf = self.scan(batch, ["uscc", "period", "_row", *fields])
        pieces = []
        if timeless and batch.period == "none":
            part = lf.select("uscc", *timeless).collect()
            pieces.append(keys.join(part, on="uscc", how="left", maintain_order="left").drop("uscc"))
        for f in timeless if batch.period != "none" else []:
            latest = (lf.filter(pl.col(f).is_not_null()).sort(["period", "_row"], descending=True)
                      .unique(subset=["uscc"], keep="first").select("uscc", f).collect())
            pieces.append(keys.join(latest, on="uscc", how="left", maintain_order="left").drop("uscc"))
        if periodic and periods:
            df = lf.filter(pl.col("period").is_in(periods)).select("uscc", "period", *periodic).collect()
            if self.usccs is not None:  # a few rows: one pivot (the scatter below is ~100 tiny ops)
                wide = df.pivot(on="period", index="uscc", values=periodic, separator="@")
                if len(periodic) == 1:  # one field: Polars names the columns by period alone
                    wide = wide.rename({c: f"{periodic[0]}@{c}" for c in wide.columns if c != "uscc"})
                if wide.width > 1:
                    pieces.append(keys.join(wide, on="uscc", how="left", maintain_order="left").drop("uscc"))
                return pl.concat(pieces, how="horizontal") if pieces else pl.DataFrame()
            # one join to find each record's row in `keys`, then scatter each period's values
            df = df.join(keys.with_row_index("_i"), on="uscc", how="inner")
            columns = []
            for (period,), part in df.partition_by("period", as_dict=True, include_key=False).items():
                at = part.get_column("_i")
                for f in periodic:
                    empty = pl.repeat(None, keys.height, dtype=part.schema[f], eager=True)
                    columns.append(empty.alias(f"{f}@{period}").scatter(at, part.get_column(f)))
            if columns:
                pieces.append(pl.DataFrame(columns))
        return pl.concat(pieces, how="horizontal") if pieces else pl.DataFrame()

    def coverage(self, f: FieldDef) -> tuple[pl.DataFrame, str | None, str | None]:
        """Enterprises the field's sources report, and the first/last period they report.

        Used for `missing: zero`: inside the covered periods a covered enterprise without a
        record has 0; outside them, or for an enterprise never reported, the value is unknown.
        The periods are those of the whole batches (from their Parquet statistics), also when
        only some enterprises are read: which months a source reports does not depend on whom
        we ask about; the enterprises are only the wanted ones.
        """
        batches = self.batches_with_field(f.id)
        if not batches:
            return pl.DataFrame(schema={"uscc": pl.String}), None, None
        key = tuple(b.id for b in batches)
        if key not in self._coverage:
            covered = pl.concat([self.scan(b, ["uscc"]) for b in batches]).unique().collect()
            bounds = [self.store.period_bounds(b) for b in batches]
            los = [lo for lo, _ in bounds if lo is not None]
            his = [hi for _, hi in bounds if hi is not None]
            self._coverage[key] = (covered, min(los, default=None), max(his, default=None))
        return self._coverage[key]

