"""The static types of the rules language: what an expression's value is (money, a count,
a date, a code, a condition), whether it is one value or a series over periods, and what
names mean while checking one policy (`Env`). The checker itself is typecheck.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from zhida.rules.lang.schema import NUMERIC_TYPES, Schema

NUMERIC = frozenset({"money", "count", "number"})

@dataclass(frozen=True)
class T:
    """A static type. `base` is money|count|number|bool|date|string|list; `series` marks a
    value per period of a range, which only an aggregate turns back into one value."""

    base: str
    series: bool = False
    elem: str | None = None

    def scalar(self) -> T:
        return T(self.base, False, self.elem)


LABELS = {"money": "金额", "count": "人数/个数", "number": "数值", "bool": "是/否",
          "date": "日期", "string": "代码/文本", "list": "列表"}


def field_base(ftype: str) -> str:
    if ftype in ("number", "percent"):
        return "number"
    if ftype in NUMERIC_TYPES:
        return ftype
    if ftype in ("code", "text"):
        return "string"
    return ftype


@dataclass
class Env:
    """What names mean while checking one policy: the schema plus the policy's parameters
    (name → static type base)."""

    schema: Schema
    params: Mapping[str, str] = field(default_factory=dict)



def join_numeric(a: str, b: str) -> str:
    if "money" in (a, b):
        return "money"
    if a == b:
        return a
    return "number"
