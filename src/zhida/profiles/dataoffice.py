"""The data officer's view of the profile store (数据管理): every registered source with its
loads, freshness and quality figures, and one source's quarantined rows.

Only a user who may manage department data (`load_data`, the 数据局) reads it; the check is
here, so a page or a command only passes the acting user along. The figures are those of
`zhida.profiles.quality.source_quality` on the evaluation date; the loads listed are every
committed batch of the source, a batch whose extract date is after the evaluation date marked
as not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import polars as pl

from zhida.accounts import Permission, User, require
from zhida.profiles.errors import ProfileError
from zhida.profiles.profile import mask
from zhida.profiles.quality import SourceQuality, source_quality
from zhida.profiles.registry import Registry, Source
from zhida.profiles.store import Batch, ProfileStore

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")  # load times are shown as the officer's clock reads
PAGE = 200                                              # quarantined defects shown per page
LATEST = 3                                              # loads shown per source on the overview
# Reject-report field ids that are not registry fields: the parts of a row every feed may carry.
ROW_PARTS = {"period": "所属期", "list": "名单类型", "listed_on": "列入日期", "removed_on": "移出日期",
             "expires_on": "截止日期", "reason": "列入事由", "ref": "决定文号"}


class UnknownSource(ProfileError):
    """The source asked for is not in the field registry."""

    exit_code = 4


@dataclass(frozen=True)
class Load:
    """One committed load (batch) of one feed file."""

    id: str
    file_name: str
    loaded_at: datetime          # Beijing time
    known_on: date               # the extract date (数据截止日)
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    warnings: int
    counted: bool                # known on or before the evaluation date: in the figures


@dataclass(frozen=True)
class SourceStatus:
    """A registered source: who sends it, its loads (newest first) and its quality figures."""

    source: Source
    quality: SourceQuality
    loads: tuple[Load, ...]

    @property
    def state(self) -> str:
        """正常 (within its freshness), 过期 (older), 未导入 (never loaded by the date)."""
        if self.quality.fresh is None:
            return "未导入"
        return "正常" if self.quality.fresh else "过期"

    @property
    def reject_rate(self) -> float | None:
        """Rows quarantined, in % of the rows read (None: nothing read)."""
        q = self.quality
        return None if not q.rows_total else round(100.0 * q.rows_rejected / q.rows_total, 2)

    @property
    def mean_coverage(self) -> float | None:
        """The mean of its fields' coverage, in % of the population (None: no field)."""
        values = list(self.quality.coverage.values())
        return None if not values else round(sum(values) / len(values), 1)


@dataclass(frozen=True)
class SourcesOverview:
    as_of: date
    sources: tuple[SourceStatus, ...]

    def count(self, state: str) -> int:
        return sum(s.state == state for s in self.sources)

    @property
    def rows_rejected(self) -> int:
        return sum(s.quality.rows_rejected for s in self.sources)

    @property
    def latest_loads(self) -> list[tuple[SourceStatus, Load]]:
        """Each source's latest loads, newest first."""
        return sorted(((s, x) for s in self.sources for x in s.loads), key=lambda p: p[1].loaded_at, reverse=True)


@dataclass(frozen=True)
class Quarantined:
    """One defect of a quarantined row, as the load reported it (personal values masked)."""

    file_name: str
    row: int                     # the row number in the department's file
    column: str                  # the department's column
    field: str                   # the registry field (or row part) it was read into
    label: str
    value: str
    reason: str


