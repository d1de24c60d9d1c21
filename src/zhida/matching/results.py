"""Run results on disk: one directory per run under `<data dir>/match/runs/<run id>/`.

    results.parquet      sparse results (evaluate.RESULT_SCHEMA), sorted by (uscc, clause)
    enterprises.parquet  uscc, name, district, industry, size of every enterprise matched
    updates/<n>.parquet  incremental updates (see incremental.py); listed in the database

Policy versions are archived by content hash under `<data dir>/match/policies/<hash>.json`
(the validated policy document), so a run can be reproduced after its YAML file changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import polars as pl

from zhida.matching.errors import NotReproducible
from zhida.rules.policy import Policy, parse_policy

ROW_GROUP = 50_000


def match_dir(data_dir: Path) -> Path:
    return data_dir / "match"


def run_dir(data_dir: Path, run_id: str) -> Path:
    return match_dir(data_dir) / "runs" / run_id


def digest(results: pl.DataFrame) -> str:
    """SHA-256 of the results' canonical text (CSV of the sorted rows): equal results, equal digest."""
    h = hashlib.sha256()
    for i, part in enumerate(results.iter_slices(1_000_000)):  # the same bytes as one CSV, in bounded memory
        h.update(part.write_csv(include_header=i == 0).encode("utf-8"))
    if results.is_empty():
        h.update(results.write_csv().encode("utf-8"))
    return h.hexdigest()


def write_atomic(df: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    df.write_parquet(tmp, row_group_size=ROW_GROUP)  # sorted by uscc: statistics prune row groups
    os.replace(tmp, path)


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
