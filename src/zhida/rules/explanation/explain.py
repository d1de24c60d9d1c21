"""Explanations: one enterprise × every clause, atom by atom, with what is missing and what
would make it eligible ("参保人数 8，需 ≥ 10"). An unknown result lists only the facts that
can change it, most deciding first (relevance.py).

Verdicts come from the reference interpreter (interpret.py); exclusivity and caps are
applied by the same Polars post-processing as the batch path, on a one-row result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import polars as pl

from zhida.rules.evaluate.allocate import STATUS
from zhida.rules.evaluate.clause import CompiledClause, atoms
from zhida.rules.evaluate.engine import CompiledPolicies
from zhida.rules.evaluate.interpret import Interpreter, Value
from zhida.rules.evaluate.rowwise import clause_amount
from zhida.rules.explanation.relevance import Relevant, Verdict, analyse
from zhida.rules.lang import ast, frame
from zhida.rules.lang.functions import FUNCTIONS
from zhida.rules.lang.numbers import decimal_text, round_fraction, yuan_text
from zhida.rules.lang.periods import resolve
from zhida.rules.lang.typecheck import TypeChecker
from zhida.rules.lang.types import Env
from zhida.rules.model.document import MODE_LABELS
from zhida.rules.model.facts import display

_OP_TEXT = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}
_ARITH_TEXT = {"+": "+", "-": "-", "*": "×", "/": "÷"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


@dataclass
class FactSeen:
    column: str
    label: str
    value: str
    missing: bool


@dataclass
class AtomVerdict:
    text: str
    verdict: bool | None
    facts: list[FactSeen]
    hint: str = ""

    @property
    def verdict_text(self) -> str:
        return {True: "满足", False: "不满足", None: "未知"}[self.verdict]


@dataclass
class ClauseExplanation:
    key: str
    policy_id: str
    policy_title: str
    clause_id: str
    title: str
    mode: str
    status: str  # eligible | unknown | ineligible | excluded
    amount_fen: int | None
    atoms: list[AtomVerdict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    how_to_apply: str = ""
    materials: list[str] = field(default_factory=list)
    questions: list[Relevant] = field(default_factory=list)   # unknown: the facts that can change it, in order
    settled: Verdict | None = None    # unknown, yet every completion of its facts gives this verdict

    @property
    def mode_label(self) -> str:
        return MODE_LABELS[self.mode]

    def to_dict(self) -> dict[str, Any]:
        return {
            "clause": self.key, "policy": self.policy_id, "policy_title": self.policy_title,
            "title": self.title, "mode": self.mode, "mode_label": self.mode_label, "status": self.status,
            "amount_fen": self.amount_fen, "missing": self.missing, "reasons": self.reasons,
            "atoms": [{"text": a.text, "verdict": a.verdict_text, "hint": a.hint,
                       "facts": [{"field": f.label, "column": f.column, "value": f.value} for f in a.facts]}
                      for a in self.atoms],
        }


def _fmt(value: Value, base: str) -> str:
    if value is None:
        return "缺失"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Fraction):
        if base == "money":
            fen = round_fraction(value, 2, "half_up") * 100
            return yuan_text(int(fen))
        return decimal_text(value, 4)
    return str(value)


def amount_text(fen: int) -> str:
    """Money as officers write awards: whole 万 as “100万元”, anything else to the fen."""
    if fen > 0 and fen % 1_000_000 == 0:
        return f"{decimal_text(Fraction(fen, 1_000_000))}万元"
    return yuan_text(fen)


class Explainer:
    def __init__(self, compiled: CompiledPolicies, c: CompiledClause, row: dict[str, Any]) -> None:
        self.compiled = compiled
        self.c = c
        self.row = row
        self.interp = Interpreter(compiled.schema, c.policy.params, compiled.as_of, row)
        self.typer = TypeChecker(Env(compiled.schema, {k: p.type_base for k, p in c.policy.params.items()}))

    def facts(self, node: ast.Node) -> list[FactSeen]:
        seen: list[FactSeen] = []
        schema = self.compiled.schema
        for n in ast.walk(node):
            if isinstance(n, ast.FieldRef):
                f = schema.resolve(n.name)
                assert f is not None
                periods = resolve(n.period, self.compiled.as_of) if n.period is not None else [None]
                for p in periods:
                    col = frame.field_column(f.id, p)
                    raw = self.row.get(col)
                    label = f.label if p is None else f"{f.label}[{p}]"
                    seen.append(FactSeen(col, label, display(f, raw), raw is None))
            elif isinstance(n, ast.Call):
                seen += FUNCTIONS[n.name].facts(self, n)
        unique: dict[str, FactSeen] = {}
        for s in seen:
            unique.setdefault(s.column, s)
        return list(unique.values())

    def hint(self, node: ast.Node, verdict: bool | None) -> str:
        if verdict is True:
            return ""
        if verdict is None:
            missing = [f.label for f in self.facts(node) if f.missing]
            return f"缺少：{'、'.join(missing)}" if missing else "无法判断（如除数为零）"
        target = node.operand if isinstance(node, ast.Not) else node
        negated = isinstance(node, ast.Not)
        if isinstance(target, ast.Compare) and not negated:
            right = self.shown(target.right)
            f = self.compiled.schema.resolve(target.left.name) if isinstance(target.left, ast.FieldRef) else None
            if f is not None and isinstance(target.right, ast.Str):
                right = f.name_of(target.right.value)          # a code literal with its name: 440305（南山区）
            return f"{self.name(target.left)} {self.shown(target.left)}，需 {_OP_TEXT[target.op]} {right}"
        if isinstance(target, ast.In):
            value = self.interp.eval(target.left)
            f = self.compiled.schema.resolve(target.left.name) if isinstance(target.left, ast.FieldRef) else None
            words = [i.text.strip("\"'") for i in target.items.items]
            items = "、".join(f.name_of(w) for w in words) if f else "、".join(words)
            shown = f.name_of(value) if f is not None and value is not None else _fmt(value, "string")
            need = "不属于" if target.negated != negated else "属于"
            return f"{self.name(target.left)} 为 {shown}，需{need}［{items}］"
        reason = FUNCTIONS[target.name].reason if isinstance(target, ast.Call) else None
        if reason is not None:
            assert isinstance(target, ast.Call)
            return reason(self, target, negated)
        if isinstance(target, ast.FieldRef):
            return f"{self.name(target)}：{'是' if negated else '否'}，需为{'否' if negated else '是'}"
        return f"不满足：{node.text}"

    def fact(self, column: str, label: str, value: str, missing: bool) -> FactSeen:
        return FactSeen(column, label, value, missing)

    @staticmethod
    def amount_text(fen: int) -> str:
        return amount_text(fen)

    def reasons(self, node: ast.Node, value: bool) -> list[str]:
        """Why `node` came out `value`: only the atoms that decided it (a false atom inside
        an `or` that held is not a reason)."""
        if isinstance(node, ast.Not):
            return self.reasons(node.operand, not value)
        if isinstance(node, ast.BoolOp):
            deciding = (node.op == "and") != value  # false and / true or: the children equal to value
            children = [c for c in node.items if self.interp.eval(c) is value] if deciding else list(node.items)
            told = [c for c in children if self.reads_facts(c)] or children
            parts = [r for c in told for r in self.reasons(c, value)]
            if node.op == "or" and value is False and len(parts) > 1:
                return ["以下条件满足其一即可，均不满足：" + "；或 ".join(parts)]      # one group, with 或
            return parts
        if value is False:
            return [self.hint(node, False)]
        held = FUNCTIONS[node.name].held if isinstance(node, ast.Call) else None
        if held is not None:
            assert isinstance(node, ast.Call)
            return [held(self, node)]
        return [f"{self._atom_text(node)} 成立，但条件要求其不成立"]

    def reads_facts(self, node: ast.Node) -> bool:
        """Whether a condition reads an enterprise's facts: one that reads only parameters and the
        date (a version switch, a validity guard) is not a reason to give a firm while another
        condition beside it is."""
        return bool(self.facts(node))

    def _atom_text(self, node: ast.Node) -> str:
        if isinstance(node, ast.Compare):
            return f"{self.name(node.left)} {self.shown(node.left)} {_OP_TEXT[node.op]} {self.shown(node.right)}"
        atom = FUNCTIONS[node.name].atom if isinstance(node, ast.Call) else None
        if atom is not None:
            assert isinstance(node, ast.Call)
            return atom(self, node)
        if isinstance(node, ast.FieldRef):
            return self.name(node)
        return node.text.strip()

    def shown(self, node: ast.Node) -> str:
        """A value as written (literals) or as an officer reads it (fields in their unit)."""
        if isinstance(node, (ast.Num, ast.DateLit)):
            return node.text
        if isinstance(node, ast.FieldRef):
            f = self.compiled.schema.resolve(node.name)
            if f is not None:
                return display(f, self.row.get(self.interp.column(node)))
        value = self.interp.eval(node)
        shown = FUNCTIONS[node.name].shown if isinstance(node, ast.Call) else None
        if shown is not None:
            assert isinstance(node, ast.Call)
            text = shown(self, node, value)
            if text is not None:
                return text
        return self.format(value, self.typer.infer(node).base)

    @staticmethod
    def format(value: Value, base: str) -> str:
        return _fmt(value, base)

    def name(self, node: ast.Node) -> str:
        """An expression as a reader reads it: fields by their label with the periods resolved
        (营业收入[2023], 参保人数[2023-07至2024-06]), × and ÷, functions by their Chinese name,
        as_of as 评估日; literals as written."""
        if isinstance(node, ast.FieldRef):
            f = self.compiled.schema.resolve(node.name)
            if f is not None:
                if node.period is None:
                    return f.label
                periods = resolve(node.period, self.compiled.as_of)
                shown = periods[0] if len(periods) == 1 else f"{periods[0]}至{periods[-1]}"
                return f"{f.label}[{shown}]"
        if isinstance(node, ast.Arith):
            left, right = self._operand(node.left, node.op, False), self._operand(node.right, node.op, True)
            return f"{left} {_ARITH_TEXT[node.op]} {right}"
        if isinstance(node, ast.Neg):
            return f"-{self._operand(node.operand, '*', True)}"
        if isinstance(node, ast.AsOf):
            return "评估日"
        if isinstance(node, ast.Call) and node.name in FUNCTIONS:
            title = FUNCTIONS[node.name].usage.split("：", 1)[0]
            return f"{title}（{'，'.join(self.name(a) for a in node.args)}）"
        return node.text.strip()

    def _operand(self, node: ast.Node, parent: str, right: bool) -> str:
        """An operand of `parent`, in brackets where the reading would otherwise change."""
        text = self.name(node)
        if isinstance(node, ast.Arith) and (_PRECEDENCE[node.op] < _PRECEDENCE[parent]
                                            or (right and _PRECEDENCE[node.op] == _PRECEDENCE[parent])):
            return f"({text})"
        return text

    def explain(self) -> tuple[ClauseExplanation, Value]:
        clause, policy = self.c.clause, self.c.policy
        verdict = self.interp.eval(clause.when)
        parts = []
        for a in atoms(clause.when):
            v = self.interp.eval(a)
            assert v is None or isinstance(v, bool)
            parts.append(AtomVerdict(a.text.strip(), v, self.facts(a), self.hint(a, v)))
        amount = clause_amount(self.interp, clause)
        status = "ineligible" if verdict is False else (
            "eligible" if verdict is True and amount is not None else "unknown")
        questions, settled = [], None
        if status == "unknown":   # only the facts that can change the verdict (relevance.py)
            analysis = analyse(self.compiled.schema, policy.params, self.compiled.as_of, clause, self.row,
                               self.interp.memo)
            questions, settled = analysis.relevant, analysis.settled
        missing = [q.fact.label for q in questions]
        reasons = list(dict.fromkeys(self.reasons(clause.when, False))) if verdict is False else []
        exp = ClauseExplanation(
            clause.key, policy.id, policy.spec.title, clause.spec.id, clause.spec.title, clause.spec.mode,
            status, amount if status != "ineligible" else None, parts, list(dict.fromkeys(missing)), reasons,
            clause.spec.how_to_apply, list(clause.spec.materials), questions, settled)
        return exp, verdict


def explain_frame(compiled: CompiledPolicies, df: pl.DataFrame, index: int = 0) -> list[ClauseExplanation]:
    """Explain every clause for row `index` of a population frame."""
    one = compiled.prepare(df.slice(index, 1))
    row = one.row(0, named=True)
    out: list[ClauseExplanation] = []
    results = []
    for c in compiled.clauses:
        exp, _verdict = Explainer(compiled, c, row).explain()
        out.append(exp)
        if exp.status in ("eligible", "unknown"):
            results.append({"row": 0, "clause": c.key, "status": exp.status, "amount_fen": exp.amount_fen})
    if results:
        keys = pl.Enum(compiled.keys)
        res = pl.DataFrame(results, schema={"row": pl.UInt32, "clause": keys, "status": STATUS,
                                            "amount_fen": pl.Int64})
        final = {r["clause"]: r for r in compiled.post_process(one, res).iter_rows(named=True)}
        by_key = {e.key: e for e in out}
        for key, r in final.items():
            e = by_key[key]
            if r["status"] == "excluded":
                winner = _winner(final, compiled, key)
                e.reasons.append(f"同一事项不重复享受：已按规则取“{winner}”")
            elif r["status"] == "unknown" and e.status == "eligible":
                e.missing.append("企业年度奖补总额上限（总量控制）所需数据")
            e.status, e.amount_fen = r["status"], r["amount_fen"]
    for p in compiled.skipped:
        for clause in p.clauses:
            out.append(ClauseExplanation(
                clause.key, p.id, p.spec.title, clause.spec.id, clause.spec.title, clause.spec.mode,
                "ineligible", None,
                reasons=[f"政策不在有效期内（{p.validity_text}）"]))
    return out


def _winner(final: dict[str, dict[str, Any]], compiled: CompiledPolicies, loser: str) -> str:
    group = next(c.clause.spec.exclusive for c in compiled.clauses if c.key == loser)
    assert group is not None
    for c in compiled.clauses:
        if (c.clause.spec.exclusive is not None and c.clause.spec.exclusive.group == group.group
                and final.get(c.key, {}).get("status") == "eligible"):
            return c.clause.spec.title
    return group.group
