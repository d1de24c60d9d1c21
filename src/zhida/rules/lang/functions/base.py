"""What a function of the rules language is: one registry entry holding everything that
differs from one function to the next, so that adding a function is adding one entry.

* `check` — the type rule (typecheck.py calls it after the generic checks on named
  arguments);
* `polars` — the batch form (compile.py): a `Numeric` when the call's type is numeric, else a
  Polars expression (a condition's Kleene Boolean, a date, a code);
* `reference` — the exact form on one enterprise (interpret.py), which the property tests hold
  equal to the batch form;
* `reads` — the frame columns the call reads by itself, beyond its arguments (a list's
  membership, a region for a regional parameter): the relevance analysis asks for these;
* `facts` — the facts of the firm an explanation shows for the call (a parameter's region is
  read but is the policy's business, not a reason given to the firm);
* `reason` / `atom` / `held` — the explanation's wording when a condition on the call decides
  a result: `reason(ex, node, negated)` why it fails, `atom(ex, node)` the condition as a reader
  says it, `held(ex, node)` why it failed by holding (under a `not`); without them the
  explanation shows the expression's text; `shown(ex, node, value)` the call's value as a reader
  reads it (a percent parameter as 30%), None for the general formatting;
* `usage` and `example` — the help line in error messages and docs/rules.md, and an expression
  that a test type-checks against the demo registry and finds in the docs.

The engines' own objects are passed in (the compiler, the interpreter, the checker, the
explainer); entries call their public methods and import them only for typing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zhida.rules.lang import ast
from zhida.rules.lang.schema import Schema
from zhida.rules.lang.types import T

if TYPE_CHECKING:
    import polars as pl

    from zhida.rules.evaluate.compile import Compiler
    from zhida.rules.evaluate.interpret import Interpreter
    from zhida.rules.explanation.explain import Explainer, FactSeen
    from zhida.rules.lang.scaled import Numeric
    from zhida.rules.lang.typecheck import TypeChecker


def _reads_nothing(node: ast.Call, schema: Schema) -> list[str]:
    return []


def _no_facts(ex: Explainer, node: ast.Call) -> list[FactSeen]:
    return []


@dataclass(frozen=True)
class Function:
    name: str
    usage: str
    example: str
    check: Callable[[TypeChecker, ast.Call], T]
    polars: Callable[[Compiler, ast.Call], pl.Expr | Numeric]
    reference: Callable[[Interpreter, ast.Call], Any]
    reads: Callable[[ast.Call, Schema], list[str]] = _reads_nothing
    facts: Callable[[Explainer, ast.Call], list[FactSeen]] = _no_facts
    reason: Callable[[Explainer, ast.Call, bool], str] | None = None
    atom: Callable[[Explainer, ast.Call], str] | None = None
    held: Callable[[Explainer, ast.Call], str] | None = None    # it holds, but the clause needs it not to
    shown: Callable[[Explainer, ast.Call, Any], str | None] | None = None   # its value as a reader reads it
    named: tuple[str, ...] = ()          # named arguments it takes (received: within, since)


def name_arg(node: ast.Call) -> str:
    """The quoted name a list, tag, zone, parameter or received() call is about (checked)."""
    arg = node.args[0]
    assert isinstance(arg, ast.Str)
    return arg.value


def check_name(tc: TypeChecker, node: ast.Call, kind: str, known: Mapping[str, object] | frozenset[str],
               usage: str) -> T | None:
    """One quoted name among `known`; None when it is, else the recorded error."""
    if not tc.arity(node, 1, 1):
        return T("error")
    a = node.args[0]
    if not isinstance(a, ast.Str):
        return tc.fail(node, f"{node.name} 的参数应为带引号的名称", usage)
    if a.value not in known:
        return tc.fail(node, f"未知{kind} “{a.value}”", f"已登记的{kind}：" + ("、".join(sorted(known)) or "（无）"))
    return None
