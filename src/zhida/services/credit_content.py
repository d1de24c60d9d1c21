"""What a special credit report says: the firm's entries on the credit source's lists (经营异常名录,
严重违法失信名单, 行政处罚) whose listing or decision date falls within the report period, with the
load each list was read from.

The content is plain data with one canonical byte form (`to_json`): compact UTF-8 JSON, keys in
a fixed order. Its SHA-256 is the content hash that the report's verification code signs, and the
same bytes travel inside the PDF as the attachment `credit-report.json`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from zhida.profiles.profile import list_entries
from zhida.profiles.registry import Registry
from zhida.profiles.store import ProfileStore
from zhida.services.errors import ServiceError, VerificationFailed
from zhida.services.public_page import chosen_facts, credit_lists, credit_snapshots

FORMAT = "zhida-credit-report/v1"
ATTACHMENT = "credit-report.json"


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class Entry:
    """One listing or penalty decision."""

    listed_on: date | None
    reason: str
    ref: str
    removed_on: date | None
    expires_on: date | None

    def status(self, on: date) -> str:
        if self.removed_on is not None and self.removed_on <= on:
            return f"已移出（{self.removed_on}）"
        if self.expires_on is not None and self.expires_on < on:
            return f"公示期满（{self.expires_on}）"
        return "公示中"

    def to_dict(self) -> dict[str, Any]:
        return {"listed_on": _iso(self.listed_on), "reason": self.reason, "ref": self.ref,
                "removed_on": _iso(self.removed_on), "expires_on": _iso(self.expires_on)}


@dataclass(frozen=True)
class Section:
    """One credit list: where it came from and the firm's entries in the period."""

    name: str
    label: str
    description: str
    department: str
    file: str
    known_on: str
    entries: tuple[Entry, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"list": self.name, "label": self.label, "description": self.description,
                "department": self.department, "file": self.file, "known_on": self.known_on,
                "entries": [e.to_dict() for e in self.entries]}


@dataclass(frozen=True)
class ReportContent:
    uscc: str
    name: str
    start: date
    end: date
    as_of: date          # the credit data as known on this date
    issued: date
    issuer: str          # the signing key's name
    sections: tuple[Section, ...]

    @property
    def records(self) -> int:
        return sum(len(s.entries) for s in self.sections)

    def to_json(self) -> bytes:
        doc = {"format": FORMAT, "uscc": self.uscc, "name": self.name,
               "period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
               "data_as_of": self.as_of.isoformat(), "issued": self.issued.isoformat(), "issuer": self.issuer,
               "records": self.records, "sections": [s.to_dict() for s in self.sections]}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def digest(self) -> bytes:
        return hashlib.sha256(self.to_json()).digest()

    @classmethod
    def from_json(cls, raw: bytes) -> ReportContent:
        try:
            doc = json.loads(raw)
            if doc.get("format") != FORMAT:
                raise ValueError(doc.get("format"))
            sections = tuple(
                Section(s["list"], s["label"], s["description"], s["department"], s["file"], s["known_on"],
                        tuple(Entry(_day(e["listed_on"]), e["reason"], e["ref"], _day(e["removed_on"]),
                                    _day(e["expires_on"])) for e in s["entries"]))
                for s in doc["sections"])
            return cls(doc["uscc"], doc["name"], date.fromisoformat(doc["period"]["from"]),
                       date.fromisoformat(doc["period"]["to"]), date.fromisoformat(doc["data_as_of"]),
                       date.fromisoformat(doc["issued"]), doc["issuer"], sections)
        except (ValueError, KeyError, TypeError) as e:
            raise VerificationFailed(f"信用报告中的内容附件（{ATTACHMENT}）格式不对（{e}）；"
                                     "文件可能被改动过。") from None


def fields_used(registry: Registry) -> list[str]:
    """What a report reads, for the data-use record."""
    return ["enterprise_name", *(f"list:{info.name}" for info in credit_lists(registry))]


def collect(store: ProfileStore, registry: Registry, uscc: str, start: date, end: date, *, as_of: date,
            issued: date, issuer: str) -> ReportContent:
    """The report's content from the profile store as known on `as_of`. Refuses when a credit list
    was never loaded or is stale: a report must not say "no record" for data it does not have."""
    if start > end:
        raise ServiceError(f"报告期起始日 {start} 晚于截止日 {end}；请用 --from 起始日 --to 截止日（YYYY-MM-DD）。")
    if end > issued:
        raise ServiceError(f"报告期截止日 {end} 晚于出具日 {issued}；报告只能覆盖已经过去的日期。")
    snapshots = credit_snapshots(store, registry, uscc, as_of)
    missing = [name for name, batch in snapshots.items() if batch is None]
    if missing:
        raise ServiceError(f"信用信息“{'、'.join(missing)}”在 {as_of} 未导入或已超过更新期限，无法出具报告"
                           "（缺少数据时不能证明“无记录”）；请先导入信用办的最新信用信息"
                           "（zhida data load credit <信用信息文件>）。")
    name = chosen_facts(store, registry, uscc, as_of).get("enterprise_name", "")
    entries = list_entries(store, registry, uscc, as_of)
    if not entries.is_empty():
        entries = entries.filter(pl.col("listed_on").is_between(start, end)).sort(["listed_on", "ref"],
                                                                                   nulls_last=True)
    sections = []
    for info in credit_lists(registry):
        batch = snapshots[info.name]
        assert batch is not None
        rows = [] if entries.is_empty() else entries.filter(pl.col("list") == info.name).iter_rows(named=True)
        sections.append(Section(
            info.name, info.label, info.description, registry.sources[info.source].department, batch.file_name,
            batch.known_on, tuple(Entry(r["listed_on"], r["reason"] or "", r["ref"] or "", r["removed_on"],
                                        r["expires_on"]) for r in rows)))
    return ReportContent(uscc=uscc, name=name, start=start, end=end, as_of=as_of, issued=issued, issuer=issuer,
                         sections=tuple(sections))
