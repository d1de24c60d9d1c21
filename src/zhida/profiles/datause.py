"""Data-use records (数据使用记录): who used which fields of which enterprise, why, on what basis.

Every read of an enterprise's data for a purpose is recorded: one row per enterprise, or one
row for a whole-population use (matching every enterprise), which then appears in every
enterprise's list. Rows live in the transactional store (`zhida.db`, table `data_use`); a use
recorded inside a service's unit of work commits with that service's other writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa

from zhida.accounts import User, require_enterprise
from zhida.audit import log as audit_log
from zhida.db.tables import data_use
from zhida.db.uow import UnitOfWork
from zhida.profiles.errors import ProfileError

POPULATION = "population"
ENTERPRISE = "enterprise"


class DataUseError(ProfileError):
    """A data use without a purpose, an actor, or a legal basis or consent."""


@dataclass(frozen=True)
class DataUse:
    id: int
    used_at: datetime
    scope: str
    uscc: str | None
    fields: tuple[str, ...]
    purpose: str
    actor: str
    legal_basis: str | None
    consent_ref: str | None
    as_of: date | None
    enterprises: int


def use_row(
    *,
    fields: Sequence[str],
    purpose: str,
    actor: str,
    used_at: datetime,
    uscc: str | None = None,
    legal_basis: str | None = None,
    consent_ref: str | None = None,
    as_of: date | None = None,
    enterprises: int = 1,
) -> dict[str, Any]:
    """One use, checked and ready to insert (`uscc=None`: a whole-population use of
    `enterprises` rows); DataUseError names everything missing."""
    problems = []
    if not purpose.strip():
        problems.append("缺少用途（purpose）")
    if not actor.strip():
        problems.append("缺少使用人（actor）")
    if not (legal_basis or consent_ref):
        problems.append("缺少法律依据（legal_basis）或企业授权编号（consent_ref）")
    if not fields:
        problems.append("缺少使用的字段清单")
    if problems:
        raise DataUseError("数据使用记录不完整：" + "；".join(problems) + "。请补齐后再使用数据。")
    return {
        "used_at": used_at, "scope": ENTERPRISE if uscc else POPULATION, "uscc": uscc,
        "fields": sorted(set(fields)), "purpose": purpose, "actor": actor, "legal_basis": legal_basis,
        "consent_ref": consent_ref, "as_of": as_of, "enterprises": 1 if uscc else enterprises,
    }


def record_rows(uow: UnitOfWork, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Record checked uses (`use_row`) in one transaction, each with its audit entry: all of
    them or (on any error) none. Inside a caller's `with uow:` they commit with its writes."""
    with uow:
        ids = []
        for row in rows:
            use_id = int(uow.conn.execute(sa.insert(data_use).values(**row).returning(data_use.c.id)).scalar_one())
            uscc, used_at = row["uscc"], row["used_at"]
            audit_log.record(uow, kind="data.use", actor=row["actor"],
                             subject=f"enterprise:{uscc}" if uscc else "population",
                             data={"use": use_id, "fields": row["fields"], "purpose": row["purpose"],
                                   "legal_basis": row["legal_basis"], "consent_ref": row["consent_ref"],
                                   "enterprises": row["enterprises"]},
                             clock=partial(_same, used_at))
            ids.append(use_id)
        uow.commit()
    return ids


def record_use(
    uow: UnitOfWork,
    *,
    fields: Sequence[str],
    purpose: str,
    actor: str,
    used_at: datetime,
    uscc: str | None = None,
    legal_basis: str | None = None,
    consent_ref: str | None = None,
    as_of: date | None = None,
    enterprises: int = 1,
) -> int:
    """Record one use (`uscc=None`: a whole-population use of `enterprises` rows). Inside a
    caller's `with uow:` it commits with the caller's other writes."""
    row = use_row(fields=fields, purpose=purpose, actor=actor, used_at=used_at, uscc=uscc, legal_basis=legal_basis,
                  consent_ref=consent_ref, as_of=as_of, enterprises=enterprises)
    return record_rows(uow, [row])[0]


def _same(at: datetime) -> datetime:
    return at


def uses_of_enterprise(uow: UnitOfWork, uscc: str) -> list[DataUse]:
    """Every use that touched this enterprise, newest first (population-wide uses included)."""
    t = data_use
    q = sa.select(t).where(sa.or_(t.c.uscc == uscc, t.c.scope == POPULATION)).order_by(
        t.c.used_at.desc(), t.c.id.desc())
    with uow:
        return [_use(r) for r in uow.conn.execute(q).mappings()]


def data_uses_of(uow: UnitOfWork, uscc: str, *, actor: User) -> list[DataUse]:
    """The uses of a firm's data as the firm (or staff who may see any firm) may read them:
    every use that touched it, newest first."""
    require_enterprise(actor, uscc)
    return uses_of_enterprise(uow, uscc)


def _use(r: sa.RowMapping) -> DataUse:
    return DataUse(
        id=r["id"], used_at=r["used_at"], scope=r["scope"], uscc=r["uscc"], fields=tuple(r["fields"]),
        purpose=r["purpose"], actor=r["actor"], legal_basis=r["legal_basis"], consent_ref=r["consent_ref"],
        as_of=r["as_of"], enterprises=r["enterprises"],
    )


def requirement_fields(columns: Sequence[str]) -> list[str]:
    """Field, list and tag names read through frame columns (`revenue@2024` -> `revenue`,
    `list@高新技术企业` -> `list:高新技术企业`), for recording a whole-population use."""
    out = []
    for c in columns:
        kind, _, name = c.partition("@")
        if kind in ("list", "list_since", "tag", "zone"):
            out.append(f"{kind}:{name}")
        else:
            out.append(kind)
    return sorted(set(out))
