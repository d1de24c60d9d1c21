"""What the rules may refer to: fields, lists, tags and zones.

The rules package does not know where these come from. `zhida.profiles` builds a
`Schema` from the field registry; tests build small ones directly.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from zhida.rules.lang import ast

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

    @cached_property
    def _by_label(self) -> dict[str, Field]:
        return {f.label: f for f in self.fields.values()}

    def resolve(self, name: str) -> Field | None:
        """A field by id, or by its Chinese label: an exact match, never a guess (labels are
        aliases of ids; the registry keeps both unique, see docs/decisions/0021)."""
        return self.fields.get(name) or self._by_label.get(name)

    def closest(self, name: str, n: int = 3) -> list[str]:
        """Names a misspelt `name` may have meant, closest first: labels for a Chinese name, ids
        for an ASCII one; labels that contain it come after the close ones (参保人数 → 年末参保人数)."""
        words = list(self.fields) if name.isascii() else list(self._by_label)
        close = difflib.get_close_matches(name, words, n=n, cutoff=0.6 if name.isascii() else 0.5)
        holding = [w for w in words if name in w and w not in close]
        return (close + sorted(holding, key=len))[:n]

    def with_ids(self, node: ast.Node) -> ast.Node:
        """The expression with every field named by its id: an expression written with labels
        and the same one written with ids give equal trees (names that resolve to no field
        are left as written)."""
        renamed: ast.Node = _rename(node, self)
        return renamed


def _rename(value: Any, schema: Schema) -> Any:
    if isinstance(value, ast.FieldRef):
        f = schema.resolve(value.name)
        return value if f is None else dataclasses.replace(value, name=f.id)
    if isinstance(value, ast.Node):
        changes = {x.name: _rename(getattr(value, x.name), schema) for x in dataclasses.fields(value)
                   if x.init and x.name not in ("span", "text")}
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(_rename(v, schema) for v in value)
    return value
