"""Errors of the rules language. Every problem names where it is and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding about a policy file, reported with its location and a fix."""

    message: str
    file: str = "<policy>"
    line: int | None = None
    field: str = ""
    value: str = ""
    fix: str = ""
    severity: Severity = "error"

    def render(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [f"{where}: {'错误' if self.severity == 'error' else '警告'}"]
        if self.field:
            parts.append(f"[{self.field}]")
        parts.append(self.message)
        text = " ".join(parts)
        if self.value:
            text += f"（值：{self.value}）"
        if self.fix:
            text += f" —— 修改建议：{self.fix}"
        return text


class RulesError(Exception):
    """Base of all errors raised by `zhida.rules`."""


class ExpressionError(RulesError):
    """An expression that does not parse or does not type-check.

    `line` and `column` are 1-based positions inside the expression text.
    """

    def __init__(self, message: str, *, line: int = 1, column: int = 1, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.fix = fix


class PolicyError(RulesError):
    """A policy document with one or more problems; all of them are listed at once."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


class FrameError(RulesError):
    """The population frame lacks columns or has the wrong types."""


class AmountOverflow(RulesError):
    """An amount beyond what integer fen can hold (about 9.2×10^16 yuan): never a real award, so
    the firm's data are wrong. `pairs` are (clause key, frame row) of the first offenders."""

    def __init__(self, pairs: list[tuple[str, int]], uscc: list[str | None] | None = None) -> None:
        self.pairs = pairs
        who = [f"条款 {key} 第 {row + 1} 行" + (f"（企业 {u}）" if u else "")
               for (key, row), u in zip(pairs, uscc or [None] * len(pairs), strict=True)]
        super().__init__("金额超出可表示范围（超过 92,233,720,368,547,758.07 元）：" + "；".join(who)
                         + "。这不会是真实的奖补金额，请核对这些企业参与计算的数据（单位、数量级）后重新匹配。")
