"""Incremental re-matching: recompute only the affected (enterprise, clause) pairs.

* New facts for some enterprises → those enterprises × the clauses that read the changed
  fields (the compiler knows every clause's requirements), widened to whole policies (a
  policy's per-enterprise cap) and to every clause sharing an exclusivity group, so that
  post-processing sees everything it needs.
* A published policy version → every enterprise × the old and the new version's clauses.

Each update is one Parquet file (the new results of its scope) under the run's directory,
listed in the `match_updates` table; the row, its scope and its outbox events commit in one
unit of work, so the table is the commit point (an orphan file from a crash is never read). The current
results are the run's results with its updates applied in order; an update's scope is
replaced wholesale, so applying it equals re-running the full match on the same inputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from zhida.db.tables import match_update_enterprises, match_updates
from zhida.db.uow import UnitOfWork
from zhida.matching import results as files
from zhida.matching.errors import EnterpriseNotFound
from zhida.matching.evaluate import RESULT_SCHEMA, match_frame
from zhida.matching.outbox import append_events, diff_events
from zhida.matching.run import MatchRun, MatchSetup, archived_pack, population_frame, run_results
from zhida.profiles.store import ProfileStore
from zhida.rules.evaluate.engine import CompiledPolicies
from zhida.rules.lang.frame import Requirements
from zhida.rules.lang.schema import Schema
from zhida.rules.model.policy import Policy

ALL = None   # an update's scope of enterprises: every enterprise


@dataclass(frozen=True)
class Update:
    id: int
    run_id: str
    enterprises: tuple[str, ...] | None   # None: every enterprise
    clauses: tuple[str, ...]
    pairs: int
    events: pl.DataFrame


def current_versions(uow: UnitOfWork, run: MatchRun) -> dict[str, str]:
    """Policy id → content hash in force for this run: the run's versions, then published ones."""
    versions = dict(run.policies)
    t = match_updates
    q = sa.select(t.c.policy_id, t.c.policy_version).where(
        (t.c.run_id == run.id) & t.c.policy_id.is_not(None)).order_by(t.c.id)
    with uow:
        for pid, version in uow.conn.execute(q):
            versions[pid] = version
    return versions


def _apply(base: pl.DataFrame, delta: pl.DataFrame, enterprises: list[str] | None, clauses: list[str]) -> pl.DataFrame:
    scope = pl.col("clause").is_in(clauses)
    if enterprises is not ALL:
        scope = scope & pl.col("uscc").is_in(list(enterprises))
    return pl.concat([base.filter(~scope), delta]).sort(["clause", "uscc"])  # the stored order


def _scan(path: Path, enterprises: Sequence[str] | None, policies: Sequence[str] | None) -> pl.DataFrame:
    """An update file, or only some enterprises' or policies' rows."""
    lf = pl.scan_parquet(path)
    if enterprises is not None:
        ids = list(enterprises)
        lf = lf.filter(pl.col("uscc") == ids[0] if len(ids) == 1 else pl.col("uscc").is_in(ids))
    if policies is not None:
        lf = lf.filter(pl.col("policy").is_in(list(policies)))
    return lf.collect()


def current_results(uow: UnitOfWork, run: MatchRun, data_dir: Path,
                    enterprises: Sequence[str] | None = None, policies: Sequence[str] | None = None) -> pl.DataFrame:
    """The run's results with every committed update applied (optionally only for some
    enterprises or some policies), named (evaluate.RESULT_SCHEMA)."""
    base = run_results(run, data_dir, enterprises=enterprises, policies=policies)
    wanted = None if enterprises is None else set(enterprises)
    t, scope = match_updates, match_update_enterprises
    q = sa.select(t.c.file, t.c.enterprises, t.c.clauses).where(t.c.run_id == run.id).order_by(t.c.id)
    if wanted is not None:  # only the updates that re-matched one of them, or everyone
        q = q.where(t.c.enterprises.is_(None) | t.c.id.in_(
            sa.select(scope.c.update_id).where(scope.c.uscc.in_(sorted(wanted)))))
    with uow:
        rows = uow.conn.execute(q).all()
    for file, scope_ents, scope_clauses in rows:
        if wanted is not None and scope_ents is not ALL and not wanted.intersection(scope_ents):
            continue
        if policies is not None and not set(policies).intersection(k.split("/")[0] for k in scope_clauses):
            continue
        delta = _scan(files.run_dir(data_dir, run.id) / file, enterprises, policies)
        base = _apply(base, delta, scope_ents, scope_clauses)
    return base


