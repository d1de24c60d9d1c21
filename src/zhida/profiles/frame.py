"""Build the population frame the rules engine evaluates (docs/decisions/0001).

One row per enterprise of the population, column `uscc`, plus exactly the columns a set of
compiled policies requires, encoded per the contract, with only facts known on `as_of`.
The frame of a few enterprises (`usccs=`) reads only their rows and equals the population
frame filtered to them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from zhida.profiles import received
from zhida.profiles.derive import DERIVATIONS, DeriveContext
from zhida.profiles.facts import FactView
from zhida.profiles.lists import ListView
from zhida.profiles.registry import Registry, load_registry
from zhida.profiles.store import ProfileStore
from zhida.profiles.zones import COORDINATES, zone_membership
from zhida.rules.lang.frame import (
    ID_COLUMN,
    Requirements,
    field_column,
    list_column,
    list_since_column,
    tag_column,
    zone_column,
)
from zhida.rules.lang.schema import Schema

DTYPES = {"money": pl.Int64, "count": pl.Int64, "number": pl.Int64, "percent": pl.Int64,
          "bool": pl.Boolean, "date": pl.Date, "code": pl.String, "text": pl.String}


class _Builder:
    """Plans the columns first, then reads: a few enterprises' rows are read once per batch."""

    def __init__(self, store: ProfileStore, registry: Registry, as_of: date, zones_dir: Path | None,
                 usccs: Sequence[str] | None = None) -> None:
        self.registry = registry
        self.facts = FactView(store, registry, as_of, usccs)
        self.lists = ListView(self.facts)
        self.as_of = as_of
        self.zones_dir = zones_dir
        self.spine = pl.DataFrame()  # read once the columns are planned
        self.parts: list[tuple[bool, Callable[[], pl.DataFrame]]] = []  # (spine-aligned?, uscc-keyed frame)
        self.list_names: set[str] = set()  # lists and tags the parts read
        self.derived: list[tuple[str, pl.Expr]] = []  # in dependency order
        self.have: set[str] = {ID_COLUMN}
        self.stored: dict[str, dict[str | None, str]] = {}  # field -> period -> column
        self.aligned: list[pl.DataFrame] = []  # row-aligned with the spine, no key column
        self.loaded = frozenset(b.source for b in self.facts.batches)

    def need(self, need: tuple[str, ...]) -> None:
        kind, name = need[0], need[1]
        if kind == "field":
            self.field(name, need[2] or None)
        elif kind == "member":
            self._add(list_column(name), name, lambda c: self.lists.member(name, self.spine, c), aligned=True)
        elif kind == "tag":
            self._add(tag_column(name), name, lambda c: self.lists.member(name, self.spine, c), aligned=True)
        elif kind == "since":
            self._add(list_since_column(name), name, lambda c: self.lists.since(name, c))
        elif kind == "pick":
            self._add("__" + "|".join(need), name, lambda c: self.lists.pick(name, need[2], need[3], c))
        elif kind == "count":
            self._add("__" + "|".join(need), name, lambda c: self.lists.count_between(
                name, date.fromisoformat(need[2]), date.fromisoformat(need[3]), c, self.spine), aligned=True)

    def _add(self, column: str, list_name: str, make: Callable[[str], pl.DataFrame], aligned: bool = False) -> None:
        """Plan a list column; `aligned` when `make` returns it row by row with the spine (no join)."""
        if column not in self.have:
            self.have.add(column)
            self.list_names.add(list_name)
            self.parts.append((aligned, lambda: make(column)))

    def field(self, field_id: str, period: str | None) -> None:
        self.fields_batch(field_id, [period])

    def fields_batch(self, field_id: str, periods: list[str | None]) -> None:
        """Plan the columns of a field: stored fields are read later, once per batch."""
        f = self.registry.field(field_id)
        if f.key:
            return
        cols = {p: field_column(f.id, p if f.period != "none" else None) for p in periods}
        todo = {p: c for p, c in cols.items() if c not in self.have}
        if not todo:
            return
        self.have.update(todo.values())
        if f.derived:
            for p, c in todo.items():
                ctx = DeriveContext(self.as_of, self.loaded)
                expr = DERIVATIONS[f.derivation or ""](f, p, ctx)
                for n in _grouped(ctx.needs):
                    if n[0] == "fields":
                        self.fields_batch(n[1], list(n[2]))
                    else:
                        self.need(n)
                self.derived.append((c, expr.cast(DTYPES[f.type]).alias(c)))
        elif f.from_list:
            fl = f.from_list
            self.list_names.add(fl["list"])
            self.parts.append((False, lambda: self.lists.pick(fl["list"], fl["attr"], fl.get("pick", "latest"),
                                                              cols[periods[0]])))
        else:
            self.stored.setdefault(f.id, {}).update(todo)

    def _load_stored(self) -> None:
        """Read every planned stored field, one read per batch, aligned to the spine; where
        several batches carry a field, the first non-null value in precedence order wins."""
        keys = self.spine.select(ID_COLUMN)
        wanted: dict[str, list[str]] = {}  # batch id -> fields read from it
        ordered: dict[str, list[str]] = {}  # field -> batch ids, best first
        for fid in self.stored:
            ordered[fid] = [b.id for b in self.facts.precedence(self.registry.field(fid))]
            for bid in ordered[fid]:
                wanted.setdefault(bid, []).append(fid)
        by_id = {b.id: b for b in self.facts.batches}
        wide: dict[str, pl.DataFrame] = {}
        for bid, fids in wanted.items():
            periods = sorted({p for fid in fids for p in self.stored[fid] if p is not None})
            wide[bid] = self.facts.batch_columns(by_id[bid], fids, periods, keys)
        columns = []
        for fid, todo in self.stored.items():
            f = self.registry.field(fid)
            reported, lo, hi = self._reported(f)
            for p, c in todo.items():
                found = [pl.lit(wide[bid].get_column(c)) for bid in ordered[fid] if c in wide[bid].columns]
                value = pl.coalesce(found) if found else pl.lit(None, DTYPES[f.type])
                if reported is not None and (p is None or (lo is not None and lo <= p <= (hi or p))):
                    value = pl.when(reported).then(value.fill_null(0)).otherwise(value)
                columns.append(value.alias(c))
        # one query for all stored columns (not a few small ones per field)
        self.aligned.append(keys.with_columns(columns).drop(ID_COLUMN))

    def _reported(self, f: Any) -> tuple[pl.Expr | None, str | None, str | None]:
        """For `missing: zero`: whether the field's sources report each spine row, and the first
        and last period they report (a missing value of a reported row inside them is 0)."""
        if f.missing != "zero":
            return None, None, None
        covered, lo, hi = self.facts.coverage(f)
        return pl.lit(self.spine.get_column(ID_COLUMN).is_in(covered.get_column(ID_COLUMN).implode())), lo, hi

    def build(self, requirements: Requirements) -> pl.DataFrame:
        by_field: dict[str, list[str | None]] = {}
        for fid, period in sorted(requirements.fields, key=lambda x: (x[0], x[1] or "")):
            by_field.setdefault(fid, []).append(period)
        for fid, periods in by_field.items():
            self.fields_batch(fid, periods)
        for n in sorted(requirements.lists):
            self.need(("member", n))
        for n in sorted(requirements.list_since):
            self.need(("since", n))
        for n in sorted(requirements.tags):
            self.need(("tag", n))
        coordinates = list(COORDINATES) if requirements.zones else []
        self.facts.prefetch([*self.stored, *coordinates],
                            [b for n in sorted(self.list_names) if (b := self.lists.snapshot(n)) is not None])
        self.spine = self.facts.population()
        self._load_stored()
        # align every part to the spine on its own (narrow joins), then one horizontal concat
        keys = self.spine.select(ID_COLUMN)
        for aligned, make in self.parts:
            part = make()
            if not aligned:
                part = keys.join(part, on=ID_COLUMN, how="left", maintain_order="left")
            self.aligned.append(part.drop(ID_COLUMN))
        frame = pl.concat([self.spine, *self.aligned], how="horizontal")
        pending = list(self.derived)
        while pending:  # in waves: a derived field may read another derived field
            ready = [(c, e) for c, e in pending if not set(e.meta.root_names()) & {d for d, _ in pending}]
            if not ready:
                raise RuntimeError(f"derived fields depend on each other in a cycle: {[c for c, _ in pending]}")
            frame = frame.with_columns([e for _, e in ready])
            done = {c for c, _ in ready}
            pending = [(c, e) for c, e in pending if c not in done]
        zone_cols = {}
        for z in sorted(requirements.zones):
            zone_cols[zone_column(z)] = zone_membership(frame, z, self.zones_dir, self.spine, self.facts)
        if zone_cols:
            frame = frame.with_columns(**zone_cols)
        if requirements.received or requirements.received_totals:
            frame = pl.concat([frame, received.columns(self.facts, self.spine, requirements.received,
                                                       requirements.received_totals)], how="horizontal")
        return frame.select(ID_COLUMN, *requirements.columns())


