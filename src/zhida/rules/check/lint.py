"""Static checks of policies (`zhida policy lint`): every problem, with file:line and a fix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

from zhida.rules.lang import ast
from zhida.rules.lang.errors import ExpressionError, Problem
from zhida.rules.lang.functions import FUNCTIONS, MACROS
from zhida.rules.lang.params import DEFAULT_REGION
from zhida.rules.lang.parse import ZH_OPERATORS, is_bare_name, parse, reserved_words
from zhida.rules.lang.schema import Schema
from zhida.rules.lang.typecheck import TypeChecker
from zhida.rules.lang.types import Env
from zhida.rules.model.policy import Clause, Policy

UNKNOWN_FIELD = "未知字段"


def _expr_problems(policy: Policy, schema: Schema, node: ast.Node, want: str,
                   path: tuple[str | int, ...]) -> list[Problem]:
    typer = TypeChecker(Env(schema, {k: p.type_base for k, p in policy.params.items()}))
    typer.expect(node, want)
    base = policy.line(*path)
    unknown = [n for n in ast.walk(node) if isinstance(n, ast.FieldRef) and schema.resolve(n.name) is None]
    spots = {(n.span.line, n.span.column) for n in unknown}
    told = [_unknown_field(schema, n) for n in unknown]   # the type checker's own word, with suggestions
    kept = [e for e in typer.problems if not (e.message.startswith(UNKNOWN_FIELD) and (e.line, e.column) in spots)]
    return [_problem(policy, e, base, path) for e in told + kept]


def _unknown_field(schema: Schema, node: ast.FieldRef) -> ExpressionError:
    """“未知字段 “营业收人”（表达式第 1 行第 5 列）”, and what was probably meant."""
    where = f"（表达式第 {node.span.line} 行第 {node.span.column} 列）"
    operators = "|".join(ZH_OPERATORS)
    parts = [p for p in re.split(operators, node.name) if p]
    if parts and parts != [node.name] and all(schema.resolve(p) is not None for p in parts):
        spaced = re.sub(f"({operators})", r" \1 ", node.name).strip()
        return ExpressionError(
            f"{UNKNOWN_FIELD} “{node.name}”{where}", line=node.span.line, column=node.span.column,
            fix=f"且、或、非 作运算符时两侧要留空格，否则与相邻名称连成一个词：写作 {spaced}")
    near = schema.closest(node.name)
    guess = f"是否指：{'、'.join(_written(w) for w in near)}？" if near else ""
    return ExpressionError(
        f"{UNKNOWN_FIELD} “{node.name}”{where}", line=node.span.line, column=node.span.column,
        fix=guess + "字段写 id（如 revenue）或字段注册表中的中文名称，须完全一致（zhida data fields 列出全部字段）")


def _written(name: str) -> str:
    """A name as it is written in an expression: 营业收入, or 「扩岗补助合格人数（缴费满1个月）」."""
    return name if is_bare_name(name) else f"「{name}」"


def vocabulary_problems(schema: Schema) -> list[Problem]:
    """The field names policies are written with: each id and label names one field, is no word of
    the language (且, 上年度, true …) or function (sum …), and can be written in an expression."""
    where = "字段注册表"
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    for f in schema.fields.values():
        for kind, name in (("id", f.id), ("label", f.label)):
            if name in owner and owner[name] != f.id:
                problems.append(Problem(f"名称 “{name}” 同时指字段 {owner[name]} 与 {f.id}", file=where,
                                        field=f"{f.id}.{kind}", fix="每个中文名称只对应一个字段，改用更具体的名称"))
            owner.setdefault(name, f.id)
            if name in reserved_words() or name in FUNCTIONS or name in MACROS:
                problems.append(Problem(f"字段 {f.id} 的名称 “{name}” 与规则语言的关键字或函数名相同", file=where,
                                        field=f"{f.id}.{kind}", fix="换一个名称，例如加上所指的事项"))
                continue
            try:
                readable = parse(_written(name)) == ast.FieldRef(name)
            except ExpressionError:
                readable = False
            if not readable:
                problems.append(Problem(f"字段 {f.id} 的名称 “{name}” 无法写入表达式", file=where,
                                        field=f"{f.id}.{kind}", fix="名称中不要含「」、反引号或换行"))
    return problems


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
    bounds: dict[ast.Node, _Bounds] = {}

    def key(node: ast.Node) -> ast.Node:
        return node   # structural (spacing and span aside); `schema.with_ids` makes labels and ids one

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


def _listed_tags(condition: ast.Node) -> frozenset[str]:
    """The lists a condition requires membership of: listed("…") among its and-ed parts."""
    return frozenset(c.args[0].value for c in _conjuncts(condition)
                     if isinstance(c, ast.Call) and c.name == "listed" and c.args and isinstance(c.args[0], ast.Str))


def unguarded_listed_since(node: ast.Node, guarded: frozenset[str] = frozenset()) -> list[ast.Call]:
    """listed_since("X") calls not under a listed("X") in an enclosing `and` (or the `if` that
    chooses their branch). Once a list is loaded, a firm not on it has no listing date, so the
    date test is unknown: without the guard every firm off the list stays 待补充 instead of
    不符合 (the 广州 四上 clause had this)."""
    if isinstance(node, ast.BoolOp) and node.op == "and":
        guarded = guarded | _listed_tags(node)
    if isinstance(node, ast.If):
        return (unguarded_listed_since(node.cond, guarded)
                + unguarded_listed_since(node.then, guarded | _listed_tags(node.cond))
                + unguarded_listed_since(node.else_, guarded))
    found: list[ast.Call] = []
    if (isinstance(node, ast.Call) and node.name == "listed_since" and node.args
            and isinstance(node.args[0], ast.Str) and node.args[0].value not in guarded):
        found.append(node)
    for child in ast.children(node):
        found += unguarded_listed_since(child, guarded)
    return found


def _listed_since_guards(policy: Policy, clause: Clause, path: tuple[str | int, ...]) -> list[Problem]:
    base = policy.line(*path, "when")
    out = []
    for call in unguarded_listed_since(clause.when):
        guard = f"listed({call.args[0].text})"
        out.append(Problem(
            f"条款 {clause.spec.id} 用了 listed_since 却没有同时要求 {guard}",
            file=policy.source, line=None if base is None else base + call.span.line - 1,
            field=f"clauses.{path[1]}.when", value=call.text,
            fix=f"不在名单上的企业没有列入日期，结果会一直是“待补充”而不是“不符合”：在同一 and 中加上 {guard}",
            severity="warning"))
    return out


def _region_keys(policy: Policy) -> list[Problem]:
    """Regional parameter values keyed by something other than a 6-digit region code (GB/T 2260)
    or `default`: such a key never matches a firm, which silently gets the default instead."""
    out = []
    for name, param in policy.params.items():
        for start, values in param.values.items():
            for key in values:
                if key != DEFAULT_REGION and not re.fullmatch(r"\d{6}", key):
                    out.append(Problem(
                        f"参数 {name} 在 {start} 的地区键 “{key}” 不是 6 位行政区划代码："
                        "任何企业都匹配不到它，会悄悄取 default 的值",
                        file=policy.source, line=policy.line("parameters", name, "values"),
                        field=f"parameters.{name}.values", value=key,
                        fix="写成 6 位代码并加引号，如 \"370600\"（烟台市）、\"330302\"（鹿城区）；"
                            "全国统一值写 default"))
    return out


def lint_policy(policy: Policy, schema: Schema) -> list[Problem]:
    problems: list[Problem] = []
    tested = {k for case in policy.spec.tests for k in case.expect}
    for clause in policy.clauses:
        path = _clause_path(policy, clause)
        problems += _expr_problems(policy, schema, clause.when, "bool", (*path, "when"))
        problems += _listed_since_guards(policy, clause, path)
        problems += _expr_problems(policy, schema, clause.amount, "numeric", (*path, "amount"))
        if clause.cap is not None:
            problems += _expr_problems(policy, schema, clause.cap, "numeric", (*path, "cap"))
        if provably_false(schema.with_ids(clause.when)):
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
    problems += _overlaps(policy, schema)
    problems += _region_keys(policy)
    return problems


def _overlaps(policy: Policy, schema: Schema) -> list[Problem]:
    out = []
    for a, b in combinations(policy.clauses, 2):
        ga, gb = a.spec.exclusive, b.spec.exclusive
        if (ga is not None and gb is not None and ga.group == gb.group) or a.spec.stackable or b.spec.stackable:
            continue
        if a.spec.mode == "report_only" or b.spec.mode == "report_only":
            continue
        if not provably_false(schema.with_ids(a.when), schema.with_ids(b.when)):
            out.append(Problem(
                f"条款 {a.spec.id} 与 {b.spec.id} 可能同时满足，但未声明是否可叠加",
                file=policy.source, line=policy.line(*_clause_path(policy, b), "id"),
                field=f"clauses.{b.spec.id}",
                fix="不可重复享受时给两者设置相同的 exclusive.group；允许叠加时写 stackable: true",
                severity="warning"))
    return out


def _received_keys(policies: Sequence[Policy]) -> list[Problem]:
    """received("政策/条款") or received_amount(…) naming no clause of the policies checked: a typo
    there would make a “只奖励一次” condition always false, or a cap count nothing already paid,
    so the award would be paid again."""
    keys = {c.key for p in policies for c in p.clauses}
    out = []
    for p in policies:
        for clause in p.clauses:
            path = _clause_path(p, clause)
            for part, expr in (("when", clause.when), ("amount", clause.amount), ("cap", clause.cap)):
                for n in ast.walk(expr) if expr is not None else []:
                    if (isinstance(n, ast.Call) and n.name in ("received", "received_amount") and n.args
                            and isinstance(n.args[0], ast.Str) and "/" in n.args[0].value
                            and n.args[0].value not in keys):
                        base = p.line(*path, part)
                        out.append(Problem(
                            f"{n.name} 引用的条款 “{n.args[0].value}” 不在所检查的政策中",
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
    problems += vocabulary_problems(schema)
    for name, rules in groups.items():
        if len(rules) > 1:
            problems.append(Problem(f"排他组 “{name}” 的规则不一致：{'、'.join(sorted(rules))}",
                                    fix="同一排他组的条款使用同一 rule"))
    return problems