_COMPILED: dict[tuple[object, ...], CompiledPolicies] = {}


def compiled_versions(data_dir: Path, versions: dict[str, str], schema: Schema, as_of: date) -> CompiledPolicies:
    """The compiled policy set of these versions: kept per process (versions are content
    addressed), read from the data directory's pack cache otherwise."""
    key = (str(data_dir), tuple(sorted(versions.items())), id(schema), as_of)
    hit = _COMPILED.get(key)
    if hit is None or hit.schema is not schema:
        if len(_COMPILED) >= 4:
            _COMPILED.pop(next(iter(_COMPILED)))
        hit = archived_pack(data_dir, list(versions.values()), schema, as_of)
        _COMPILED[key] = hit
    return hit


def subset(compiled: CompiledPolicies, policies: Sequence[Policy]) -> CompiledPolicies:
    """The already compiled clauses and caps of some policies (their order is kept, so
    exclusivity ties break as in the full set); requirements stay those of the full set."""
    ids = {p.id for p in policies}
    return dataclasses.replace(
        compiled, policies=[p for p in compiled.policies if p.id in ids],
        clauses=[c for c in compiled.clauses if c.policy.id in ids],
        caps={k: v for k, v in compiled.caps.items() if k in ids},
        skipped=[p for p in compiled.skipped if p.id in ids])


def affected_policies(compiled: CompiledPolicies, reads: Callable[[Requirements], bool],
                      seed: Iterable[str] = ()) -> list[Policy]:
    """Policies in `seed` or with a clause whose requirements satisfy `reads`, plus the
    policies that share an exclusivity group with them (transitively)."""
    groups: dict[str, set[str]] = {}
    for c in compiled.clauses:
        if c.clause.spec.exclusive is not None:
            groups.setdefault(c.clause.spec.exclusive.group, set()).add(c.policy.id)
    chosen = set(seed) | {c.policy.id for c in compiled.clauses if reads(c.requirements)}
    changed = True
    while changed:
        changed = False
        for members in groups.values():
            if members & chosen and not members <= chosen:
                chosen |= members
                changed = True
    return [p for p in compiled.policies if p.id in chosen]


def reads_any(fields: Iterable[str]) -> Callable[[Requirements], bool]:
    """Whether requirements read any of `fields` (field ids; lists and tags as `list:名称`, `tag:名称`)."""
    wanted = set(fields)

    def reads(req: Requirements) -> bool:
        names = ({f for f, _ in req.fields} | {f"list:{n}" for n in req.lists | req.list_since}
                 | {f"tag:{n}" for n in req.tags} | {f"zone:{n}" for n in req.zones})
        return bool(names & wanted)

    return reads


def _commit(uow: UnitOfWork, data_dir: Path, run: MatchRun, new: pl.DataFrame, old: pl.DataFrame,
            enterprises: list[str] | None, clauses: list[str], reason: str, at: datetime,
            policy: Policy | None = None) -> Update:
    events = diff_events(old, new)
    t = match_updates
    with uow:
        update_id = int(uow.conn.execute(sa.insert(t).values(
            run_id=run.id, at=at, reason=reason, file="", pairs=new.height, enterprises=enterprises,
            clauses=clauses, policy_id=policy.id if policy else None,
            policy_version=policy.content_hash if policy else None,
        ).returning(t.c.id)).scalar_one())
        if enterprises:
            uow.conn.execute(sa.insert(match_update_enterprises),
                             [{"uscc": u, "update_id": update_id} for u in enterprises])
        file = f"updates/{update_id:08d}.parquet"
        files.write_atomic(new.cast(RESULT_SCHEMA), files.run_dir(data_dir, run.id) / file)  # type: ignore[arg-type]
        uow.conn.execute(sa.update(t).where(t.c.id == update_id).values(file=file))
        append_events(uow, events, update_id=update_id, run_id=run.id, at=at)
        uow.commit()
    return Update(update_id, run.id, None if enterprises is ALL else tuple(enterprises), tuple(clauses),
                  new.height, events)


