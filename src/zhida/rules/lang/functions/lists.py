"""Memberships: listed, listed_since, tagged, within — a firm on a named list (with the date it
was first listed), carrying a tag, located in a zone. Each reads one frame column per name; a
list the firm's data does not cover is unknown, a covered list without the firm is false."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from zhida.rules.lang import ast, frame
from zhida.rules.lang.functions.base import Function, check_name, name_arg
from zhida.rules.lang.schema import Schema
from zhida.rules.lang.types import T

if TYPE_CHECKING:
    import polars as pl

    from zhida.rules.evaluate.compile import Compiler
    from zhida.rules.evaluate.interpret import Interpreter
    from zhida.rules.explanation.explain import Explainer, FactSeen
    from zhida.rules.lang.typecheck import TypeChecker


def _membership(name: str, usage: str, example: str, *, kind: str, result: str,
                column: Callable[[str], str], requirement: str,
                known: Callable[[Schema], Mapping[str, object] | frozenset[str]],
                fact: str, said: str | None, held: str | None) -> Function:
    """`kind`: what the name is (名单); `fact`: the fact's label (名单“…”); `said`: how a true
    condition reads (列入名单), `held`: the verb of its reason (列入, 位于)."""

    def check(tc: TypeChecker, node: ast.Call) -> T:
        return check_name(tc, node, kind, known(tc.env.schema), usage) or T(result)

    def polars(c: Compiler, node: ast.Call) -> pl.Expr:
        n = name_arg(node)
        getattr(c.requirements, requirement).add(n)
        return c.col(column(n))

    def reference(i: Interpreter, node: ast.Call) -> Any:
        return i.row.get(column(name_arg(node)))

    def reads(node: ast.Call, schema: Schema) -> list[str]:
        return [column(node.args[0].value)] if node.args and isinstance(node.args[0], ast.Str) else []

    def facts(ex: Explainer, node: ast.Call) -> list[FactSeen]:
        raw = ex.row.get(column(name_arg(node)))
        value = "缺失" if raw is None else ("是" if raw is True else "否" if raw is False else str(raw))
        return [ex.fact(column(name_arg(node)), f"{fact}“{name_arg(node)}”", value, raw is None)]

    def reason(ex: Explainer, node: ast.Call, negated: bool) -> str:
        return f"{'已' if negated else '未'}{held}{kind}“{name_arg(node)}”"

    def atom(ex: Explainer, node: ast.Call) -> str:
        return f"{said}“{name_arg(node)}”"

    return Function(name, usage, example, check, polars, reference, reads, facts,
                    reason if held else None, atom if said else None)


ENTRIES = (
    _membership("listed", "名单成员：listed(\"专精特新小巨人\")", 'listed("专精特新小巨人")',
                kind="名单", result="bool", column=frame.list_column, requirement="lists",
                known=lambda s: s.lists, fact="名单", said="列入名单", held="列入"),
    _membership("listed_since", "首次列入日期：listed_since(\"专精特新小巨人\")",
                'listed("专精特新小巨人") and listed_since("专精特新小巨人") >= 2023-01-01',
                kind="名单", result="date", column=frame.list_since_column, requirement="list_since",
                known=lambda s: s.lists, fact="首次列入", said=None, held=None),
    _membership("tagged", "标签：tagged(\"僵尸企业\")", 'not tagged("僵尸企业")',
                kind="标签", result="bool", column=frame.tag_column, requirement="tags",
                known=lambda s: s.tags, fact="标签", said="带有标签", held="列入"),
    _membership("within", "位于区域内：within(\"封控区\")", 'within("南山封控区2022")',
                kind="区域", result="bool", column=frame.zone_column, requirement="zones",
                known=lambda s: s.zones, fact="区域", said="位于区域", held="位于"),
)
