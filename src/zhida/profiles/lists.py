"""Dated lists (名单) and tags as known on a date.

Each load of a list is a full snapshot from its department (closed world): the latest
snapshot known on `as_of` decides. An entry counts as a membership on `as_of` when
listed_on <= as_of (or has no date, for tags), it was not removed on or before `as_of`, and it
has not expired. A list never loaded, or whose latest snapshot is older than its declared
freshness, gives unknown (null) membership.

Freshness and "was it ever loaded" are properties of the snapshot, so they are the same when
the fact view reads only a few enterprises (`FactView(usccs=...)`); only their entries are read.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from zhida.profiles.facts import FactView
from zhida.profiles.store import Batch

ENTRY_SCHEMA = {"uscc": pl.String, "listed_on": pl.Date, "expires_on": pl.Date,
                "removed_on": pl.Date, "kind": pl.String, "reason": pl.String, "ref": pl.String}


class ListView:
    def __init__(self, facts: FactView) -> None:
        self.facts = facts
        self.as_of = facts.as_of
        self._cache: dict[str, pl.DataFrame | None] = {}

    def entries(self, name: str) -> pl.DataFrame | None:
        """Entries of the latest fresh snapshot, listed on or before as_of; None if unknown."""
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def snapshot(self, name: str) -> Batch | None:
        """The batch whose snapshot of the list decides on `as_of`; None if never loaded or stale."""
        carrying = [b for b in self.facts.batches if name in b.lists]
        if not carrying:
            return None
        latest = max(carrying, key=lambda b: (b.known_date, b.seq))
        info = self.facts.registry.list_or_tag(name)
        fresh = info.freshness_days if info else None
        if fresh is not None and (self.as_of - latest.known_date) > timedelta(days=fresh):
            return None
        return latest

    def _load(self, name: str) -> pl.DataFrame | None:
        latest = self.snapshot(name)
        if latest is None:
            return None
        df = self.facts.list_entries(latest).filter(pl.col("list") == name).select(list(ENTRY_SCHEMA))
        return df.filter(pl.col("listed_on").is_null() | (pl.col("listed_on") <= self.as_of))

    def active(self, name: str) -> pl.DataFrame | None:
        e = self.entries(name)
        if e is None:
            return None
        d = self.as_of
        return e.filter(
            (pl.col("removed_on").is_null() | (pl.col("removed_on") > d))
            & (pl.col("expires_on").is_null() | (pl.col("expires_on") >= d))
        )

    def member(self, name: str, spine: pl.DataFrame, column: str) -> pl.DataFrame:
        """uscc + Boolean `column`, row by row with `spine`: true/false once loaded, null when unknown."""
        act = self.active(name)
        if act is None:
            return spine.select("uscc", pl.lit(None, pl.Boolean).alias(column))
        return spine.select("uscc", pl.col("uscc").is_in(act.get_column("uscc").implode()).alias(column))

    def since(self, name: str, column: str) -> pl.DataFrame:
        """uscc + the first listed_on (any entry, active or not) as `column`."""
        e = self.entries(name)
        if e is None:
            return pl.DataFrame(schema={"uscc": pl.String, column: pl.Date})
        return e.group_by("uscc").agg(pl.col("listed_on").min().alias(column))

    def pick(self, name: str, attr: str, pick: str, column: str) -> pl.DataFrame:
        """uscc + attribute of the latest (or first) entry by listed_on."""
        e = self.entries(name)
        if e is None:
            return pl.DataFrame(schema={"uscc": pl.String, column: ENTRY_SCHEMA[attr]})
        # stable: entries of one enterprise on the same date keep their stored order, so the
        # pick is the same whether the whole population or a few enterprises were read
        e = e.sort(["uscc", "listed_on"], descending=[False, pick == "latest"], nulls_last=True, maintain_order=True)
        return e.group_by("uscc", maintain_order=True).first().select("uscc", pl.col(attr).alias(column))

    def count_between(self, name: str, start: date, end: date, column: str,
                      spine: pl.DataFrame) -> pl.DataFrame:
        """uscc + number of entries with start <= listed_on <= end (0 once loaded; null if unknown),
        row by row with `spine`."""
        e = self.entries(name)
        if e is None:
            return spine.select("uscc", pl.lit(None, pl.Int64).alias(column))
        counts = e.filter(pl.col("listed_on").is_between(start, end)).group_by("uscc").len(name=column)
        return spine.select("uscc").join(counts, on="uscc", how="left", maintain_order="left").with_columns(
            pl.col(column).cast(pl.Int64).fill_null(0))
