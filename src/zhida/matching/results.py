"""Run results on disk: one directory per run under `<data dir>/match/runs/<run id>/`.

    results.arrow        sparse results as codes (evaluate.CODED_SCHEMA), sorted by (clause,
                         enterprise): Arrow IPC, uncompressed, one record batch, read through a
                         memory map (decision 0007; runs written before it have results.parquet,
                         sorted by enterprise)
    enterprises.parquet  uscc, name, district, industry, size of every enterprise matched, sorted
                         by uscc: an enterprise code is a row number here
    clauses.parquet      clause, policy, policy_version, and where the clause's results are
                         (results_start, results_count): a clause code is a row number here
    updates/<n>.parquet  incremental updates (see incremental.py; evaluate.RESULT_SCHEMA, named),
                         listed in the database

A clause's results are one slice of the file (a whitelist); an enterprise's are found by a
binary search in every clause's slice at once (its codes ascend there).

Policy versions are archived by content hash under `<data dir>/match/policies/<hash>.json`
(the validated policy document), so a run can be reproduced after its YAML file changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc

from zhida.matching.errors import NotReproducible
from zhida.rules.model.policy import Policy, parse_policy

ROW_GROUP = 50_000
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
    """A run's three files. `results` are coded and sorted by (clause, enterprise); the clause
    table gets the position of each clause's results."""
    counts = np.bincount(results.get_column("clause").to_numpy(), minlength=clauses.height)
    if counts.size != clauses.height:
        raise ValueError("the results name clauses the clause table does not have")
    starts = np.zeros(counts.size, dtype=np.uint64)
    np.cumsum(counts[:-1], out=starts[1:])
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f"{RESULTS}.tmp"
    results.write_ipc(tmp, compression="uncompressed", record_batch_size=max(results.height, 1))
    os.replace(tmp, target / RESULTS)
    write_atomic(enterprises, target / "enterprises.parquet")
    write_atomic(clauses.with_columns(results_start=pl.Series(starts), results_count=pl.Series(counts,
                                      dtype=pl.UInt32)), target / "clauses.parquet")


def legacy(where: Path) -> bool:
    """Whether a run was stored before decision 0007 (Parquet, sorted by enterprise)."""
    return not (where / RESULTS).exists() and (where / LEGACY_RESULTS).exists()


def read_results(where: Path, enterprises: Sequence[int] | None = None,
                 clauses: Sequence[int] | None = None) -> pl.DataFrame:
    """A run's coded results in (clause, enterprise) order, or only some enterprises' (by
    code) or some clauses' rows."""
    if legacy(where):
        lf = pl.scan_parquet(where / LEGACY_RESULTS)
        if enterprises is not None:
            lf = lf.filter(pl.col("enterprise").is_in(list(enterprises)))  # row-group statistics prune
        if clauses is not None:
            lf = lf.filter(pl.col("clause").is_in(list(clauses)))
        return lf.collect().sort("clause", "enterprise")
    mapped = _mapped(str(where))
    rows = mapped.table
    if enterprises is not None:
        codes = np.array(sorted(set(enterprises)), dtype=np.uint32)
        if codes.size > MANY:  # one pass over the file is cheaper than this many searches
            found = _frame(rows).filter(pl.col("enterprise").is_in(codes.tolist()))
        else:
            found = _frame(rows.take(pa.array(mapped.find(codes))))
        return found if clauses is None else found.filter(pl.col("clause").is_in(sorted(set(clauses))))
    if clauses is not None:  # one slice per clause
        rows = pa.concat_tables([rows.slice(int(mapped.starts[c]), int(mapped.counts[c]))
                                 for c in sorted(set(clauses))] or [rows.slice(0, 0)])
    return _frame(rows)


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


MANY = 64  # enterprises looked up by binary search at most; more: one filtered pass


@dataclass(frozen=True)
class _Mapped:
    """A run's results, memory-mapped (nothing is read until used), and where each clause's
    rows are."""

    table: pa.Table
    enterprise: np.ndarray   # the enterprise column, a view of the map
    starts: np.ndarray
    counts: np.ndarray

    def find(self, codes: np.ndarray) -> np.ndarray:
        """Row numbers of the results of these (sorted) enterprise codes, in file order: one
        vectorised binary search over every (clause, code) pair, within the clause's slice."""
        lo = np.repeat(self.starts.astype(np.int64), codes.size)
        hi = lo + np.repeat(self.counts.astype(np.int64), codes.size)
        want = np.tile(codes, self.starts.size)
        end = hi.copy()
        while True:
            open_ = lo < hi
            if not open_.any():
                break
            mid = (lo + hi) // 2
            below = np.zeros(lo.size, dtype=bool)
            below[open_] = self.enterprise[mid[open_]] < want[open_]
            lo = np.where(open_ & below, mid + 1, lo)
            hi = np.where(open_ & ~below, mid, hi)
        found = lo < end
        found[found] = self.enterprise[lo[found]] == want[found]
        return lo[found]


@lru_cache(maxsize=8)
def _mapped(where: str) -> _Mapped:
    table = pa.ipc.open_file(pa.memory_map(str(Path(where) / RESULTS))).read_all()
    column = table.column("enterprise")
    enterprise = (column.chunk(0).to_numpy(zero_copy_only=True) if column.num_chunks == 1
                  else column.to_numpy())
    index = pl.read_parquet(Path(where) / "clauses.parquet", columns=["results_start", "results_count"])
    return _Mapped(table, enterprise, index.get_column("results_start").to_numpy(),
                   index.get_column("results_count").to_numpy())


@lru_cache(maxsize=4)
def dictionaries(where: str) -> tuple[pl.Series, pl.DataFrame]:
    """A run's enterprise and clause dictionaries; a run's files never change once recorded
    (the directory name is the run id), so they are read once per process."""
    usccs = pl.read_parquet(Path(where) / "enterprises.parquet", columns=["uscc"]).get_column("uscc")
    return usccs, pl.read_parquet(Path(where) / "clauses.parquet", columns=["clause", "policy", "policy_version"])


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
    """Compiled policy packs (zhida.packs.cache): a run, its reproduction and its
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
