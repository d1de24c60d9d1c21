"""Collects the policy pack's own test cases (policies/*.yaml) as pytest items.

Each case runs through the batch engine and the explainer, like `zhida policy test`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from zhida.rules.check.cases import Case, cases_of, run_case
from zhida.rules.lang.errors import PolicyError
from zhida.rules.lang.schema import Schema
from zhida.rules.model.policy import load_policy_file

POLICIES = Path(__file__).parent / "policies"


@cache
def _schema() -> Schema:
    from zhida.catalog import load_schema

    return load_schema()


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and POLICIES in file_path.parents:
        return PolicyFile.from_parent(parent, path=file_path)
    return None


class PolicyFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            policy = load_policy_file(self.path)
        except PolicyError as e:
            yield PolicyLoadItem.from_parent(self, name="load", error=e)
            return
        for case in cases_of(policy):
            clause = next(iter(case.expect)) if len(case.expect) == 1 else "policy"
            yield PolicyCaseItem.from_parent(self, name=f"{clause}::{case.name}", case=case)


class PolicyLoadItem(pytest.Item):
    def __init__(self, *, error: PolicyError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return str(self.error)


class CaseFailed(Exception):
    pass


class PolicyCaseItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        result = run_case(self.case, _schema())
        if not result.ok:
            raise CaseFailed(f"{result.where} 「{result.name}」\n" + "\n".join(result.diffs))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.case.line or 1) - 1, f"policy case: {self.name}"
