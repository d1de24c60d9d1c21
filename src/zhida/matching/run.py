"""Match runs: every clause in force × every enterprise, recorded so it can be reproduced.

A run record keeps the evaluation date, the policy versions (content hashes, archived), the
profile snapshot (the ids of the immutable batches read), time and counts, and the SHA-256
of its results. `reproduce_run` evaluates the same inputs again and compares the digests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl
import sqlalchemy as sa

from zhida.db.tables import match_run_versions, match_runs
from zhida.db.uow import UnitOfWork
from zhida.matching import results as files
from zhida.matching.errors import NotReproducible, RunNotFound, UnpublishedVersions
from zhida.matching.evaluate import (
    CODED_SCHEMA,
    Matched,
    Progress,
    match_codes,
    name_results,
    profile_requirements,
    size_column,
)
from zhida.matching.snapshot import Snapshot
from zhida.packs.cache import load_or_compile
from zhida.profiles.datause import record_use, requirement_fields
from zhida.profiles.frame import build_population_frame
from zhida.profiles.store import ProfileStore
from zhida.rules.evaluate.engine import CompiledPolicies
from zhida.rules.lang.frame import Requirements
from zhida.rules.lang.schema import Schema
from zhida.rules.model.policy import Policy

DATA_USE_BASIS = "政策直达平台职责：惠企政策精准匹配（政策找企业）"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MatchSetup:
    """What every matching service needs from the application (wired once by the bootstrap):
    the data directory (results, archived policy versions, pack cache), the schema the rules
    are checked against, the zones directory and the clock."""

    data_dir: Path
    schema: Schema
    zones_dir: Path | None = None
    clock: Callable[[], datetime] = utcnow


@dataclass(frozen=True)
class MatchRun:
    id: str
    kind: str
    as_of: date
    started_at: datetime
    finished_at: datetime
    policies: tuple[tuple[str, str], ...]   # (policy id, content hash)
    snapshot: Snapshot
    enterprises: int
    clauses: int
    eligible: int
    unknown: int
    near_miss: int
    excluded: int
    results_sha256: str
    near_misses: str = "marked"   # evaluate.NEAR_MISS_MODES
    drafts: bool = False          # evaluated policy files that were not published

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class Reproduction:
    run: MatchRun
    results_sha256: str

    @property
    def identical(self) -> bool:
        return self.results_sha256 == self.run.results_sha256


def population_frame(store: ProfileStore, requirements: Requirements, as_of: date, schema: Schema,
                     zones_dir: Path | None = None, usccs: Sequence[str] | None = None) -> pl.DataFrame:
    """The frame a run reads: the policies' columns plus the descriptive ones (only the rows
    of `usccs`, read alone, when given)."""
    req = profile_requirements(as_of)
    req.update(requirements)
    return build_population_frame(store, req, as_of, schema, zones_dir=zones_dir, usccs=usccs)


def enterprises_table(df: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """uscc, name, district, industry, size (null where the frame has no such column),
    sorted by uscc: row i is enterprise code i of the run's results."""
    def text(col: str) -> pl.Expr:
        return pl.col(col).cast(pl.String) if col in df.columns else pl.lit(None, dtype=pl.String)

    return df.select(pl.col("uscc").cast(pl.String), name=text("enterprise_name"), district=text("district_code"),
                     industry=text("industry_code"), size=text(size_column(as_of))).sort("uscc")


Pack = Sequence[Policy | Mapping[str, Any]] | CompiledPolicies


def compiled_pack(pack: Pack, schema: Schema, as_of: date, cache_dir: Path | None) -> CompiledPolicies:
    """A compiled pack as given, or the policies (parsed, or documents) compiled through the
    pack cache (zhida.packs.cache; None: compile)."""
    if isinstance(pack, CompiledPolicies):
        if pack.as_of != as_of or pack.schema is not schema:
            raise ValueError(f"the pack was compiled for {pack.as_of} (and its own schema), not for {as_of}")
        return pack
    return load_or_compile(pack, schema, as_of, cache_dir)


class Engine(Protocol):
    """Where a run matches, when not in this process: (a frame of the population with at least
    the descriptive columns enterprises_table reads, and the results as match_codes gives
    them) — zhida.matching.spark.SparkEngine (decision 0019)."""

    def match(self, store: ProfileStore, compiled: CompiledPolicies, as_of: date, *, zones_dir: Path | None,
              near_misses: str, progress: Progress | None) -> tuple[pl.DataFrame, Matched]: ...


def evaluate_snapshot(store: ProfileStore, pack: Pack, schema: Schema, as_of: date, *,
                      zones_dir: Path | None = None, progress: Progress | None = None,
                      near_misses: str = "marked", cache_dir: Path | None = None, engine: Engine | None = None,
                      ) -> tuple[CompiledPolicies, pl.DataFrame, Matched]:
    """(compiled policies, population frame, sparse results) — the pure part of a run; the
    matching on `engine` when given (its frame then holds only the descriptive columns)."""
    if progress:
        progress("compile", 0, 1)
    compiled = compiled_pack(pack, schema, as_of, cache_dir)
    if engine is not None:
        return compiled, *engine.match(store, compiled, as_of, zones_dir=zones_dir, near_misses=near_misses,
                                       progress=progress)
    if progress:
        progress("frame", 0, 1)
    df = population_frame(store, compiled.requirements, as_of, schema, zones_dir)
    return compiled, df, match_codes(compiled, df, progress=progress, near_misses=near_misses)


