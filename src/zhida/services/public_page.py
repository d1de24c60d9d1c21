"""A firm's public page, the one its enterprise code links to: registration facts, certifications
(list memberships such as 高新技术企业 or 专精特新), licences (行政许可: the lists of the licence
source, e.g. 食品经营许可) and credit status (经营异常名录, …).

Only what may be shown to anyone is on it: the fields the registry classifies as `public`, the
lists in force on the date, and for each credit list whether the firm is on it. Read through the
profile APIs (`trace`, `list_entries`) as known on `as_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from zhida.profiles.facts import FactView
from zhida.profiles.lists import ListView
from zhida.profiles.profile import list_entries, trace
from zhida.profiles.registry import ListInfo, Registry
from zhida.profiles.store import Batch, ProfileStore
from zhida.services.errors import ServiceError

CREDIT_SOURCE = "credit"
LICENCE_SOURCE = "licence"


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Listing:
    """A membership in force: the list, its department, since when and until when."""

    name: str
    label: str
    department: str
    since: date | None
    until: date | None
    ref: str | None = None           # a licence's number


@dataclass(frozen=True)
class CreditStatus:
    """A credit list and the firm's entries in force on it; `in_force` is None when the list was
    never loaded or is older than its declared freshness (then nothing may be said)."""

    name: str
    label: str
    in_force: int | None

    @property
    def text(self) -> str:
        if self.in_force is None:
            return "数据未导入或已过时，暂无法确认"
        return f"有 {self.in_force} 条" if self.in_force else "无"


@dataclass(frozen=True)
class PublicPage:
    uscc: str
    name: str
    as_of: date
    registration: tuple[Fact, ...]
    certifications: tuple[Listing, ...]
    credit: tuple[CreditStatus, ...]
    fields: tuple[str, ...]          # what was read, for the data-use record
    licences: tuple[Listing, ...] = ()   # 行政许可 in force


def credit_lists(registry: Registry) -> list[ListInfo]:
    """The credit source's lists, in registry order (经营异常名录, 严重违法失信名单, 行政处罚)."""
    return [info for info in registry.lists.values() if info.source == CREDIT_SOURCE]


def credit_snapshots(store: ProfileStore, registry: Registry, uscc: str, as_of: date) -> dict[str, Batch | None]:
    """For each credit list, the load whose snapshot decides on `as_of` (None: never loaded or stale)."""
    view = ListView(FactView(store, registry, as_of, usccs=[uscc]))
    return {info.name: view.snapshot(info.name) for info in credit_lists(registry)}


def chosen_facts(store: ProfileStore, registry: Registry, uscc: str, as_of: date) -> dict[str, str]:
    """The firm's current (period-less) values, as displayed, by field id; an unknown firm is an error."""
    df = trace(store, registry, uscc, as_of)
    if df.is_empty():
        raise ServiceError(f"画像库中没有企业 {uscc}（数据截至 {as_of}）；请核对统一社会信用代码"
                           "（18 位，字母大写），或先导入市场监管的企业登记信息。")
    rows = df.filter(pl.col("chosen") & pl.col("period").is_null()).select("field", "value")
    return dict(rows.iter_rows())


def in_force(entries: pl.DataFrame, on: date) -> pl.DataFrame:
    """List entries in force on a date: not removed by then, not expired (as `ListView.active`)."""
    if entries.is_empty():
        return entries
    return entries.filter((pl.col("removed_on").is_null() | (pl.col("removed_on") > on))
                          & (pl.col("expires_on").is_null() | (pl.col("expires_on") >= on)))


def public_page(store: ProfileStore, registry: Registry, uscc: str, as_of: date) -> PublicPage:
    """What the enterprise code's link shows. Public data only; the caller records the use."""
    values = chosen_facts(store, registry, uscc, as_of)
    shown = [f for f in registry.fields.values() if f.classification == "public" and f.id in values and not f.key]
    registration = [Fact(registry.fields["uscc"].label, uscc)] if "uscc" in registry.fields else []
    for f in shown:
        label = registry.code_lists.get(f.codes or "", {}).get(values[f.id])
        registration.append(Fact(f.label, f"{values[f.id]}（{label}）" if label else values[f.id]))
    active = in_force(list_entries(store, registry, uscc, as_of), as_of)
    certifications: list[Listing] = []
    licences: list[Listing] = []
    for row in [] if active.is_empty() else active.sort("listed_on", nulls_last=True).iter_rows(named=True):
        info = registry.lists.get(row["list"])
        if info is None or info.source == CREDIT_SOURCE:
            continue
        licence = info.source == LICENCE_SOURCE
        (licences if licence else certifications).append(Listing(
            info.name, info.label, registry.sources[info.source].department, row["listed_on"], row["expires_on"],
            row["ref"] if licence else None))
    snapshots = credit_snapshots(store, registry, uscc, as_of)
    counts = dict(active.group_by("list").len().iter_rows()) if not active.is_empty() else {}
    credit = [CreditStatus(info.name, info.label, None if snapshots[info.name] is None else counts.get(info.name, 0))
              for info in credit_lists(registry)]
    return PublicPage(uscc=uscc, name=values.get("enterprise_name", ""), as_of=as_of,
                      registration=tuple(registration), certifications=tuple(certifications), credit=tuple(credit),
                      fields=tuple([f.id for f in shown] + [f"list:{name}" for name in registry.lists]),
                      licences=tuple(licences))
