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