def run_match(
    uow: UnitOfWork,
    setup: MatchSetup,
    store: ProfileStore,
    pack: Pack,
    as_of: date,
    *,
    published: Mapping[str, int] | None = None,
    actor: str = "zhida match run",
    near_misses: str = "marked",
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> MatchRun:
    """Match every clause in force on `as_of` against every enterprise, store the sparse
    results under the data directory and commit the run record, the versions it used and its
    whole-population data use in one transaction.

    `pack`: the policies (compiled through the data directory's pack cache) or a pack compiled
    for `as_of`. `published` maps each policy's content hash to its published version's id
    (zhida.matching.published): the run then names those versions; without it the run is
    marked as a run of drafts. `near_misses` says whose near misses are kept (evaluate.py):
    recorded, so that reproduction and incremental updates of the run do the same. `engine`:
    match elsewhere (Spark) instead of in this process; the run and its record are the same."""
    started = setup.clock()
    snapshot = Snapshot.of(store, as_of)
    compiled, df, matched = evaluate_snapshot(snapshot.open(), pack, setup.schema, as_of, zones_dir=setup.zones_dir,
                                              progress=progress, near_misses=near_misses,
                                              cache_dir=files.pack_cache_dir(setup.data_dir), engine=engine)
    if published is not None:
        unpublished = [p.id for p in compiled.policies if p.content_hash not in published]
        if unpublished:
            raise UnpublishedVersions(f"以下政策的这一版本尚未发布：{'、'.join(unpublished)}；"
                                      "请先运行 zhida policy publish，或以 --drafts 试算草稿。")
    if progress:
        progress("write", 0, 1)
    run = record_run(uow, setup, compiled, df, matched, snapshot, started, actor=actor, near_misses=near_misses,
                     published=published)
    if progress:
        progress("write", 1, 1)
    return run


def results_digest(matched: Matched, *, by_enterprise: bool = False) -> str:
    """The run's fingerprint: its results (in stored order: by clause; `by_enterprise` for a
    run stored before decision 0007) and both dictionaries that name them."""
    results = matched.results.sort("enterprise", "clause") if by_enterprise else matched.results
    return files.digest([("results", results), ("enterprises", matched.enterprises.to_frame()),
                         ("clauses", matched.clauses)])


def record_run(
    uow: UnitOfWork, setup: MatchSetup, compiled: CompiledPolicies, df: pl.DataFrame, matched: Matched,
    snapshot: Snapshot, started: datetime, *, actor: str = "zhida match run", near_misses: str = "marked",
    published: Mapping[str, int] | None = None,
) -> MatchRun:
    """Store a run's results, enterprises and clauses, archive its policy versions, and commit
    its record, the published versions it used and its whole-population data use together.
    The files are written first: without the committed record they are never read."""
    run_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    target = files.run_dir(setup.data_dir, run_id)
    enterprises = enterprises_table(df, compiled.as_of)
    if not enterprises.get_column("uscc").equals(matched.enterprises.cast(pl.String), check_names=False):
        raise ValueError("the frame's enterprises are not those of the results")
    with ThreadPoolExecutor(max_workers=1) as pool:  # hashing and writing overlap (both release the GIL)
        digest = pool.submit(results_digest, matched)
        files.write_run(target, matched.results, enterprises, matched.clauses)
        files.archive_policies(setup.data_dir, compiled.policies)
        counts = matched.counts()
        results_sha256 = digest.result()
    run = MatchRun(
        id=run_id, kind="full", as_of=compiled.as_of, started_at=started, finished_at=setup.clock(),
        policies=tuple((p.id, p.content_hash) for p in compiled.policies),
        snapshot=snapshot, enterprises=df.height, clauses=len(compiled.clauses),
        eligible=counts["eligible"], unknown=counts["unknown"],
        near_miss=counts["near_miss"], excluded=counts["excluded"],
        results_sha256=results_sha256, near_misses=near_misses, drafts=published is None,
    )
    with uow:
        uow.conn.execute(sa.insert(match_runs).values(**_row(run)))
        if published is not None and compiled.policies:
            uow.conn.execute(sa.insert(match_run_versions), [
                {"run_id": run_id, "version_id": published[p.content_hash]} for p in compiled.policies])
        record_use(uow, fields=requirement_fields(compiled.requirements.columns()), purpose="全量政策匹配",
                   actor=actor, legal_basis=DATA_USE_BASIS, used_at=started, as_of=compiled.as_of,
                   enterprises=df.height)
        uow.commit()
    return run


def reproduce_run(setup: MatchSetup, run: MatchRun) -> tuple[Reproduction, pl.DataFrame]:
    """Evaluate a run's recorded inputs again (archived policy versions, the same batches)."""
    compiled = archived_pack(setup.data_dir, [h for _, h in run.policies], setup.schema, run.as_of)
    _, _, matched = evaluate_snapshot(run.snapshot.open(), compiled, setup.schema, run.as_of,
                                      zones_dir=setup.zones_dir, near_misses=run.near_misses)
    stored_by_enterprise = files.legacy(files.run_dir(setup.data_dir, run.id))
    return Reproduction(run, results_digest(matched, by_enterprise=stored_by_enterprise)), matched.named()


def archived_pack(data_dir: Path, versions: Sequence[str], schema: Schema, as_of: date) -> CompiledPolicies:
    """The pack of archived policy versions, through the pack cache (the pack a run compiled
    is found without parsing anything); a version whose archive was altered is refused."""
    compiled = load_or_compile([files.archived_document(data_dir, h) for h in versions], schema, as_of,
                               files.pack_cache_dir(data_dir))
    altered = [p for p, h in zip(compiled.policies, versions, strict=True) if p.content_hash != h]
    if altered:
        raise NotReproducible(f"政策版本存档 {altered[0].id} 的内容与其哈希不符（已被改动）；请从备份恢复。")
    return compiled


def run_results(run: MatchRun, data_dir: Path, *, enterprises: Sequence[str] | None = None,
                policies: Sequence[str] | None = None) -> pl.DataFrame:
    """The results as the run wrote them (without later incremental updates), named
    (evaluate.RESULT_SCHEMA), in (clause, uscc) order; only some enterprises' or policies' rows
    when asked (results.py finds them without reading the rest)."""
    where = files.run_dir(data_dir, run.id)
    usccs, table = files.dictionaries(str(where))
    codes = None
    if enterprises is not None:
        wanted = pl.Series(sorted(set(enterprises)), dtype=pl.String)
        at = usccs.search_sorted(wanted).cast(pl.UInt32)
        found = at.filter(at < usccs.len())
        codes = found.filter(usccs.gather(found) == wanted.filter(at < usccs.len())).to_list()
    clause_codes = None
    if policies is not None:
        ids = set(policies)
        clause_codes = [i for i, p in enumerate(table.get_column("policy")) if p in ids]
    coded = files.read_results(where, codes, clause_codes)
    return name_results(coded.cast(CODED_SCHEMA), usccs, table)  # type: ignore[arg-type]


def run_enterprises(run: MatchRun, data_dir: Path) -> pl.DataFrame:
    """uscc, name, district, industry, size of the run's enterprises, sorted by uscc."""
    return pl.read_parquet(files.run_dir(data_dir, run.id) / "enterprises.parquet",
                           columns=["uscc", "name", "district", "industry", "size"])


def _row(run: MatchRun) -> dict[str, object]:
    return {
        "id": run.id, "kind": run.kind, "started_at": run.started_at, "finished_at": run.finished_at,
        "as_of": run.as_of, "policies": [list(p) for p in run.policies], "snapshot": run.snapshot.to_json(),
        "enterprises": run.enterprises, "clauses": run.clauses, "eligible": run.eligible, "unknown": run.unknown,
        "near_miss": run.near_miss, "excluded": run.excluded, "results_sha256": run.results_sha256,
        "near_misses": run.near_misses, "drafts": run.drafts,
    }


def _run(r: sa.RowMapping) -> MatchRun:
    return MatchRun(
        id=r["id"], kind=r["kind"], as_of=r["as_of"], started_at=r["started_at"], finished_at=r["finished_at"],
        policies=tuple((p[0], p[1]) for p in r["policies"]), snapshot=Snapshot.from_json(r["snapshot"]),
        enterprises=r["enterprises"], clauses=r["clauses"], eligible=r["eligible"], unknown=r["unknown"],
        near_miss=r["near_miss"], excluded=r["excluded"], results_sha256=r["results_sha256"],
        near_misses=r["near_misses"], drafts=r["drafts"],
    )


def load_run(uow: UnitOfWork, run_id: str | None = None) -> MatchRun:
    """A run by id, or the latest full run."""
    t = match_runs
    q = sa.select(t).where(t.c.id == run_id) if run_id else (
        sa.select(t).where(t.c.kind == "full").order_by(t.c.started_at.desc(), t.c.id.desc()).limit(1))
    with uow:
        row = uow.conn.execute(q).mappings().first()
    if row is None:
        raise RunNotFound(f"找不到匹配批次 {run_id}；用 zhida match runs 查看已有批次。" if run_id else
                          "还没有任何匹配批次；先运行 zhida match run。")
    return _run(row)


def list_runs(uow: UnitOfWork, limit: int = 20) -> list[MatchRun]:
    t = match_runs
    with uow:
        rows = uow.conn.execute(sa.select(t).order_by(t.c.started_at.desc(), t.c.id.desc()).limit(limit)).mappings()
        return [_run(r) for r in rows]
