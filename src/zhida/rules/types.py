"""Static typing of expressions: references, types and periods are checked before anything runs.

`TypeChecker.infer` returns the type of a node and records every problem it finds, so that a
policy file gets all of its mistakes reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from zhida.rules import ast
from zhida.rules.errors import ExpressionError
from zhida.rules.schema import NUMERIC_TYPES, Schema

NUMERIC = frozenset({"money", "count", "number"})
AGGREGATES = frozenset({"sum", "avg", "count"})
FUNCTIONS: dict[str, str] = {
    "min": "最小值：min(a, b, ...)；或区间最小值 min(x[months(-12..-1)])",
    "max": "最大值：max(a, b, ...)；或区间最大值",
    "sum": "区间求和：sum(x[months(-12..-1)])",
    "avg": "区间平均：avg(x[months(-12..-1)])",
    "count": "区间计数：count(x[months(-12..-1)] > 0)",
    "quarterly_avg": "全年季度平均值：quarterly_avg(从业人数[上年度])（(季初值 + 季末值) ÷ 2 的四季平均）",
    "round": "四舍五入：round(x, 2)",
    "floor": "向下取整：floor(x)",
    "ceil": "向上取整：ceil(x)",
    "abs": "绝对值：abs(x)",
    "tier": "分档：tier(x, [门槛1, 门槛2], [值0, 值1, 值2])",
    "listed": "名单成员：listed(\"专精特新小巨人\")",
    "listed_since": "首次列入日期：listed_since(\"专精特新小巨人\")",
    "tagged": "标签：tagged(\"僵尸企业\")",
    "within": "位于区域内：within(\"封控区\")",
    "param": "政策参数：param(\"rate_sme\")",
    "years_since": "距评估日整年数：years_since(established)",
    "months_since": "距评估日整月数：months_since(listed_since(\"中高风险地区\")) < 2（“列入后2个月内”）",
    "year_of": "日期所在年份：year_of(hitech_first_cert_on)",
    "starts_with": "代码前缀：starts_with(industry_code, [\"51\", \"52\"])",
    "known": "是否已知：known(x)",
    "coalesce": "缺失时取默认值：coalesce(x, 0)",
    "received": "已获得某条款的资金：received(\"政策编号/条款编号\")，可加 within = 3 years 或 since = 日期",
}


@dataclass(frozen=True)
class T:
    """A static type. `base` is money|count|number|bool|date|string|list; `series` marks a
    value per period of a range, which only an aggregate turns back into one value."""

    base: str
    series: bool = False
    elem: str | None = None

    def scalar(self) -> T:
        return T(self.base, False, self.elem)


LABELS = {"money": "金额", "count": "人数/个数", "number": "数值", "bool": "是/否",
          "date": "日期", "string": "代码/文本", "list": "列表"}


def _field_base(ftype: str) -> str:
    if ftype in ("number", "percent"):
        return "number"
    if ftype in NUMERIC_TYPES:
        return ftype
    if ftype in ("code", "text"):
        return "string"
    return ftype


@dataclass
class Env:
    """What names mean while checking one policy: the schema plus the policy's parameters
    (name → static type base)."""

    schema: Schema
    params: Mapping[str, str] = field(default_factory=dict)


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
                return T(_join_numeric(a.base, b.base), a.series or b.series)
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
        base = _field_base(f.type)
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
            return T(_join_numeric(x, y), series)
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
        name, args = node.name, node.args
        if name not in FUNCTIONS:
            return self.fail(node, f"未知函数 “{name}”", "可用函数：" + "、".join(FUNCTIONS))
        if name == "received":
            return self._received(node)
        if node.kwargs:
            return self.fail(node, f"{name} 不接受具名参数 {node.kwargs[0][0]}", FUNCTIONS[name])
        if any(isinstance(a, ast.Duration) for a in args):
            return self.fail(node, "时长（如 3 years）只能写在 received(…, within = …) 中", FUNCTIONS[name])

        def nargs(lo: int, hi: int) -> bool:
            if not lo <= len(args) <= hi:
                self.fail(node, f"{name} 的参数个数不对", FUNCTIONS[name])
                return False
            return True

        def literal_name(kind: str, known: Mapping[str, object] | frozenset[str]) -> T | None:
            if not nargs(1, 1):
                return T("error")
            a = args[0]
            if not isinstance(a, ast.Str):
                return self.fail(node, f"{name} 的参数应为带引号的名称", FUNCTIONS[name])
            if a.value not in known:
                return self.fail(node, f"未知{kind} “{a.value}”",
                                 f"已登记的{kind}：" + ("、".join(sorted(known)) or "（无）"))
            return None

        if name in ("listed", "listed_since"):
            err = literal_name("名单", self.env.schema.lists)
            return err or T("bool" if name == "listed" else "date")
        if name == "tagged":
            return literal_name("标签", self.env.schema.tags) or T("bool")
        if name == "within":
            return literal_name("区域", self.env.schema.zones) or T("bool")
        if name == "param":
            err = literal_name("参数", self.env.params)
            if err:
                return err
            assert isinstance(args[0], ast.Str)
            return T(self.env.params[args[0].value])
        if name in AGGREGATES or (name in ("min", "max") and len(args) == 1):
            if not nargs(1, 1):
                return T("error")
            t = self.infer(args[0])
            if t.base == "error":
                return t
            if not t.series:
                return self.fail(node, f"{name} 需要一段期间的值", f"例如 {name}(x[months(-12..-1)])")
            if name == "count":
                return T("count")
            if t.base not in NUMERIC:
                return self.fail(node, f"{name} 只能汇总数值")
            return T("number" if name == "avg" and t.base == "count" else t.base)
        if name in ("min", "max"):
            ts = [self.expect(a, "numeric") for a in args]
            bases = [t.base for t in ts]
            if "error" in bases:
                return T("error")
            out = bases[0]
            for b in bases[1:]:
                if {out, b} == {"money", "count"}:
                    return self.fail(node, f"{name} 的参数混用了金额与人数")
                out = _join_numeric(out, b)
            return T(out)
        if name in ("round", "floor", "ceil"):
            if not nargs(1, 2):
                return T("error")
            if len(args) == 2 and not (isinstance(args[1], ast.Num) and args[1].value.denominator == 1
                                       and 0 <= args[1].value <= 8):
                return self.fail(args[1], "保留位数应为 0 到 8 的整数")
            return self.expect(args[0], "numeric")
        if name == "abs":
            return self.expect(args[0], "numeric") if nargs(1, 1) else T("error")
        if name == "tier":
            return self._tier(node)
        if name in ("years_since", "months_since", "year_of"):
            if not nargs(1, 1):
                return T("error")
            t = self.infer(args[0])
            if t.base not in ("date", "error") or t.series:
                return self.fail(node, f"{name} 的参数应为日期", FUNCTIONS[name])
            return T("count")
        if name == "starts_with":
            if not nargs(2, 2):
                return T("error")
            t = self.infer(args[0])
            prefixes = args[1]
            ok = isinstance(prefixes, ast.Str) or (
                isinstance(prefixes, ast.ListLit) and all(isinstance(i, ast.Str) for i in prefixes.items))
            if t.base not in ("string", "error") or not ok:
                return self.fail(node, "starts_with 的参数应为代码字段和前缀", FUNCTIONS[name])
            return T("bool", t.series)
        if name == "known":
            return T("bool") if nargs(1, 1) and self.infer(args[0]).base != "error" else T("error")
        # coalesce
        if not nargs(2, 2):
            return T("error")
        first, second = self.infer(args[0]), self.infer(args[1])
        if first.base in NUMERIC and second.base in NUMERIC:
            return T(_join_numeric(first.base, second.base), first.series)
        if first.base != second.base:
            return self.fail(node, "coalesce 的两个参数类型应相同")
        return first

    def _received(self, node: ast.Call) -> T:
        """received("policy/clause"[, within = N years|months | since = date])."""
        hint = FUNCTIONS["received"]
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Str):
            return self.fail(node, "received 的第一个参数应为带引号的条款键 “政策编号/条款编号”", hint)
        key = node.args[0].value
        policy_id, _, clause_id = key.partition("/")
        if not policy_id or not clause_id or "/" in clause_id:
            return self.fail(node.args[0], f"条款键 “{key}” 应写成 “政策编号/条款编号”",
                             "例如 received(\"wenzhou-2023-8-specialized/little-giant\")")
        names = [k for k, _ in node.kwargs]
        unknown = [k for k in names if k not in ("within", "since")]
        if unknown:
            return self.fail(node, f"received 不认识参数 {unknown[0]}", "可用 within = 3 years 或 since = 日期")
        if len(names) > 1:
            return self.fail(node, "within 与 since 只能二选一", hint)
        within, since = node.kwarg("within"), node.kwarg("since")
        if within is not None and not isinstance(within, ast.Duration):
            return self.fail(within, f"within 应为时长，但写成了 “{within.text}”",
                             "例如 within = 3 years、within = 36 months")
        if since is not None:
            if isinstance(since, ast.Duration):
                return self.fail(since, "since 应为日期", "例如 since = hitech_cert_on 或 since = 2023-01-01")
            t = self.infer(since)
            if t.base == "error":
                return t
            if t.base != "date" or t.series:
                return self.fail(since, f"since 应为日期，但 “{since.text}” 是{LABELS.get(t.base, t.base)}",
                                 "例如 since = hitech_cert_on 或 since = 2023-01-01")
        return T("bool")

    def _tier(self, node: ast.Call) -> T:
        args = node.args
        if len(args) != 3 or not isinstance(args[1], ast.ListLit) or not isinstance(args[2], ast.ListLit):
            return self.fail(node, "tier 的写法不对", FUNCTIONS["tier"])
        x = self.expect(args[0], "numeric")
        bounds, values = args[1].items, args[2].items
        if len(values) != len(bounds) + 1:
            return self.fail(node, f"tier 有 {len(bounds)} 个门槛，应有 {len(bounds) + 1} 个档位值，"
                                   f"实有 {len(values)} 个")
        if not all(isinstance(b, ast.Num) for b in bounds):
            return self.fail(args[1], "tier 的门槛应为数字")
        nums = [b.value for b in bounds if isinstance(b, ast.Num)]
        if nums != sorted(nums) or len(set(nums)) != len(nums):
            return self.fail(args[1], "tier 的门槛应从小到大排列且不重复")
        out: str | None = None
        for v in values:
            t = self.expect(v, "numeric")
            if t.base == "error":
                return t
            out = t.base if out is None else _join_numeric(out, t.base)
        if x.base == "error":
            return x
        return T(out or "number")


def _join_numeric(a: str, b: str) -> str:
    if "money" in (a, b):
        return "money"
    if a == b:
        return a
    return "number"


def _ptext(node: ast.FieldRef) -> str:
    return node.text[len(node.name) + 1 : -1] if "[" in node.text else ""
