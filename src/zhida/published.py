"""Published policy versions (已发布的政策版本): the records that runs, offers and payments point at.

Publishing stores the validated document of each policy with its content hash. The version in
force for a policy is its one unretired version; publishing a changed document retires the
previous one (by whom, when) in the same transaction, and each version put in force is a
`policy.publish` entry of the audit log (its content hash, the one it replaces). Publishing
bytes already in force is a no-op; publishing a document that was retired earlier brings it
back as the version in force.

A match run evaluates the published set (`published_pack`), not the files on disk: a file
edited after publishing changes nothing until it is published again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from zhida.accounts import Permission, User, require
from zhida.audit import log as audit_log
from zhida.db.tables import policy_versions
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.rules.model.policy import Policy


class PublishError(ZhidaError):
    """Nothing to publish, or no published policy where one is needed."""


@dataclass(frozen=True)
class PolicyVersion:
    id: int
    policy_id: str
    content_hash: str
    title: str
    valid_from: date | None
    valid_to: date | None
    published_at: datetime
    published_by: str
    retired_at: datetime | None
    retired_by: str | None
    source_file: str | None
    document: dict[str, Any] = field(repr=False, compare=False)

    @property
    def in_force(self) -> bool:
        """Whether this is the policy's current published version (not its legal validity)."""
        return self.retired_at is None


@dataclass(frozen=True)
class Publication:
    published: list[PolicyVersion]     # new versions in force
    unchanged: list[PolicyVersion]     # already in force with the same content
    retired: list[PolicyVersion]       # the versions the new ones replaced


def _now() -> datetime:
    return datetime.now(UTC)


def publish(uow: UnitOfWork, policies: Sequence[Policy], *, actor: User,
            clock: Callable[[], datetime] = _now) -> Publication:
    """Publish validated policies (as `load_policies` returns them) in one transaction; the
    actor needs the policy officer's permission."""
    require(actor, Permission.PUBLISH_POLICY)
    if not policies:
        raise PublishError("没有可发布的政策文件；请给出政策 YAML 文件或目录。")
    duplicates = sorted({p.id for p in policies if sum(q.id == p.id for q in policies) > 1})
    if duplicates:
        raise PublishError(f"同一次发布中政策编号重复：{'、'.join(duplicates)}；每个政策只能给出一个文件。")
    t = policy_versions
    at = clock()
    published, unchanged, retired = [], [], []
    with uow:
        for p in policies:
            current = _one(uow, (t.c.policy_id == p.id) & t.c.retired_at.is_(None))
            if current is not None and current.content_hash == p.content_hash:
                unchanged.append(current)
                continue
            if current is not None:
                uow.conn.execute(sa.update(t).where(t.c.id == current.id)
                                 .values(retired_at=at, retired_by=actor.username))
                retired.append(_one(uow, t.c.id == current.id))
            earlier = _one(uow, (t.c.policy_id == p.id) & (t.c.content_hash == p.content_hash))
            if earlier is not None:  # the same content again: back in force, with who brought it back
                uow.conn.execute(sa.update(t).where(t.c.id == earlier.id).values(
                    retired_at=None, retired_by=None, published_at=at, published_by=actor.username,
                    source_file=p.source))
                version_id = earlier.id
            else:
                version_id = int(uow.conn.execute(sa.insert(t).values(
                    policy_id=p.id, content_hash=p.content_hash, title=p.spec.title,
                    document=p.spec.model_dump(mode="json"), source_file=p.source, valid_from=p.spec.valid_from,
                    valid_to=p.spec.valid_to, published_at=at, published_by=actor.username,
                ).returning(t.c.id)).scalar_one())
            published.append(_one(uow, t.c.id == version_id))
            audit_log.record(uow, kind="policy.publish", actor=actor.username, subject=f"policy:{p.id}",
                             data={"version": version_id, "content_hash": p.content_hash, "title": p.spec.title,
                                   "replaces": None if current is None else current.content_hash,
                                   "restored": earlier is not None}, clock=lambda: at)
        uow.commit()
    return Publication([v for v in published if v], unchanged, [v for v in retired if v])


def versions(uow: UnitOfWork, policy_id: str | None = None) -> list[PolicyVersion]:
    """Every version (in force and retired), by policy, newest first."""
    t = policy_versions
    q = sa.select(t).order_by(t.c.policy_id, t.c.published_at.desc(), t.c.id.desc())
    if policy_id is not None:
        q = q.where(t.c.policy_id == policy_id)
    with uow:
        return [_version(r) for r in uow.conn.execute(q).mappings()]


def published_set(uow: UnitOfWork) -> list[PolicyVersion]:
    """The versions in force, one per policy, by policy id."""
    t = policy_versions
    with uow:
        rows = uow.conn.execute(sa.select(t).where(t.c.retired_at.is_(None)).order_by(t.c.policy_id)).mappings()
        return [_version(r) for r in rows]


def published_pack(uow: UnitOfWork) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The published documents (for the pack cache to compile) and content hash → version id,
    which a run records as the versions it used."""
    current = published_set(uow)
    if not current:
        raise PublishError("还没有已发布的政策；先运行 zhida policy publish policies/（或以 --drafts 试算政策文件）。")
    return [v.document for v in current], {v.content_hash: v.id for v in current}


def _one(uow: UnitOfWork, where: sa.ColumnElement[bool]) -> PolicyVersion | None:
    row = uow.conn.execute(sa.select(policy_versions).where(where)).mappings().first()
    return None if row is None else _version(row)


def _version(r: sa.RowMapping) -> PolicyVersion:
    return PolicyVersion(
        id=r["id"], policy_id=r["policy_id"], content_hash=r["content_hash"], title=r["title"],
        valid_from=r["valid_from"], valid_to=r["valid_to"], published_at=r["published_at"],
        published_by=r["published_by"], retired_at=r["retired_at"], retired_by=r["retired_by"],
        source_file=r["source_file"], document=r["document"],
    )
