"""received("policy/clause"[, within = N years|months | since = date]): whether the firm was
paid under a clause (the ledger's received-benefits source, money.md). Unknown when the source
was not loaded for the firm; false when it was and holds no payment on or before as_of (a
closed world, like a loaded list); with a window, whether the latest payment falls inside it.

received_amount("policy/clause"[, within = N years|months | since = a date literal]): how much
(money) the firm was paid under the clause on or before as_of, in the window; 0 once the source
is loaded and holds nothing, unknown when it was not. Its window must be known when the policy
is compiled (a duration before as_of, or a date constant), because the frame holds one total
per clause and window (frame.received_total_column), summed by the frame builder.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import polars as pl

from zhida.rules.lang import ast, frame
from zhida.rules.lang.functions.base import Function, name_arg
from zhida.rules.lang.periods import received_window, window_start
from zhida.rules.lang.scaled import Numeric, lit
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
    problem = _check_call(tc, node, USAGE)
    if problem is not None:
        return problem
    since = node.kwarg("since")
    if since is not None:
        t = tc.infer(since)
        if t.base == "error":
            return t
        if t.base != "date" or t.series:
            return tc.fail(since, f"since 应为日期，但 “{since.text}” 是{LABELS.get(t.base, t.base)}", _SINCE)
    return T("bool")


def _check_call(tc: TypeChecker, node: ast.Call, usage: str) -> T | None:
    """The clause key and the window of received(…) and received_amount(…); None when right."""
    name = node.name
    if len(node.args) != 1 or not isinstance(node.args[0], ast.Str):
        return tc.fail(node, f"{name} 的第一个参数应为带引号的条款键 “政策编号/条款编号”", usage)
    key = node.args[0].value
    policy_id, _, clause_id = key.partition("/")
    if not policy_id or not clause_id or "/" in clause_id:
        return tc.fail(node.args[0], f"条款键 “{key}” 应写成 “政策编号/条款编号”",
                       f"例如 {name}(\"wenzhou-2023-8-specialized/little-giant\")")
    names = [k for k, _ in node.kwargs]
    unknown = [k for k in names if k not in ("within", "since")]
    if unknown:
        return tc.fail(node, f"{name} 不认识参数 {unknown[0]}", "可用 within = 3 years 或 since = 日期")
    if len(names) > 1:
        return tc.fail(node, "within 与 since 只能二选一", usage)
    within, since = node.kwarg("within"), node.kwarg("since")
    if within is not None and not isinstance(within, ast.Duration):
        return tc.fail(within, f"within 应为时长，但写成了 “{within.text}”",
                       "例如 within = 3 years、within = 36 months")
    if isinstance(since, ast.Duration):
        return tc.fail(since, "since 应为日期", _SINCE)
    return None


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


# -- received_amount -----------------------------------------------------------------------
AMOUNT_USAGE = ("已获资金累计金额：received_amount(\"政策编号/条款编号\")，可加 within = 3 years 或 "
                "since = 日期常量")


def _check_amount(tc: TypeChecker, node: ast.Call) -> T:
    problem = _check_call(tc, node, AMOUNT_USAGE)
    if problem is not None:
        return problem
    since = node.kwarg("since")
    if since is not None and not isinstance(since, ast.DateLit):
        return tc.fail(since, f"received_amount 的 since 应为日期常量，但写成了 “{since.text}”",
                       "累计金额按编译时确定的期间汇总：写 since = 2023-01-01 或 within = 3 years；"
                       "按企业各自的日期起算（如认定日）时，改用 received(…, since = 日期字段) 判断是否获得过")
    return T("money")


def amount_window(node: ast.Call) -> str:
    """The window of a received_amount(…) call as its frame column names it."""
    within, since = node.kwarg("within"), node.kwarg("since")
    return received_window(within if isinstance(within, ast.Duration) else None,
                           since.value if isinstance(since, ast.DateLit) else None)


def amount_column(node: ast.Call) -> str:
    return frame.received_total_column(name_arg(node), amount_window(node))


def _amount_polars(c: Compiler, node: ast.Call) -> Numeric:
    key, window = name_arg(node), amount_window(node)
    c.requirements.received_totals.add((key, window))
    return Numeric(c.col(frame.received_total_column(key, window)), 2)


def _amount_reference(i: Interpreter, node: ast.Call) -> Fraction | None:
    raw = i.row.get(amount_column(node))
    return None if raw is None else Fraction(int(raw), 100)


def _amount_reads(node: ast.Call, schema: Schema) -> list[str]:
    if not node.args or not isinstance(node.args[0], ast.Str):
        return []
    return [amount_column(node)]


def _scope(node: ast.Call) -> str:
    """近3年内 / 近36个月内 / 2023-01-01以来 / "" (every payment)."""
    within, since = node.kwarg("within"), node.kwarg("since")
    if isinstance(within, ast.Duration):
        return f"近{within.amount}年内" if within.unit == "year" else f"近{within.amount}个月内"
    return f"{since.value.isoformat()}以来" if isinstance(since, ast.DateLit) else ""


def _amount_facts(ex: Explainer, node: ast.Call) -> list[FactSeen]:
    raw = ex.interp.row.get(amount_column(node))
    key = name_arg(node)
    value = ("缺失" if raw is None else f"{_scope(node)}未获得" if raw == 0
             else f"{_scope(node)}累计获得 {ex.amount_text(int(raw))}")
    return [ex.fact(amount_column(node), f"已获资金“{key}”", value, raw is None)]


def _amount_shown(ex: Explainer, node: ast.Call, value: Any) -> str | None:
    if not isinstance(value, Fraction):
        return None
    scope = _scope(node)
    return ex.amount_text(int(value * 100)) + (f"（{scope}）" if scope else "")


ENTRIES = (
    Function("received", USAGE, 'not received("wenzhou-2023-8-specialized/little-giant")',
             _check, _polars, _reference, reads=_reads, facts=_facts, reason=received_text, held=_atom,
             named=("within", "since")),
    Function("received_amount", AMOUNT_USAGE,
             'received_amount("guangzhou-2021-4-hitech/first-cert", within = 3 years) < 100万',
             _check_amount, _amount_polars, _amount_reference, reads=_amount_reads, facts=_amount_facts,
             shown=_amount_shown, named=("within", "since")),
)
