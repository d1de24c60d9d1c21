"""Dated parameters: values by effective date and region, like OpenFisca parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

DEFAULT_REGION = "default"


@dataclass(frozen=True)
class Parameter:
    """A named value that changes over time and may differ by region (GB/T 2260 code).

    `values` maps an effective date to either one value or {region code or "default": value}.
    A value applies from its date until the next one.
    """

    name: str
    label: str = ""
    unit: str = "number"  # money | percent | number | count
    source: str = ""
    values: Mapping[date, Mapping[str, Fraction]] = field(default_factory=dict)

    @property
    def type_base(self) -> str:
        return {"money": "money", "count": "count"}.get(self.unit, "number")

    def at(self, as_of: date) -> Mapping[str, Fraction] | None:
        """The regional values in force on `as_of`, or None before the first date."""
        current: Mapping[str, Fraction] | None = None
        for start in sorted(self.values):
            if start <= as_of:
                current = self.values[start]
        return current


def lookup(values: Mapping[str, Fraction], region: str | None) -> Fraction | None:
    """The most specific regional value for a 6-digit region code.

    330302 (鹿城区) matches 330302, then 330300 (温州市), then 330000 (浙江省), then default.
    """
    if region:
        for candidate in _region_chain(region):
            if candidate in values:
                return values[candidate]
    return values.get(DEFAULT_REGION)


def _region_chain(region: str) -> list[str]:
    code = region[:6].ljust(6, "0")
    return list(dict.fromkeys([code, code[:4] + "00", code[:2] + "0000"]))
