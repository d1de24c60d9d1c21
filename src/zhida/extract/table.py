"""The phrase table (phrases.yaml) as a lookup: the longest phrase at each position wins."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from ruamel.yaml import YAML


@dataclass(frozen=True)
class Entry:
    phrase: str
    kind: str            # measure | list | tag | state | received | period
    target: str          # field id, list or tag name, period
    op: str = "=="
    value: Any = True
    requires: str | None = None
    monthly: str | None = None   # the month-by-month fact to read instead over “近N个月”


@dataclass(frozen=True)
class Hit:
    entry: Entry
    start: int
    end: int


@dataclass(frozen=True)
class PhraseTable:
    entries: tuple[Entry, ...]
    benefit_nouns: tuple[str, ...]
    exclusion_after: tuple[str, ...]
    exclusion_before: tuple[str, ...]

    def find(self, text: str, kinds: tuple[str, ...]) -> list[Hit]:
        """Non-overlapping hits of the given kinds, longest first at each position."""
        cands = sorted((e for e in self.entries if e.kind in kinds), key=lambda e: -len(e.phrase))
        taken = [False] * len(text)
        hits = []
        for e in cands:
            start = text.find(e.phrase)
            while start >= 0:
                end = start + len(e.phrase)
                if not any(taken[start:end]):
                    hits.append(Hit(e, start, end))
                    for i in range(start, end):
                        taken[i] = True
                start = text.find(e.phrase, start + 1)
        return sorted(hits, key=lambda h: h.start)

    def fields(self) -> set[str]:
        return ({e.target for e in self.entries if e.kind in ("measure", "state")}
                | {e.monthly for e in self.entries if e.monthly})

    def names(self, kind: str) -> set[str]:
        return {e.target for e in self.entries if e.kind == kind}


def parse_table(doc: dict[str, Any]) -> PhraseTable:
    entries: list[Entry] = []
    for m in doc.get("measures", ()):
        entries += [Entry(p, "measure", m["field"], monthly=m.get("monthly")) for p in m["phrases"]]
    for x in doc.get("lists", ()):
        entries += [Entry(p, "list", x["list"]) for p in x["phrases"]]
    for x in doc.get("tags", ()):
        entries += [Entry(p, "tag", x["tag"]) for p in x["phrases"]]
    for s in doc.get("states", ()):
        value = s["value"]
        value = tuple(value) if isinstance(value, list) else value
        entries += [Entry(p, "state", s["field"], s["op"], value, s.get("requires")) for p in s["phrases"]]
    entries += [Entry(p, "received", "received", "==", False) for p in doc.get("received", ())]
    for x in doc.get("periods", ()):
        entries += [Entry(p, "period", x["period"]) for p in x["phrases"]]
    return PhraseTable(tuple(entries), tuple(doc.get("benefit_nouns", ())),
                       tuple(doc.get("exclusion_after", ())), tuple(doc.get("exclusion_before", ())))


@lru_cache(maxsize=1)
def load_table() -> PhraseTable:
    """The table shipped with the package."""
    raw = (resources.files("zhida.extract") / "phrases.yaml").read_text(encoding="utf-8")
    return parse_table(YAML(typ="safe", pure=True).load(raw))
