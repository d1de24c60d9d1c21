"""What the rules may refer to: fields, lists, tags and zones.

The rules package does not know where these come from. `zhida.profiles` builds a
`Schema` from the field registry; tests build small ones directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal["money", "count", "number", "percent", "bool", "date", "code", "text"]
Granularity = Literal["none", "month", "year"]
Missing = Literal["unknown", "zero"]

FIELD_TYPES: tuple[FieldType, ...] = (
    "money", "count", "number", "percent", "bool", "date", "code", "text",
)
NUMERIC_TYPES: frozenset[str] = frozenset({"money", "count", "number", "percent"})
DEFAULT_SCALE: dict[str, int] = {"money": 2, "count": 0, "number": 4, "percent": 4}


@dataclass(frozen=True)
class Field:
    """One profile field as the rules see it (see docs/decisions/0001)."""

    id: str
    label: str
    type: FieldType
    period: Granularity = "none"
    missing: Missing = "unknown"
    scale: int | None = None
    codes: tuple[str, ...] | None = None
    code_names: tuple[tuple[str, str], ...] | None = None   # (code, name) — 440304 福田区, for people

    def name_of(self, code: object) -> str:
        """A code as a person reads it: “440304（福田区）”; a code that is already a word as it is."""
        text = str(code)
        if self.code_names is None or not text.isascii():
            return text
        name = dict(self.code_names).get(text)
        return f"{text}（{name}）" if name and name != text else text

    @property
    def numeric_scale(self) -> int:
        """Decimal places of the integer encoding in the population frame."""
        if self.scale is not None:
            return self.scale
        return DEFAULT_SCALE.get(self.type, 0)


@dataclass(frozen=True)
class ListDef:
    """A dated list (白名单/黑名单/认定名单). Closed-world once loaded."""

    name: str
    label: str = ""
    freshness_days: int | None = None


@dataclass(frozen=True)
class Schema:
    fields: Mapping[str, Field]
    lists: Mapping[str, ListDef] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    zones: frozenset[str] = frozenset()
    region_field: str = "district_code"
    location_fields: tuple[str, str] = ("longitude", "latitude")

    @classmethod
    def build(
        cls,
        fields: Iterable[Field],
        lists: Iterable[ListDef] = (),
        tags: Iterable[str] = (),
        zones: Iterable[str] = (),
        region_field: str = "district_code",
    ) -> Schema:
        return cls(
            fields={f.id: f for f in fields},
            lists={x.name: x for x in lists},
            tags=frozenset(tags),
            zones=frozenset(zones),
            region_field=region_field,
        )

    def resolve(self, name: str) -> Field | None:
        """A field by id, or by its Chinese label (labels are aliases of ids)."""
        found = self.fields.get(name)
        if found is not None:
            return found
        for f in self.fields.values():
            if f.label == name:
                return f
        return None
