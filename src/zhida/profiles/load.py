"""Load one department feed into the profile store: read, validate, commit (all or nothing)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from zhida.profiles.errors import FeedStructureError
from zhida.profiles.mapping import SourceMapping, load_mapping
from zhida.profiles.read import read_feed
from zhida.profiles.registry import Registry, load_registry
from zhida.profiles.store import Batch, ProfileStore
from zhida.profiles.validate import validate


@dataclass(frozen=True)
class LoadReport:
    batch: Batch
    already_loaded: bool
    rejects: pl.DataFrame
    warnings: pl.DataFrame

    @property
    def facts(self) -> int:
        return 0 if self.already_loaded else self.batch.facts


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        raise FeedStructureError(f"读不到文件 {path}：{e.strerror}；请检查路径和权限。") from e
    return h.hexdigest()


def load_feed(
    store: ProfileStore,
    source: str,
    path: Path,
    *,
    mapping: SourceMapping | None = None,
    mapping_path: Path | None = None,
    mapping_name: str | None = None,
    registry: Registry | None = None,
    known_on: date | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    """Load `path` as a feed of `source`. Loading the same file with the same mapping twice
    changes nothing. `known_on` is the date the platform knew these facts (default: today of
    `now`); as-of queries use it. Raises `FeedStructureError` when nothing can be loaded.
    """
    registry = registry or load_registry()
    mapping = mapping or load_mapping(source, registry, mapping_path, mapping_name)
    now = now or datetime.now(UTC)
    known = known_on or now.date()
    path = Path(path)
    step = progress or (lambda _msg: None)
    step("校验文件摘要")
    digest = file_digest(path)
    done = store.find(source, digest, mapping.digest)
    if done is not None:
        return LoadReport(done, True, store.rejects(done), store.warnings(done))
    step("读取文件")
    raw = read_feed(path, mapping)
    step("校验与类型转换")
    v = validate(raw, mapping, registry, known)
    facts = int(sum(v.data.get_column(f).count() for f in mapping.fields))
    by_reason = v.rejects.group_by("reason").len().sort("len", descending=True)
    batch = Batch(
        id=store.new_batch_id(now),
        source=source,
        file_name=path.name,
        file_sha256=digest,
        mapping_digest=mapping.digest,
        loaded_at=now.isoformat(timespec="seconds"),
        known_on=known.isoformat(),
        period=mapping.period,
        fields=list(mapping.fields),
        lists=sorted({n for ls in mapping.lists for n in ls.list_names}),
        rows_total=v.rows_total,
        rows_loaded=v.data.height,
        rows_rejected=v.rejects.get_column("row").n_unique(),
        facts=facts,
        list_entries=v.lists.height if mapping.lists else 0,
        warnings=v.warnings.height,
        rejects_by_reason=dict(zip(by_reason["reason"].to_list(), by_reason["len"].to_list(), strict=True)),
    )
    step("写入画像库")
    tables = {"facts": v.data, "lists": v.lists, "rejects": v.rejects, "warnings": v.warnings}
    committed = store.commit(batch, tables)
    return LoadReport(committed, committed.id != batch.id, v.rejects, v.warnings)
