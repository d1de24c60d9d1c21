"""The CLI's one error translator: known errors become a Chinese message and an exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from zhida.errors import ZhidaError
from zhida.rules.lang.errors import RulesError

P = ParamSpec("P")
R = TypeVar("R")
_err = Console(stderr=True, soft_wrap=True)


def fail(message: str, fix: str = "") -> NoReturn:
    _err.print(f"错误：{message}" + (f" —— 修改建议：{fix}" if fix else ""), style="red", markup=False)
    raise typer.Exit(2)


def parse_date(text: str | None) -> date:
    """A date option: YYYY-MM-DD, or today when absent (entrypoints are where today is read)."""
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"日期“{text}”应写成 YYYY-MM-DD") from None


def translate_errors(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (RulesError, ZhidaError) as e:
            _err.print(str(e), style="red", markup=False)
            raise typer.Exit(getattr(e, "exit_code", 2)) from e

    return wrapper