def rematch_enterprises(
    uow: UnitOfWork, setup: MatchSetup, run: MatchRun, store: ProfileStore | None, usccs: Sequence[str], *,
    fields: Iterable[str] | None = None, reason: str = "企业数据更新", frame: pl.DataFrame | None = None,
) -> Update:
    """Re-match some enterprises after their facts changed (only clauses reading `fields`,
    when given), against the policy versions currently published for the run.

    `frame` may carry the enterprises' rows already built (with every column the policies
    read); otherwise they are read from `store` as of the run's date. An enterprise that is not
    in the profile store is refused (nothing is recorded)."""
    compiled = compiled_versions(setup.data_dir, current_versions(uow, run), setup.schema, run.as_of)
    if fields is not None:
        compiled = subset(compiled, affected_policies(compiled, reads_any(fields)))
    keys = compiled.keys
    ids = list(dict.fromkeys(usccs))
    if not ids:
        raise EnterpriseNotFound("没有给出要重新匹配的企业；请给出至少一个统一社会信用代码。")
    if frame is None:
        if store is None:
            raise ValueError("rematch_enterprises needs a profile store or the enterprises' frame rows")
        frame = population_frame(store, compiled.requirements, run.as_of, setup.schema, setup.zones_dir, usccs=ids)
    rows = frame.filter(pl.col("uscc").is_in(ids))
    unknown = sorted(set(ids) - set(rows.get_column("uscc").cast(pl.String)))
    if unknown:
        raise EnterpriseNotFound(f"画像库中没有这些企业：{'、'.join(unknown)}（评估日 {run.as_of}）；"
                                 "请核对统一社会信用代码，或先导入这些企业的登记信息。未做任何更新。")
    # a few enterprises: the interpreter, not thousands of Polars plans (rules/evaluate/rowwise.py)
    new = (match_frame(compiled, rows, near_misses=run.near_misses, method="auto") if keys
           else pl.DataFrame(schema=RESULT_SCHEMA))
    old = current_results(uow, run, setup.data_dir, ids).filter(pl.col("clause").is_in(keys))
    return _commit(uow, setup.data_dir, run, new, old, ids, keys, reason, setup.clock())


def publish_policy(
    uow: UnitOfWork, setup: MatchSetup, run: MatchRun, store: ProfileStore, policy: Policy, *,
    reason: str = "政策新版本发布",
) -> Update:
    """Re-match every enterprise against a newly published version of one policy (and the
    policies sharing an exclusivity group with it); clauses the old version had and the new
    one dropped lose their results."""
    files.archive_policies(setup.data_dir, [policy])
    versions = current_versions(uow, run)
    versions[policy.id] = policy.content_hash
    full = compiled_versions(setup.data_dir, versions, setup.schema, run.as_of)
    involved = affected_policies(full, lambda _req: False, seed=[policy.id])
    compiled = subset(full, involved)
    current = current_results(uow, run, setup.data_dir)
    previous = current.filter(pl.col("policy").is_in([p.id for p in involved])).get_column("clause").unique()
    keys = sorted(set(compiled.keys) | set(previous.to_list()))
    new = match_frame(compiled, population_frame(store, compiled.requirements, run.as_of, setup.schema,
                                                 setup.zones_dir), near_misses=run.near_misses)
    old = current.filter(pl.col("clause").is_in(keys))
    return _commit(uow, setup.data_dir, run, new, old, ALL, keys, reason, setup.clock(), policy)