def _grouped(needs: list[tuple[str, ...]]) -> list[tuple[Any, ...]]:
    """Field needs grouped per field (one read per field), other needs as they are."""
    fields: dict[str, list[str | None]] = {}
    out: list[tuple[Any, ...]] = []
    for n in needs:
        if n[0] == "field":
            fields.setdefault(n[1], []).append(n[2] or None)
        else:
            out.append(n)
    return [("fields", fid, tuple(dict.fromkeys(ps))) for fid, ps in fields.items()] + out


def build_population_frame(
    store: ProfileStore,
    requirements: Requirements,
    as_of: date,
    schema: Schema | None = None,
    *,
    registry: Registry | None = None,
    zones_dir: Path | None = None,
    usccs: Sequence[str] | None = None,
) -> pl.DataFrame:
    """One row per enterprise: `uscc` plus exactly `requirements.columns()`, as known on `as_of`.

    `schema` is accepted for symmetry with the rules' own frame builder; the registry (by
    default the shipped one) defines the fields. Zones are read from `zones_dir` (default
    `./zones`): one GeoJSON file per zone, named after the zone.

    With `usccs`, only those enterprises' rows are read (the filter is pushed into every
    Parquet scan) and the result equals the whole population's frame filtered to them: same
    columns and dtypes, rows sorted by uscc, a code outside the population simply absent, no
    code an empty frame of the same schema. Exact because everything else is per enterprise:
    source precedence and as-of visibility are per (enterprise, period); `missing: zero` takes
    the periods a source reports from its whole batches; list freshness from the snapshot; a
    zone from the enterprise's own coordinates; and every derivation in `derive.py` reads only
    the enterprise's own row (none looks at other enterprises — cross-enterprise facts such as
    `address_sole_claimant` arrive already computed in a feed). A derivation that looked at
    other enterprises would have to be computed on the whole population before filtering.
    """
    registry = registry or load_registry()
    if schema is not None:
        unknown = {f for f, _ in requirements.fields} - set(registry.fields)
        if unknown:
            from zhida.profiles.errors import RegistryError

            raise RegistryError(f"政策引用了字段注册表中没有的字段：{'、'.join(sorted(unknown))}")
    zdir = zones_dir if zones_dir is not None else Path.cwd() / "zones"
    return _Builder(store, registry, as_of, zdir, usccs).build(requirements)
