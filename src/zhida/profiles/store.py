"""The profile store: immutable, append-only batches of facts in Parquet, and a catalog.

Layout under `root`:
    catalog.json                 the committed batches (the commit point of every load)
    batches/<id>/facts.parquet   one row per source record: uscc, period, _row, _record_id, fields
    batches/<id>/lists.parquet   dated list entries carried by the batch
    batches/<id>/rejects.parquet quarantined defects (row, column, field, value, reason)
    batches/<id>/warnings.parquet

A batch directory that is not in the catalog does not exist for readers, so a load is one
transaction: the catalog is replaced atomically (write, fsync, rename) under a file lock.
See docs/decisions/0003-profile-store.md.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from zhida.profiles.errors import StoreError


@dataclass(frozen=True)
class Batch:
    """One committed load of one feed file."""

    id: str
    source: str
    file_name: str
    file_sha256: str
    mapping_digest: str
    loaded_at: str            # ISO timestamp (UTC) of the commit: the facts' load time
    known_on: str             # ISO date from which the platform knew these facts (as-of queries)
    period: str               # none | year | month
    fields: list[str]
    lists: list[str]
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    facts: int
    list_entries: int
    warnings: int
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    seq: int = 0

    @property
    def known_date(self) -> date:
        return date.fromisoformat(self.known_on)

    @property
    def loaded_datetime(self) -> datetime:
        return datetime.fromisoformat(self.loaded_at)


class ProfileStore:
    """Read and commit batches. Readers see only what the catalog lists."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- reading ---------------------------------------------------------------------------
    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.json"

    def batches(self, known_by: date | None = None) -> list[Batch]:
        """Committed batches in commit order, optionally only those known on or before a date."""
        if not self.catalog_path.exists():
            return []
        try:
            raw = json.loads(self.catalog_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise StoreError(f"画像库目录 {self.catalog_path} 已损坏（{e}）；请从备份恢复。") from e
        out = [Batch(**b) for b in raw["batches"]]
        return [b for b in out if known_by is None or b.known_date <= known_by]

    def find(self, source: str, file_sha256: str, mapping_digest: str) -> Batch | None:
        for b in self.batches():
            if (b.source, b.file_sha256, b.mapping_digest) == (source, file_sha256, mapping_digest):
                return b
        return None

    def batch_dir(self, batch_id: str) -> Path:
        return self.root / "batches" / batch_id

    def facts(self, batch: Batch, columns: list[str] | None = None) -> pl.LazyFrame:
        lf = pl.scan_parquet(self.batch_dir(batch.id) / "facts.parquet")
        return lf.select(columns) if columns is not None else lf

    def period_bounds(self, batch: Batch) -> tuple[str | None, str | None]:
        """The first and last `period` of a batch's facts (None, None for a timeless batch).

        Read from the Parquet footer's column statistics (every batch is written with them;
        `period` strings are 4 or 7 characters, never truncated), so it costs no data read;
        a file without usable statistics is scanned instead.
        """
        path = self.batch_dir(batch.id) / "facts.parquet"
        meta = pq.ParquetFile(path).metadata
        column = meta.schema.names.index("period")
        lo: str | None = None
        hi: str | None = None
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(column).statistics
            usable = stats is not None and (isinstance(stats.min, str) if stats.has_min_max else stats.num_values == 0)
            if not usable:
                bounds = pl.scan_parquet(path).select(
                    pl.col("period").min().alias("lo"), pl.col("period").max().alias("hi")).collect()
                return bounds["lo"][0], bounds["hi"][0]
            if stats.has_min_max:
                lo = stats.min if lo is None else min(lo, stats.min)
                hi = stats.max if hi is None else max(hi, stats.max)
        return lo, hi

    def lists(self, batch: Batch) -> pl.LazyFrame:
        return pl.scan_parquet(self.batch_dir(batch.id) / "lists.parquet")

    def rejects(self, batch: Batch) -> pl.DataFrame:
        return pl.read_parquet(self.batch_dir(batch.id) / "rejects.parquet")

    def warnings(self, batch: Batch) -> pl.DataFrame:
        return pl.read_parquet(self.batch_dir(batch.id) / "warnings.parquet")

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def new_batch_id(self, now: datetime) -> str:
        return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"

    def commit(self, batch: Batch, tables: dict[str, pl.DataFrame]) -> Batch:
        """Write the batch's tables, then add it to the catalog atomically. All or nothing.

        If an identical batch (source, file, mapping) was committed meanwhile, nothing changes
        and that batch is returned.
        """
        staging = self.root / "staging" / batch.id
        staging.mkdir(parents=True, exist_ok=True)
        try:
            for name, df in tables.items():
                df.write_parquet(staging / f"{name}.parquet", compression="zstd", statistics=True)
            with self._locked():
                existing = self.find(batch.source, batch.file_sha256, batch.mapping_digest)
                if existing is not None:
                    return existing
                committed = self.batches()
                batch = Batch(**{**asdict(batch), "seq": len(committed) + 1})
                final = self.batch_dir(batch.id)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging, final)
                self._write_catalog([*committed, batch])
            return batch
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _write_catalog(self, batches: list[Batch]) -> None:
        tmp = self.catalog_path.with_suffix(".json.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"version": 1, "batches": [asdict(b) for b in batches]}, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.catalog_path)
