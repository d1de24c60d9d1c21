"""One enterprise's profile with lineage: every value, its source record, and which one wins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import polars as pl

from zhida.accounts import NotAllowed, Permission, User, can, require_enterprise
from zhida.audit import log as audit_log
from zhida.db.uow import UnitOfWork
from zhida.profiles.datause import record_use
from zhida.profiles.facts import FactView
from zhida.profiles.registry import FieldDef, Registry
from zhida.profiles.store import ProfileStore


def mask(value: str, how: str | None) -> str:
    """Display masking of personal information (the store keeps the full value): an account
    6222 **** **** 1234, a name 张**, an ID number 3303**********1234, a phone 138****5678."""
    if how == "account" and len(value) > 8:
        return f"{value[:4]} **** **** {value[-4:]}"
    if how == "name" and value:
        return value[0] + "*" * (len(value) - 1)
    if how == "id_number" and len(value) > 8:
        return value[:4] + "*" * (len(value) - 8) + value[-4:]
    if how == "phone" and len(value) > 7:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    if how in ("id_number", "phone"):
        return "*" * len(value)              # too short to keep any of it
    return value


def display(value: object, f: FieldDef, unmasked: bool = False) -> str:
    if value is None:
        return ""
    if f.type == "money":
        fen = int(value)  # type: ignore[call-overload]
        sign, fen = ("-" if fen < 0 else ""), abs(fen)
        return f"{sign}{fen // 100:,}.{fen % 100:02d} 元"
    if f.type in ("number", "percent"):
        scale = f.scale if f.scale is not None else 4
        v = int(value) / 10**scale  # type: ignore[call-overload]
        return f"{v * 100:.2f}%" if f.type == "percent" else f"{v:.{scale}f}"
    if f.type == "bool":
        return "是" if value else "否"
    text = str(value)
    if f.classification == "secret":
        return "（秘密级，不予显示）"
    return text if unmasked or f.classification != "personal" else mask(text, f.mask)


def trace(store: ProfileStore, registry: Registry, uscc: str, as_of: date, unmasked: bool = False) -> pl.DataFrame:
    """Every stored value of the enterprise known on `as_of`, with source lineage and `chosen`."""
    view = FactView(store, registry, as_of)
    rows: list[dict[str, object]] = []
    for b in view.batches:
        if not b.fields:
            continue
        df = store.facts(b).filter(pl.col("uscc") == uscc).collect()
        for rec in df.iter_rows(named=True):
            for fid in b.fields:
                if rec[fid] is None:
                    continue
                f = registry.fields[fid]
                order = f.sources
                rows.append({
                    "field": fid, "label": f.label, "period": rec["period"] if f.period != "none" else None,
                    "value": display(rec[fid], f, unmasked), "source": registry.sources[b.source].label,
                    "record_id": rec["_record_id"], "row": rec["_row"], "file": b.file_name,
                    "loaded_at": b.loaded_at, "known_on": b.known_on,
                    "_rank": order.index(b.source) if b.source in order else len(order),
                    "_known": b.known_on, "_seq": b.seq, "_p": rec["period"] or "",
                })
    if not rows:
        return pl.DataFrame()
    df = pl.DataFrame(rows).sort(["field", "period", "_rank", "_known", "_seq", "_p", "row"],
                                 descending=[False, False, False, True, True, True, True], nulls_last=True)
    first = pl.int_range(0, pl.len()).over(["field", "period"]) == 0
    return df.with_columns(first.alias("chosen")).drop("_rank", "_known", "_seq", "_p")


def list_entries(store: ProfileStore, registry: Registry, uscc: str, as_of: date) -> pl.DataFrame:
    """The enterprise's entries in every list and tag, from each list's latest snapshot."""
    from zhida.profiles.lists import ListView

    lv = ListView(FactView(store, registry, as_of))
    parts = []
    for name in [*registry.lists, *registry.tags]:
        e = lv.entries(name)
        if e is not None:
            parts.append(e.filter(pl.col("uscc") == uscc).with_columns(pl.lit(name).alias("list")))
    return pl.concat(parts) if parts else pl.DataFrame()


def view_profile(uow: UnitOfWork, store: ProfileStore, registry: Registry, uscc: str, as_of: date, *,
                 actor: User, purpose: str, legal_basis: str, whole: bool = False,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> pl.DataFrame:
    """An enterprise's profile with lineage, as a person may see it: personal values masked,
    or — `whole` — shown whole to a role whose work needs them (data officers, reviewers), for a
    stated purpose; every view is recorded as a data use, and a whole view of personal values
    also as a `data.reveal` entry of the audit log naming the fields."""
    require_enterprise(actor, uscc)
    own = actor.uscc == uscc
    if whole and not (own or can(actor, Permission.LOAD_DATA) or can(actor, Permission.REVIEW_DEPARTMENT_ITEMS)):
        raise NotAllowed(f"用户 {actor.username} 不能查看完整的个人信息；企业本身、数据管理人员或审核人员因工作需要"
                         "方可查看，且须写明用途。")
    if whole and not purpose.strip():
        raise NotAllowed("查看完整的个人信息须写明用途（如“核对收款账户”）。")
    df = trace(store, registry, uscc, as_of, unmasked=whole)
    if df.is_empty():
        return df
    fields = df["field"].unique().to_list()
    revealed = sorted(f for f in fields if whole and registry.fields[f].classification == "personal")
    at = clock()
    with uow:
        record_use(uow, uscc=uscc, fields=fields, purpose=purpose + ("（含完整个人信息）" if revealed else ""),
                   actor=actor.username, legal_basis=legal_basis, used_at=at, as_of=as_of)
        if revealed:
            audit_log.record(uow, kind="data.reveal", actor=actor.username, subject=f"enterprise:{uscc}",
                             data={"fields": revealed, "purpose": purpose}, clock=lambda: at)
        uow.commit()
    return df
