"""The policy YAML format, as a schema (pydantic). docs/policy-format.md describes it for officers."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zhida.rules.lang.verdicts import EXPECTED, Mode, Status

MODE_LABELS: dict[str, str] = {Mode.EXEMPT: "免申即享", Mode.INSTANT: "即申即办", Mode.REVIEWED: "申报审批",
                               Mode.REPORT_ONLY: "政策体检"}

_ID = r"^[a-z0-9][a-z0-9_\-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RoundingSpec(_Strict):
    unit: Literal["fen", "yuan", "hundred_yuan", "thousand_yuan", "wan"] = "fen"
    mode: Literal["half_up", "half_even", "down", "up", "floor", "ceil"] = "half_up"


class ExclusiveSpec(_Strict):
    """同一事项不重复享受: at most one clause of a group pays an enterprise."""

    group: str = Field(min_length=1)
    rule: Literal["highest", "priority"] = "highest"
    priority: int = 0


class ExpectSpec(_Strict):
    status: Status
    amount: str | int | float | None = None
    reasons: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)

    @field_validator("status")
    @classmethod
    def _a_verdict(cls, v: Status) -> Status:
        if v not in EXPECTED:
            raise ValueError(f"用例的 status 应为 {'、'.join(EXPECTED)} 之一；“差一点”（{v}）在用例中写 ineligible")
        return v


class _FactsSpec(_Strict):
    """An enterprise's facts as of a date (the fact-file format of docs/rules.md)."""

    name: str = Field(min_length=1)
    as_of: date | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    lists: dict[str, list[dict[str, Any]]] | None = None
    tags: list[str] | None = None
    zones: list[str] | None = None
    # received benefits by clause key ("policy/clause" → [{paid_on, amount}]); {} = none received.
    # Left out of the dump when absent, so documents without it keep their content hash.
    received: dict[str, list[dict[str, Any]]] | None = Field(default=None, exclude_if=lambda v: v is None)


class CaseSpec(_FactsSpec):
    """A test case: an enterprise's facts and what the clause must decide for it."""

    expect: ExpectSpec


class PolicyCaseSpec(_FactsSpec):
    """A policy-level case: expectations for several clauses (exclusivity, caps)."""

    expect: dict[str, ExpectSpec]


class ClauseSpec(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    mode: Mode
    when: str = Field(min_length=1)
    amount: str | int = "0"
    # exact: the formula is what is paid; ceiling: “不超过 X” — the formula is the most, the
    # reviewing department fixes the figure (only for 申报审批, where someone reviews).
    amount_is: Literal["exact", "ceiling"] = "exact"
    cap: str | int | None = None
    rounding: RoundingSpec = RoundingSpec()
    exclusive: ExclusiveSpec | None = None
    stackable: bool = False
    near_misses: bool = False   # keep "one condition short" pairs in every match run (see docs/matching.md)
    materials: list[str] = Field(default_factory=list)
    how_to_apply: str = ""
    deadline: date | None = None
    department: str | None = None
    source: str = ""
    tests: list[CaseSpec] = Field(default_factory=list)

    @field_validator("amount", "cap", mode="before")
    @classmethod
    def _numbers_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


class ParameterSpec(_Strict):
    label: str = Field(min_length=1)
    unit: Literal["money", "percent", "number", "count"] = "number"
    source: str = Field(min_length=1)
    values: dict[date, Any] = Field(min_length=1)

    @field_validator("values", mode="before")
    @classmethod
    def _years_as_dates(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {date(int(k), 1, 1) if isinstance(k, int) or (isinstance(k, str) and k.isdigit())
                    else k: val for k, val in v.items()}
        return v


class EnterpriseCapSpec(_Strict):
    """A yearly cap on what one enterprise gets from this policy (e.g. 温州 总量控制). Policies
    naming the same `group` share one cap (温州: 市、区 awards of a year together); each of
    them states the same amount and condition."""

    amount: str
    when: str = "true"
    group: str | None = Field(default=None, min_length=1)
    source: str = ""


class PeriodSpec(_Strict):
    """One stretch in which the document applies: `from`/`to` inclusive, and the notice that set it
    (人社部发〔2024〕40号 ran to 2024-12-31 and the 2025 notice from 2025-04-14: a gap between)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True)

    start: date = Field(alias="from")
    end: date | None = Field(default=None, alias="to")
    source: str = ""


class PolicySpec(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    document_number: str = Field(min_length=1)
    region: str = Field(pattern=r"^\d{6}$")
    source_url: str = Field(pattern=r"^https?://")
    valid_from: date
    valid_to: date | None = None
    periods: list[PeriodSpec] = Field(default_factory=list)   # in force only inside these, when given
    department: str = Field(min_length=1)
    budget: str | int | None = None
    summary: str = ""
    notes: str = ""
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    enterprise_cap: EnterpriseCapSpec | None = None
    clauses: list[ClauseSpec] = Field(min_length=1)
    tests: list[PolicyCaseSpec] = Field(default_factory=list)

    @field_validator("budget", mode="before")
    @classmethod
    def _budget_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    @field_validator("region", mode="before")
    @classmethod
    def _region_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v
