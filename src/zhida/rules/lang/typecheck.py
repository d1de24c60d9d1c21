"""Static typing of expressions: references, types and periods are checked before anything runs.

`TypeChecker.infer` returns the type of a node and records every problem it finds, so that a
policy file gets all of its mistakes reported at once. What each function accepts and returns
is its registry entry's `check` (functions/).
"""

from __future__ import annotations

from zhida.rules.lang import ast
from zhida.rules.lang.errors import ExpressionError
from zhida.rules.lang.functions import FUNCTIONS, MACROS
from zhida.rules.lang.types import LABELS, NUMERIC, Env, T, field_base, join_numeric


class TypeChecker:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.problems: list[ExpressionError] = []
        self._cache: dict[int, T] = {}

    def fail(self, node: ast.Node, message: str, fix: str = "") -> T:
        self.problems.append(ExpressionError(message, line=node.span.line,
                                             column=node.span.column, fix=fix))
        return T("error")

    def infer(self, node: ast.Node) -> T:
        key = id(node)
        if key not in self._cache:
            self._cache[key] = self._infer(node)
        return self._cache[key]

    def expect(self, node: ast.Node, want: str) -> T:
        """Infer and require a scalar of `want` (bool or numeric)."""
        t = self.infer(node)
        if t.base == "error":
            return t
        if t.series:
            return self.fail(node, f"“{node.text}” 是一段期间的序列，需要汇总",
                             "用 sum/avg/min/max/count 汇总，例如 sum(x[months(-12..-1)])")
        if want == "numeric" and t.base not in NUMERIC:
            return self.fail(node, f"此处需要数值，但 “{node.text}” 是{LABELS.get(t.base, t.base)}")
        if want == "bool" and t.base != "bool":
            return self.fail(node, f"此处需要条件（是/否），但 “{node.text}” 是"
                             f"{LABELS.get(t.base, t.base)}", "写成比较，例如 x >= 10")
        return t

    # -- per node kind ------------------------------------------------------------------
    def _infer(self, node: ast.Node) -> T:
        if isinstance(node, ast.Num):
            return T("number")
        if isinstance(node, ast.Str):
            return T("string")
        if isinstance(node, ast.Bool):
            return T("bool")
        if isinstance(node, (ast.DateLit, ast.AsOf)):
            return T("date")
        if isinstance(node, ast.ListLit):
            elems = {self.infer(i).base for i in node.items}
            elems = {"number" if e in NUMERIC else e for e in elems}
            if len(elems) > 1:
                return self.fail(node, "列表中的元素类型不一致", "列表元素应同为代码或同为数值")
            return T("list", elem=next(iter(elems), "string"))
        if isinstance(node, ast.FieldRef):
            return self._field(node)
        if isinstance(node, ast.Neg):
            t = self.infer(node.operand)
            if t.base not in NUMERIC | {"error"}:
                return self.fail(node, "负号只能用于数值")
            return t
        if isinstance(node, ast.Not):
            t = self.infer(node.operand)
            if t.base not in ("bool", "error"):
                return self.fail(node, f"“非/not” 只能用于条件，但 “{node.operand.text}” 不是条件")
            return t
        if isinstance(node, ast.BoolOp):
            series = False
            for item in node.items:
                t = self.infer(item)
                series |= t.series
                if t.base not in ("bool", "error"):
                    self.fail(item, f"“{item.text}” 不是条件，不能用 {node.op} 连接",
                              "写成比较，例如 x >= 10")
            return T("bool", series)
        if isinstance(node, ast.Arith):
            return self._arith(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.In):
            left = self.infer(node.left)
            items = self.infer(node.items)
            if left.base == "error" or items.base == "error":
                return T("error")
            lb = "number" if left.base in NUMERIC else left.base
            if node.items.items and lb != items.elem:
                return self.fail(node, f"{LABELS.get(left.base, left.base)}不能与"
                                 f"{LABELS.get(items.elem or '', '')}列表比较")
            return T("bool", left.series)
        if isinstance(node, ast.If):
            self.expect(node.cond, "bool")
            a, b = self.infer(node.then), self.infer(node.else_)
            if "error" in (a.base, b.base):
                return T("error")
            if a.base in NUMERIC and b.base in NUMERIC:
                return T(join_numeric(a.base, b.base), a.series or b.series)
            if a.base != b.base:
                return self.fail(node, "if 的两个分支类型不同",
                                 f"then 是{LABELS.get(a.base, a.base)}，else 是{LABELS.get(b.base, b.base)}")
            return T(a.base, a.series or b.series)
        if isinstance(node, ast.Call):
            return self._call(node)
        return self.fail(node, f"不支持的表达式：{node.text}")

    def _field(self, node: ast.FieldRef) -> T:
        f = self.env.schema.resolve(node.name)
        if f is None:
            near = self.env.schema.closest(node.name)
            guess = f"是否指：{'、'.join(near)}？" if near else ""
            return self.fail(node, f"未知字段 “{node.name}”",
                             guess + "检查字段名或中文名称是否与字段注册表一致（zhida data fields 可列出全部字段）")
        base = field_base(f.type)
        p = node.period
        if f.period == "none":
            if p is not None:
                return self.fail(node, f"字段 “{node.name}” 没有期间，不能写 [{_ptext(node)}]",
                                 f"去掉方括号，直接写 {node.name}")
            return T(base)
        if p is None:
            example = "last_year" if f.period == "year" else "last_month"
            return self.fail(node, f"字段 “{node.name}” 按{'年' if f.period == 'year' else '月'}记录，需指明期间",
                             f"例如 {node.name}[{example}]")
        if p.kind != f.period:
            if f.period == "month":
                return self.fail(node, f"字段 “{node.name}” 按月记录，不能取年度值",
                                 f"例如 sum({node.name}[months(-12..-1)]) 或 {node.name}[last_month]")
            return self.fail(node, f"字段 “{node.name}” 按年记录，不能取月度值",
                             f"例如 {node.name}[last_year] 或 {node.name}[2023]")
        if isinstance(p, ast.PeriodRange):
            return T(base, series=True)
        return T(base)

    def _arith(self, node: ast.Arith) -> T:
        a, b = self.infer(node.left), self.infer(node.right)
        if "error" in (a.base, b.base):
            return T("error")
        for side, t in ((node.left, a), (node.right, b)):
            if t.base not in NUMERIC:
                return self.fail(side, f"“{side.text}” 是{LABELS.get(t.base, t.base)}，不能做算术")
        series = a.series or b.series
        x, y, op = a.base, b.base, node.op
        if op in "+-":
            if {x, y} == {"money", "count"}:
                return self.fail(node, "金额与人数不能相加减")
            return T(join_numeric(x, y), series)
        if op == "*":
            if x == "money" and y == "money":
                return self.fail(node, "两个金额不能相乘", "比例写成百分数，例如 revenue * 3%")
            if "money" in (x, y):
                return T("money", series)
            return T("count" if x == y == "count" else "number", series)
        if x == "money" and y != "money":
            return T("money", series)
        return T("number", series)

    def _compare(self, node: ast.Compare) -> T:
        a, b = self.infer(node.left), self.infer(node.right)
        if "error" in (a.base, b.base):
            return T("error")
        series = a.series or b.series
        if a.base in NUMERIC and b.base in NUMERIC:
            if {a.base, b.base} == {"money", "count"}:
                return self.fail(node, "金额不能与人数比较")
            return T("bool", series)
        if a.base != b.base:
            return self.fail(node, f"{LABELS.get(a.base, a.base)}不能与{LABELS.get(b.base, b.base)}比较",
                             f"“{node.left.text}” 与 “{node.right.text}” 类型不同")
        if a.base in ("string", "bool") and node.op not in ("==", "!="):
            return self.fail(node, f"{LABELS[a.base]}只能用 == 或 != 比较", "代码集合请用 in [..]")
        return T("bool", series)

    def _call(self, node: ast.Call) -> T:
        fn = FUNCTIONS.get(node.name)
        if fn is None:
            return self.fail(node, f"未知函数 “{node.name}”", "可用函数：" + "、".join([*FUNCTIONS, *MACROS]))
        if not fn.named:
            if node.kwargs:
                return self.fail(node, f"{fn.name} 不接受具名参数 {node.kwargs[0][0]}", fn.usage)
            if any(isinstance(a, ast.Duration) for a in node.args):
                return self.fail(node, "时长（如 3 years）只能写在 received(…, within = …) 中", fn.usage)
        return fn.check(self, node)

    def arity(self, node: ast.Call, lo: int, hi: int) -> bool:
        """Whether the call has between lo and hi arguments; records the problem if not."""
        if not lo <= len(node.args) <= hi:
            self.fail(node, f"{node.name} 的参数个数不对", FUNCTIONS[node.name].usage)
            return False
        return True


def _ptext(node: ast.FieldRef) -> str:
    return node.text[len(node.name) + 1 : -1] if "[" in node.text else ""