@dataclass(frozen=True)
class SourceDetail:
    as_of: date
    status: SourceStatus
    coverage: tuple[tuple[str, str, float], ...]   # field id, label, % of the population
    reasons: tuple[tuple[str, int], ...]           # reason, defects; most frequent first
    quarantined: tuple[Quarantined, ...]           # this page of defects, newest load first
    quarantined_total: int                         # defects in every load of the source
    offset: int
    limit: int

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined in every load of the source (a row may have several defects)."""
        return sum(x.rows_rejected for x in self.status.loads)

    @property
    def next_offset(self) -> int | None:
        after = self.offset + self.limit
        return after if after < self.quarantined_total else None

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset > 0 else None


def sources_overview(store: ProfileStore, registry: Registry, as_of: date, *, actor: User) -> SourcesOverview:
    """Every registered source on `as_of`: freshness, its latest loads, rows read, loaded and
    quarantined, field coverage."""
    require(actor, Permission.LOAD_DATA)
    batches = store.batches()
    statuses = tuple(_status(registry.sources[q.source], q, batches, as_of, LATEST)
                     for q in source_quality(store, registry, as_of))
    return SourcesOverview(as_of=as_of, sources=statuses)


def source_detail(store: ProfileStore, registry: Registry, source_id: str, as_of: date, *, actor: User,
                  offset: int = 0, limit: int = PAGE) -> SourceDetail:
    """One source on `as_of`: every load, its quality figures, and its quarantined rows (each
    defect with file, row, column, field, value and reason), `limit` defects from `offset`."""
    require(actor, Permission.LOAD_DATA)
    src = registry.sources.get(source_id)
    if src is None:
        raise UnknownSource(f"数据来源“{source_id}”未在字段注册表中登记；可选："
                            f"{'、'.join(registry.sources)}。请从数据管理页选择来源。")
    quality = next(q for q in source_quality(store, registry, as_of) if q.source == source_id)
    mine = [b for b in store.batches() if b.source == source_id]
    status = _status(src, quality, mine, as_of, None)
    coverage = tuple(sorted(((fid, _label(registry, fid), pct) for fid, pct in quality.coverage.items()),
                            key=lambda c: c[2]))
    reasons = tuple(sorted(quality.rejects_by_reason.items(), key=lambda r: (-r[1], r[0])))
    rejects = _rejects(store, mine)
    offset = min(max(offset, 0), max(rejects.height - 1, 0))   # past the end: the last defect
    limit = min(max(limit, 1), PAGE)
    shown = tuple(Quarantined(file_name=r["file_name"], row=r["row"], column=r["column"] or "", field=r["field"] or "",
                              label=_label(registry, r["field"] or ""), value=_shown(registry, r["field"], r["value"]),
                              reason=r["reason"] or "")
                  for r in rejects.slice(offset, limit).iter_rows(named=True))
    return SourceDetail(as_of=as_of, status=status, coverage=coverage, reasons=reasons, quarantined=shown,
                        quarantined_total=rejects.height, offset=offset, limit=limit)


def _status(src: Source, quality: SourceQuality, batches: list[Batch], as_of: date, latest: int | None) -> SourceStatus:
    mine = sorted((b for b in batches if b.source == src.id), key=lambda b: (b.seq, b.loaded_at), reverse=True)
    loads = tuple(Load(id=b.id, file_name=b.file_name, loaded_at=b.loaded_datetime.astimezone(CHINA),
                       known_on=b.known_date, rows_total=b.rows_total, rows_loaded=b.rows_loaded,
                       rows_rejected=b.rows_rejected, warnings=b.warnings, counted=b.known_date <= as_of)
                  for b in mine[:latest])
    return SourceStatus(source=src, quality=quality, loads=loads)


def _rejects(store: ProfileStore, batches: list[Batch]) -> pl.DataFrame:
    """Every defect of the batches' quarantined rows, newest load first, then by row."""
    newest_first = sorted(batches, key=lambda b: (b.seq, b.loaded_at), reverse=True)
    parts = [store.rejects(b).with_columns(pl.lit(b.file_name).alias("file_name"), pl.lit(i).alias("_order"))
             for i, b in enumerate(newest_first) if b.rows_rejected]
    if not parts:
        return pl.DataFrame(schema={"row": pl.Int64, "column": pl.String, "field": pl.String, "value": pl.String,
                                    "reason": pl.String, "file_name": pl.String})
    return pl.concat(parts, how="vertical_relaxed").sort("_order", "row", "column").drop("_order")


def _label(registry: Registry, field_id: str) -> str:
    f = registry.fields.get(field_id)
    return f.label if f is not None else ROW_PARTS.get(field_id, field_id)


def _shown(registry: Registry, field_id: str | None, value: str | None) -> str:
    """A rejected value as a person may see it: personal information masked, secret hidden."""
    f = registry.fields.get(field_id or "")
    if value is None:
        return ""
    if f is not None and f.classification == "secret":
        return "（秘密级，不予显示）"
    return mask(value, f.mask) if f is not None and f.classification == "personal" else value
