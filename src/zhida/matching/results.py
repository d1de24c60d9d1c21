"""Run results on disk: one directory per run under `<data dir>/match/runs/<run id>/`.

    results.arrow        sparse results as codes (evaluate.CODED_SCHEMA), sorted by (enterprise,
                         clause): Arrow IPC, LZ4, record batches of RECORD_BATCH rows
                         (decision 0007; runs written before it have results.parquet)
    enterprises.parquet  uscc, name, district, industry, size of every enterprise matched, and
                         where its results are (results_start, results_count), sorted by uscc:
                         an enterprise code is a row number here
    clauses.parquet      clause, policy, policy_version: a clause code is a row number here
    updates/<n>.parquet  incremental updates (see incremental.py; evaluate.RESULT_SCHEMA, named),
                         listed in the database

Policy versions are archived by content hash under `<data dir>/match/policies/<hash>.json`
(the validated policy document), so a run can be reproduced after its YAML file changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from zhida.matching.errors import NotReproducible
from zhida.rules.policy import Policy, parse_policy

ROW_GROUP = 50_000
RECORD_BATCH = 65_536
RESULTS = "results.arrow"
LEGACY_RESULTS = "results.parquet"  # runs recorded before decision 0007


def match_dir(data_dir: Path) -> Path:
    return data_dir / "match"


def run_dir(data_dir: Path, run_id: str) -> Path:
    return match_dir(data_dir) / "runs" / run_id


def digest(frames: Iterable[tuple[str, pl.DataFrame]]) -> str:
    """SHA-256 of named frames' contents: column names, types, validity and values in row
    order. Equal frames give equal digests however they are chunked in memory."""
    h = hashlib.sha256()
    for name, df in frames:
        h.update(f"{name}:{df.height}\n".encode())
        for col in df.columns:
            s = df.get_column(col)
            h.update(f"{col}:{s.dtype}\n".encode())
            if s.dtype == pl.String:  # dictionaries: thousands of short values
                h.update(np.packbits(s.is_null().to_numpy()).tobytes())
                h.update(s.str.len_bytes().fill_null(0).cast(pl.Int64).to_numpy().astype("<i8").tobytes())
                h.update("".join(s.fill_null("").to_list()).encode())
                continue
            values = s.to_physical() if isinstance(s.dtype, (pl.Enum, pl.Categorical)) else s
            if values.null_count():
                h.update(np.packbits(values.is_null().to_numpy()).tobytes())
                values = values.fill_null(0)
            else:  # the same bytes as packing an all-false validity mask, without building it
                h.update(bytes((values.len() + 7) // 8))
            array = values.to_numpy()
            h.update(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).data)
    return h.hexdigest()


def write_atomic(df: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    df.write_parquet(tmp, row_group_size=ROW_GROUP)  # sorted by uscc: statistics prune row groups
    os.replace(tmp, path)


def write_run(target: Path, results: pl.DataFrame, enterprises: pl.DataFrame, clauses: pl.DataFrame) -> None:
    """A run's three files. `results` are coded and sorted by enterprise; the enterprise table
    gets the position of each enterprise's results, so that reading them is one slice."""
    counts = np.bincount(results.get_column("enterprise").to_numpy(), minlength=enterprises.height)
    if counts.size != enterprises.height:
        raise ValueError("the results name enterprises the enterprise table does not have")
    starts = np.zeros(counts.size, dtype=np.uint64)
    np.cumsum(counts[:-1], out=starts[1:])
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f"{RESULTS}.tmp"
    results.write_ipc(tmp, compression="lz4", record_batch_size=RECORD_BATCH)
    os.replace(tmp, target / RESULTS)
    write_atomic(enterprises.with_columns(results_start=pl.Series(starts), results_count=pl.Series(counts,
                                          dtype=pl.UInt32)), target / "enterprises.parquet")
    write_atomic(clauses, target / "clauses.parquet")


def read_results(where: Path, enterprises: Sequence[int] | None = None,
                 clauses: Sequence[int] | None = None) -> pl.DataFrame:
    """A run's coded results, or only some enterprises' (by code: one slice each) or some
    clauses' rows."""
    legacy = not (where / RESULTS).exists()
    lf = pl.scan_parquet(where / LEGACY_RESULTS) if legacy else pl.scan_ipc(where / RESULTS)
    if enterprises is not None:
        _, _, index = dictionaries(str(where))
        if index is None:  # a legacy run: row-group statistics prune
            lf = lf.filter(pl.col("enterprise").is_in(list(enterprises)))
        else:
            codes = sorted(set(enterprises))
            lf = pl.concat([lf.slice(int(index[0][e]), int(index[1][e])) for e in codes]) if codes else lf.head(0)
    if clauses is not None:
        lf = lf.filter(pl.col("clause").is_in(list(clauses)))
    return lf.collect()


@lru_cache(maxsize=4)
def dictionaries(where: str) -> tuple[pl.Series, pl.DataFrame, tuple[np.ndarray, np.ndarray] | None]:
    """A run's enterprise and clause dictionaries, and where each enterprise's results are
    (None for a legacy run). A run's files never change once recorded (the directory name is
    the run id), so they are read once per process."""
    table = pl.read_parquet(Path(where) / "enterprises.parquet")
    index = None
    if "results_start" in table.columns:
        index = (table.get_column("results_start").to_numpy(), table.get_column("results_count").to_numpy())
    return table.get_column("uscc"), pl.read_parquet(Path(where) / "clauses.parquet"), index


def archive_policies(data_dir: Path, policies: Iterable[Policy]) -> None:
    """Keep every policy version a run used (idempotent: the file name is the content hash)."""
    target = match_dir(data_dir) / "policies"
    target.mkdir(parents=True, exist_ok=True)
    for p in policies:
        path = target / f"{p.content_hash}.json"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(p.spec.model_dump(mode="json"), ensure_ascii=False, sort_keys=True),
                           encoding="utf-8")
            os.replace(tmp, path)


def pack_cache_dir(data_dir: Path) -> Path:
    """Compiled policy packs (zhida.rules.packcache): a run, its reproduction and its
    incremental updates compile the same pack once."""
    return match_dir(data_dir) / "packs"


def archived_document(data_dir: Path, content_hash: str) -> dict[str, object]:
    """The validated document of an archived policy version (parsed only when a pack that
    uses it is not in the pack cache; the cache checks the content hash again)."""
    path = match_dir(data_dir) / "policies" / f"{content_hash}.json"
    if not path.exists():
        raise NotReproducible(f"政策版本 {content_hash[:12]} 的存档 {path} 不存在；无法复现该次匹配。")
    doc: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def archived_policy(data_dir: Path, content_hash: str) -> Policy:
    path = match_dir(data_dir) / "policies" / f"{content_hash}.json"
    if not path.exists():
        raise NotReproducible(f"政策版本 {content_hash[:12]} 的存档 {path} 不存在；无法复现该次匹配。")
    return _archived(str(path), content_hash)


@lru_cache(maxsize=8192)
def _archived(where: str, content_hash: str) -> Policy:
    """Content-addressed and verified against its hash, so a cached copy is always right."""
    path = Path(where)
    policy = parse_policy(json.loads(path.read_text(encoding="utf-8")), str(path))
    if policy.content_hash != content_hash:
        raise NotReproducible(f"政策版本存档 {path} 的内容与其哈希不符（已被改动）；请从备份恢复。")
    return policy
