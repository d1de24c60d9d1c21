"""Static checks of policies (`zhida policy lint`): every problem, with file:line and a fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

from zhida.rules import ast
from zhida.rules.errors import ExpressionError, Problem
from zhida.rules.policy import Clause, Policy
from zhida.rules.schema import Schema
from zhida.rules.types import Env, Typer


def _expr_problems(policy: Policy, schema: Schema, node: ast.Node, want: str,
                   path: tuple[str | int, ...]) -> list[Problem]:
    typer = Typer(Env(schema, {k: p.type_base for k, p in policy.params.items()}))
    typer.expect(node, want)
    base = policy.line(*path)
    return [_problem(policy, e, base, path) for e in typer.problems]


def _problem(policy: Policy, e: ExpressionError, base: int | None, path: tuple[str | int, ...]) -> Problem:
    return Problem(e.message, file=policy.source, line=None if base is None else base + e.line - 1,
                   field=".".join(str(p) for p in path), fix=e.fix)


@dataclass
class _Bounds:
    lo: Fraction | None = None
    lo_strict: bool = False
    hi: Fraction | None = None
    hi_strict: bool = False
    allowed: frozenset[object] | None = None
    truth: bool | None = None
    empty: bool = False

    def add(self, op: str, v: Fraction) -> None:
        if op in (">=", ">") and (self.lo is None or v > self.lo or (v == self.lo and op == ">")):
            self.lo, self.lo_strict = v, op == ">"
        if op in ("<=", "<") and (self.hi is None or v < self.hi or (v == self.hi and op == "<")):
            self.hi, self.hi_strict = v, op == "<"
        if op == "==":
            self.add(">=", v)
            self.add("<=", v)

    def restrict(self, values: frozenset[object]) -> None:
        self.allowed = values if self.allowed is None else self.allowed & values

    def require(self, truth: bool) -> None:
        if self.truth is not None and self.truth != truth:
            self.empty = True
        self.truth = truth

    def impossible(self) -> bool:
        if self.empty or (self.allowed is not None and not self.allowed):
            return True
        if self.lo is not None and self.hi is not None:
            return self.lo > self.hi or (self.lo == self.hi and (self.lo_strict or self.hi_strict))
        return False


_FLIP = {">=": "<=", "<=": ">=", ">": "<", "<": ">", "==": "==", "!=": "!="}


def _conjuncts(node: ast.Node) -> list[ast.Node]:
    if isinstance(node, ast.BoolOp) and node.op == "and":
        return [c for item in node.items for c in _conjuncts(item)]
    return [node]


def provably_false(*conditions: ast.Node) -> bool:
    """True when the conjunction of the conditions cannot hold for any enterprise
    (contradictory bounds, disjoint code sets, a flag required both ways, literal false)."""
    bounds: dict[str, _Bounds] = {}

    def key(node: ast.Node) -> str:
        return node.text.replace(" ", "")

    for cond in conditions:
        for atom in _conjuncts(cond):
            if isinstance(atom, ast.Bool) and not atom.value:
                return True
            if isinstance(atom, ast.Compare):
                if isinstance(atom.right, ast.Num) and isinstance(atom.left, (ast.FieldRef, ast.Call)):
                    bounds.setdefault(key(atom.left), _Bounds()).add(atom.op, atom.right.value)
                elif isinstance(atom.left, ast.Num) and isinstance(atom.right, (ast.FieldRef, ast.Call)):
                    bounds.setdefault(key(atom.right), _Bounds()).add(_FLIP[atom.op], atom.left.value)
                elif isinstance(atom.right, ast.Str) and atom.op == "==":
                    bounds.setdefault(key(atom.left), _Bounds()).restrict(frozenset({atom.right.value}))
            elif isinstance(atom, ast.In) and not atom.negated:
                values = frozenset(getattr(i, "value", None) for i in atom.items.items)
                bounds.setdefault(key(atom.left), _Bounds()).restrict(values)
            elif isinstance(atom, (ast.FieldRef, ast.Call)):
                bounds.setdefault(key(atom), _Bounds()).require(True)
            elif isinstance(atom, ast.Not) and isinstance(atom.operand, (ast.FieldRef, ast.Call)):
                bounds.setdefault(key(atom.operand), _Bounds()).require(False)
    return any(b.impossible() for b in bounds.values())


def _clause_path(policy: Policy, clause: Clause) -> tuple[str | int, ...]:
    return ("clauses", next(i for i, c in enumerate(policy.clauses) if c is clause))


def lint_policy(policy: Policy, schema: Schema) -> list[Problem]:
    problems: list[Problem] = []
    tested = {k for case in policy.spec.tests for k in case.expect}
    for clause in policy.clauses:
        path = _clause_path(policy, clause)
        problems += _expr_problems(policy, schema, clause.when, "bool", (*path, "when"))
        problems += _expr_problems(policy, schema, clause.amount, "numeric", (*path, "amount"))
        if clause.cap is not None:
            problems += _expr_problems(policy, schema, clause.cap, "numeric", (*path, "cap"))
        if provably_false(clause.when):
            problems.append(Problem(f"条款 {clause.spec.id} 的条件不可能成立（存在互相矛盾的条件）",
                                    file=policy.source, line=policy.line(*path, "when"), field=f"{path[1]}.when",
                                    fix="检查门槛方向与数值", severity="warning"))
        if not clause.spec.tests and clause.spec.id not in tested:
            problems.append(Problem(f"条款 {clause.spec.id} 没有测试用例", file=policy.source,
                                    line=policy.line(*path, "id"), field=f"clauses.{path[1]}.tests",
                                    fix="在 tests: 下至少写一个满足、一个不满足、一个数据缺失的用例",
                                    severity="warning"))
    if policy.enterprise_cap is not None:
        problems += _expr_problems(policy, schema, policy.enterprise_cap[0], "numeric", ("enterprise_cap", "amount"))
        problems += _expr_problems(policy, schema, policy.enterprise_cap[1], "bool", ("enterprise_cap", "when"))
    problems += _overlaps(policy)
    return problems


def _overlaps(policy: Policy) -> list[Problem]:
    out = []
    for a, b in combinations(policy.clauses, 2):
        ga, gb = a.spec.exclusive, b.spec.exclusive
        if (ga is not None and gb is not None and ga.group == gb.group) or a.spec.stackable or b.spec.stackable:
            continue
        if a.spec.mode == "report_only" or b.spec.mode == "report_only":
            continue
        if not provably_false(a.when, b.when):
            out.append(Problem(
                f"条款 {a.spec.id} 与 {b.spec.id} 可能同时满足，但未声明是否可叠加",
                file=policy.source, line=policy.line(*_clause_path(policy, b), "id"),
                field=f"clauses.{b.spec.id}",
                fix="不可重复享受时给两者设置相同的 exclusive.group；允许叠加时写 stackable: true",
                severity="warning"))
    return out


def _received_keys(policies: Sequence[Policy]) -> list[Problem]:
    """received("政策/条款") naming no clause of the policies checked: a typo there would make a
    “只奖励一次” condition always false, so the award would be paid again."""
    keys = {c.key for p in policies for c in p.clauses}
    out = []
    for p in policies:
        for clause in p.clauses:
            path = _clause_path(p, clause)
            for part, expr in (("when", clause.when), ("amount", clause.amount), ("cap", clause.cap)):
                for n in ast.walk(expr) if expr is not None else []:
                    if (isinstance(n, ast.Call) and n.name == "received" and n.args
                            and isinstance(n.args[0], ast.Str) and "/" in n.args[0].value
                            and n.args[0].value not in keys):
                        base = p.line(*path, part)
                        out.append(Problem(
                            f"received 引用的条款 “{n.args[0].value}” 不在所检查的政策中",
                            file=p.source, line=None if base is None else base + n.span.line - 1,
                            field=f"clauses.{path[1]}.{part}",
                            fix="核对条款键（政策编号/条款编号）；引用其他政策的条款时，连同该政策一起检查",
                            severity="warning"))
    return out


def lint_policies(policies: Sequence[Policy], schema: Schema) -> list[Problem]:
    problems: list[Problem] = []
    for p in policies:
        problems += lint_policy(p, schema)
    groups: dict[str, set[str]] = {}
    for p in policies:
        for c in p.clauses:
            if c.spec.exclusive is not None:
                groups.setdefault(c.spec.exclusive.group, set()).add(c.spec.exclusive.rule)
    problems += _received_keys(policies)
    for name, rules in groups.items():
        if len(rules) > 1:
            problems.append(Problem(f"排他组 “{name}” 的规则不一致：{'、'.join(sorted(rules))}",
                                    fix="同一排他组的条款使用同一 rule"))
    return problems
