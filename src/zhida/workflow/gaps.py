"""The 待补正 list of a 免申即享 clause for missing facts: firms a run could not decide because
a fact is missing, with exactly which facts and who can supply them — routed, not dropped.

    gaps = missing_data(uow, run, data_dir, schema, clause, actor=reviewer, notify_firms=True)

A firm whose result is *unknown* gets no offer (an offer is an award the data supports); it is
listed here with the facts that would decide it, and told once per clause and year what to
ask its departments for. When the data arrives and a re-match makes it eligible,
`offers.create_offers` picks it up like any other eligible firm (making offers is idempotent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from zhida.accounts import Permission, User, can
from zhida.accounts.errors import NotAllowed
from zhida.db.tables import notifications
from zhida.db.uow import UnitOfWork
from zhida.matching.incremental import current_results
from zhida.matching.report import Supplier, suppliers
from zhida.matching.run import MatchRun, population_frame
from zhida.profiles.datause import record_use, requirement_fields
from zhida.profiles.registry import Registry
from zhida.profiles.store import ProfileStore
from zhida.published import versions
from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.explanation.explain import explain_frame
from zhida.rules.lang.schema import Schema
from zhida.rules.model.policy import parse_policy
from zhida.workflow.notifications import notify

Clock = Callable[[], datetime]
KIND = "offer_missing_data"


@dataclass(frozen=True)
class Gap:
    uscc: str
    amount_fen: int | None         # what it would get, when the amount's own inputs are known
    missing: tuple[Supplier, ...]  # the facts still unknown in its undecided conditions, and who has them


def missing_data(uow: UnitOfWork, run: MatchRun, data_dir: Path, schema: Schema, registry: Registry, clause: str, *,
                 actor: User, zones_dir: Path | None = None, notify_firms: bool = False,
                 clock: Clock = lambda: datetime.now(UTC)) -> list[Gap]:
    """The clause's firms left undecided by the run (with every committed update), each with the
    facts that would decide it; `notify_firms`: tell each once (per clause and year) what is missing."""
    if not (can(actor, Permission.REVIEW_DEPARTMENT_ITEMS) or can(actor, Permission.LOAD_DATA)):
        raise NotAllowed(f"用户 {actor.username} 不能查看待补正清单（需要审核或数据管理权限）。")
    policy_id = clause.split("/")[0]
    used = dict(run.policies)
    version = next((v for v in versions(uow, policy_id) if v.content_hash == used.get(policy_id)), None)
    if version is None:
        raise NotAllowed(f"匹配批次 {run.id} 没有使用政策 {policy_id} 的已发布版本；请先发布并重新匹配。")
    undecided = (current_results(uow, run, data_dir, policies=[policy_id])
                 .filter((pl.col("clause") == clause) & (pl.col("status") == "unknown")))
    if undecided.is_empty():
        return []
    policy = parse_policy(version.document, source=f"published:{policy_id}")
    compiled = compile_policies([policy], schema, run.as_of)
    store = ProfileStore(Path(run.snapshot.root))
    frame = population_frame(store, compiled.requirements, run.as_of, schema, zones_dir,
                             usccs=undecided["uscc"].to_list())
    prepared = compiled.prepare(frame)
    mode = next(c.clause.spec.mode for c in compiled.clauses if c.key == clause)
    gaps = []
    for i in range(frame.height):
        e = next(x for x in explain_frame(compiled, frame.slice(i, 1)) if x.key == clause)
        row = prepared.row(i, named=True)
        c = next(c for c in compiled.clauses if c.key == clause)
        cols = [f.column for a in e.atoms if a.verdict is None for f in a.facts if f.missing]
        if e.amount_fen is None:
            cols += [col for col in c.amount_columns if row.get(col) is None]
        labels = {f.column: f.label for a in e.atoms for f in a.facts}
        gaps.append(Gap(str(row["uscc"]), e.amount_fen,
                        tuple(suppliers(list(dict.fromkeys(cols)), labels, mode, registry))))
    gaps.sort(key=lambda g: g.uscc)
    at = clock()
    with uow:
        record_use(uow, uscc=None, fields=requirement_fields(compiled.requirements.columns()),
                   purpose=f"免申即享待补正清单 {clause}", actor=actor.username,
                   legal_basis="政策兑现（数据比对）", used_at=at, as_of=run.as_of, enterprises=len(gaps))
        if notify_firms:
            title = f"可能符合：{policy.spec.title}（{run.as_of.year}年）"
            told = set(uow.conn.execute(sa.select(notifications.c.uscc).where(
                (notifications.c.kind == KIND) & (notifications.c.title == title))).scalars())
            for g in gaps:
                if g.uscc in told:
                    continue
                asks = "；".join(f"{s.label}（{'、'.join(s.by) or '请联系主管部门'}）" for s in g.missing)
                notify(uow, uscc=g.uscc, kind=KIND, title=title,
                       body=f"贵单位可能符合条款“{clause}”，但以下数据尚缺，补齐后将自动重新比对：{asks}。",
                       clock=lambda: at)
        uow.commit()
    return gaps
