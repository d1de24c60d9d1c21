"""received("policy/clause"[, within = N years|months | since = date]): whether the firm was
paid under a clause (the ledger's received-benefits source, money.md). Unknown when the source
was not loaded for the firm; false when it was and holds no payment on or before as_of (a
closed world, like a loaded list); with a window, whether the latest payment falls inside it."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl

from zhida.rules.lang import ast, frame
from zhida.rules.lang.functions.base import Function, name_arg
from zhida.rules.lang.periods import window_start
from zhida.rules.lang.scaled import lit
from zhida.rules.lang.schema import Schema
from zhida.rules.lang.types import LABELS, T

if TYPE_CHECKING:
    from zhida.rules.evaluate.compile import Compiler
    from zhida.rules.evaluate.interpret import Interpreter
    from zhida.rules.explanation.explain import Explainer, FactSeen
    from zhida.rules.lang.typecheck import TypeChecker

USAGE = "已获得某条款的资金：received(\"政策编号/条款编号\")，可加 within = 3 years 或 since = 日期"
_SINCE = "例如 since = hitech_cert_on 或 since = 2023-01-01"


def _check(tc: TypeChecker, node: ast.Call) -> T:
    if len(node.args) != 1 or not isinstance(node.args[0], ast.Str):
        return tc.fail(node, "received 的第一个参数应为带引号的条款键 “政策编号/条款编号”", USAGE)
    key = node.args[0].value
    policy_id, _, clause_id = key.partition("/")
    if not policy_id or not clause_id or "/" in clause_id:
        return tc.fail(node.args[0], f"条款键 “{key}” 应写成 “政策编号/条款编号”",
                       "例如 received(\"wenzhou-2023-8-specialized/little-giant\")")
    names = [k for k, _ in node.kwargs]
    unknown = [k for k in names if k not in ("within", "since")]
    if unknown:
        return tc.fail(node, f"received 不认识参数 {unknown[0]}", "可用 within = 3 years 或 since = 日期")
    if len(names) > 1:
        return tc.fail(node, "within 与 since 只能二选一", USAGE)
    within, since = node.kwarg("within"), node.kwarg("since")
    if within is not None and not isinstance(within, ast.Duration):
        return tc.fail(within, f"within 应为时长，但写成了 “{within.text}”",
                       "例如 within = 3 years、within = 36 months")
    if since is not None:
        if isinstance(since, ast.Duration):
            return tc.fail(since, "since 应为日期", _SINCE)
        t = tc.infer(since)
        if t.base == "error":
            return t
        if t.base != "date" or t.series:
            return tc.fail(since, f"since 应为日期，但 “{since.text}” 是{LABELS.get(t.base, t.base)}", _SINCE)
    return T("bool")


def _polars(c: Compiler, node: ast.Call) -> pl.Expr:
    key = name_arg(node)
    c.requirements.received.add(key)
    ever = c.col(frame.received_column(key))
    within, since = node.kwarg("within"), node.kwarg("since")
    if isinstance(within, ast.Duration):
        start = lit(window_start(within, c.as_of), dtype=pl.Date)
    elif since is not None:
        start = c.value(since)
    else:
        return ever
    inside = c.col(frame.received_on_column(key)) >= start
    return pl.when(ever.is_null()).then(lit(None, dtype=pl.Boolean)).when(~ever).then(
        lit(False, dtype=pl.Boolean)).otherwise(inside)


def received_row(i: Interpreter, node: ast.Call) -> tuple[bool | None, date | None, int | None]:
    """(whether the clause was paid on or before as_of — None when the received source is
    unknown —, the latest payment date, the amount paid that day in fen)."""
    key = name_arg(node)
    ever = i.row.get(frame.received_column(key))
    on = i.row.get(frame.received_on_column(key))
    fen = i.row.get(frame.received_fen_column(key))
    return (None if ever is None else bool(ever), on, None if fen is None else int(fen))


def _reference(i: Interpreter, node: ast.Call) -> Any:
    ever, latest, _fen = received_row(i, node)
    within, since = node.kwarg("within"), node.kwarg("since")
    if ever is None or not ever or (within is None and since is None):
        return ever
    start = window_start(within, i.as_of) if isinstance(within, ast.Duration) else i.eval(since) if since else None
    return bool(latest >= start) if isinstance(latest, date) and isinstance(start, date) else None


def _reads(node: ast.Call, schema: Schema) -> list[str]:
    if not node.args or not isinstance(node.args[0], ast.Str):
        return []
    key = node.args[0].value
    return [frame.received_column(key), frame.received_on_column(key), frame.received_fen_column(key)]


def _facts(ex: Explainer, node: ast.Call) -> list[FactSeen]:
    ever, on, fen = received_row(ex.interp, node)
    key = name_arg(node)
    value = ("缺失" if ever is None else "未获得" if not ever else "已获得" if on is None
             else f"{on.isoformat()} 获得 {ex.amount_text(fen or 0)}")
    return [ex.fact(frame.received_column(key), f"已获资金“{key}”", value, ever is None)]


def received_text(ex: Explainer, node: ast.Call, held: bool) -> str:
    """“已于 2023-08-15 获得（政策/条款，100万元）” when the receipt counted, else
    “未获得过该项资金” (with the window, and the last payment outside it)."""
    _ever, on, fen = received_row(ex.interp, node)
    key = name_arg(node)
    if held:
        return (f"已于 {on.isoformat()} 获得（{key}，{ex.amount_text(fen or 0)}）" if on is not None
                else f"已获得过该项资金（{key}）")
    within, since = node.kwarg("within"), node.kwarg("since")
    if isinstance(within, ast.Duration):
        scope = f"近{within.amount}年内" if within.unit == "year" else f"近{within.amount}个月内"
    elif since is not None:
        start = ex.interp.eval(since)
        scope = f"{start.isoformat() if isinstance(start, date) else since.text}以来"
    else:
        scope = ""
    last = f"（最近一次于 {on.isoformat()} 获得，不在期限内）" if on is not None else ""
    return f"{scope}未获得过该项资金{last}"


def _atom(ex: Explainer, node: ast.Call) -> str:
    return received_text(ex, node, held=True)


ENTRIES = (
    Function("received", USAGE, 'not received("wenzhou-2023-8-specialized/little-giant")',
             _check, _polars, _reference, reads=_reads, facts=_facts, reason=received_text, held=_atom,
             named=("within", "since")),
)
