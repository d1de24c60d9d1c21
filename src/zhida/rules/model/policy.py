"""Loading policy documents: YAML with line numbers → validated, parsed `Policy` objects.

Every problem in a file is collected and raised together as one `PolicyError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from zhida.rules.lang import ast
from zhida.rules.lang.errors import ExpressionError, PolicyError, Problem
from zhida.rules.lang.params import Parameter
from zhida.rules.lang.parse import parse, parse_number
from zhida.rules.model.document import ClauseSpec, PeriodSpec, PolicySpec

Path_ = tuple[str | int, ...]

_FIX = {
    "missing": "补上这个必填项",
    "extra_forbidden": "删除此项，或检查拼写（可用字段见 docs/policy-format.md）",
    "literal_error": "改为允许的取值之一",
    "string_pattern_mismatch": "按要求的格式填写",
    "date_from_datetime_parsing": "日期写成 2024-01-01",
    "date_parsing": "日期写成 2024-01-01",
    "too_short": "至少填写一项",
}


@dataclass(frozen=True)
class Clause:
    spec: ClauseSpec
    policy_id: str
    when: ast.Node
    amount: ast.Node
    cap: ast.Node | None

    @cached_property
    def key(self) -> str:
        return f"{self.policy_id}/{self.spec.id}"


@dataclass(frozen=True)
class Policy:
    spec: PolicySpec
    clauses: tuple[Clause, ...]
    params: Mapping[str, Parameter]
    source: str
    content_hash: str
    lines: Mapping[Path_, int] = field(default_factory=dict, compare=False, repr=False)
    enterprise_cap: tuple[ast.Node, ast.Node] | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    def line(self, *path: str | int) -> int | None:
        """The 1-based line of a path in the source file (the nearest known ancestor)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def in_force(self, on: date) -> bool:
        """Whether the document applies on `on`: inside valid_from..valid_to and, when it lists
        `periods`, inside one of them (a gap between two notices pays nothing)."""
        if not (self.spec.valid_from <= on and (self.spec.valid_to is None or on <= self.spec.valid_to)):
            return False
        return not self.spec.periods or any(p.start <= on and (p.end is None or on <= p.end)
                                            for p in self.spec.periods)

    @property
    def cap_id(self) -> str:
        """The yearly cap per enterprise this policy's awards count against: its
        enterprise_cap's group (shared with other policies), else its own id."""
        cap = self.spec.enterprise_cap
        return cap.group if cap is not None and cap.group else self.id

    @property
    def validity_text(self) -> str:
        """“2022-04-25 至 2024-12-31、2025-04-14 至 2025-12-31”, for people."""
        spans = self.spec.periods or [PeriodSpec(start=self.spec.valid_from, end=self.spec.valid_to)]
        return "、".join(f"{p.start} 至 {p.end or '长期'}" for p in spans)


def to_fraction(value: Any, where: str) -> Fraction:
    """A number from YAML: 12, 0.055 (read as the decimal written), "60%", "2000万"."""
    if isinstance(value, bool):
        raise ValueError(f"{where}：应为数值，实为 {value}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(repr(value))
    if isinstance(value, str):
        try:
            return parse_number(value)
        except ExpressionError as e:
            raise ValueError(f"{where}：{e.message}") from e
    raise ValueError(f"{where}：应为数值，实为 {value!r}")


def money_fen(value: Any, where: str) -> int:
    """A money amount in yuan (with units) → integer fen; more than 2 decimals is an error."""
    fen = to_fraction(value, where) * 100
    if fen.denominator != 1:
        raise ValueError(f"{where}：金额最多保留两位小数（到分）")
    return int(fen)


def _line_map(node: Any, path: Path_ = (), out: dict[Path_, int] | None = None) -> dict[Path_, int]:
    out = {} if out is None else out
    lc = getattr(node, "lc", None)
    if isinstance(node, dict) and lc is not None:
        for key, value in node.items():
            try:
                line, _col = lc.value(key)
            except (KeyError, TypeError):
                line, _col = lc.key(key)
            if isinstance(value, (LiteralScalarString, FoldedScalarString)):
                line += 1  # block scalar: content starts on the next line
            out[(*path, str(key))] = line + 1
            _line_map(value, (*path, str(key)), out)
    elif isinstance(node, list) and lc is not None:
        for i, value in enumerate(node):
            line, _col = lc.item(i)
            out[(*path, i)] = line + 1
            _line_map(value, (*path, i), out)
    return out


def _plain(node: Any) -> Any:
    """ruamel containers → plain dict/list (keys as str) for pydantic and hashing."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, (date, int)) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def load_policy_file(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError([Problem(f"无法读取文件：{e}", file=str(path), fix="检查路径与编码（应为 UTF-8）")]) from e
    return load_policy_text(text, str(path))


def load_policy_text(text: str, source: str = "<policy>") -> Policy:
    """A policy from YAML text (a file's, or an editor's), with line numbers in every problem."""
    yaml = YAML(typ="rt")
    try:
        raw = yaml.load(text)
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise PolicyError([Problem(f"YAML 格式错误：{getattr(e, 'problem', e)}", file=source, line=line,
                                   fix="检查缩进与冒号；多行表达式用 | 块")]) from e
    if not isinstance(raw, dict):
        raise PolicyError([Problem("文件内容应为一个政策文档（键值映射）", file=source, line=1)])
    return parse_policy(_plain(raw), source, _line_map(raw))


def parse_policy(doc: Mapping[str, Any], source: str = "<policy>",
                 lines: Mapping[Path_, int] | None = None) -> Policy:
    """Validate a policy document and parse its expressions; all problems at once."""
    lines = dict(lines or {})

    def line_of(path: Path_) -> int | None:
        while path:
            if path in lines:
                return lines[path]
            path = path[:-1]
        return None

    try:
        spec = PolicySpec.model_validate(dict(doc))
    except ValidationError as e:
        invalid: list[Problem] = []
        for err in e.errors():
            loc = tuple(err["loc"])
            name = ".".join(str(x) for x in loc)
            value = "" if err["type"] == "missing" else repr(err.get("input"))[:80]
            invalid.append(Problem(err["msg"], file=source, line=line_of(loc), field=name, value=value,
                                   fix=_FIX.get(err["type"], "")))
        raise PolicyError(invalid) from None

    problems: list[Problem] = []

    def expr(text: str, path: Path_) -> ast.Node:
        try:
            return parse(text)
        except ExpressionError as e:
            base = line_of(path)
            problems.append(Problem(e.message, file=source, line=None if base is None else base + e.line - 1,
                                    field=".".join(str(x) for x in path), value=text.strip()[:80], fix=e.fix))
            return ast.Bool(False)

    clauses = []
    seen: set[str] = set()
    for i, c in enumerate(spec.clauses):
        if c.id in seen:
            problems.append(Problem(f"条款编号重复：{c.id}", file=source, line=line_of(("clauses", i, "id")),
                                    field=f"clauses.{i}.id", fix="每个条款用不同的 id"))
        seen.add(c.id)
        when = expr(c.when, ("clauses", i, "when"))
        amount = expr(str(c.amount), ("clauses", i, "amount"))
        cap = None if c.cap is None else expr(str(c.cap), ("clauses", i, "cap"))
        clauses.append(Clause(c, spec.id, when, amount, cap))

    params: dict[str, Parameter] = {}
    for name, p in spec.parameters.items():
        try:
            params[name] = Parameter(name, p.label, p.unit, p.source, _param_values(p.values, name))
        except ValueError as e:
            problems.append(Problem(str(e), file=source, line=line_of(("parameters", name, "values")),
                                    field=f"parameters.{name}.values", fix="数值写成 60%、5.5%、1500 或 2000万"))
    if spec.budget is not None:
        try:
            money_fen(spec.budget, "budget")
        except ValueError as e:
            problems.append(Problem(str(e), file=source, line=line_of(("budget",)), field="budget",
                                    value=str(spec.budget), fix="写成 5000万 或 120000.50"))
    if spec.valid_to is not None and spec.valid_to < spec.valid_from:
        problems.append(Problem("有效期结束早于开始", file=source, line=line_of(("valid_to",)), field="valid_to",
                                value=str(spec.valid_to), fix="检查 valid_from / valid_to"))
    problems += _period_problems(spec, source, line_of)
    for i, c in enumerate(spec.clauses):
        if c.amount_is == "ceiling" and c.mode != "reviewed":
            problems.append(Problem(
                f"条款 {c.id} 的金额为“不超过”上限（amount_is: ceiling），须由部门审核核定，不能用 {c.mode} 方式兑现",
                file=source, line=line_of(("clauses", i, "amount_is")), field=f"clauses.{i}.amount_is",
                value=c.mode, fix="改为 mode: reviewed（申报审批），或按本地执行标准写确定金额并去掉 amount_is"))
    enterprise_cap: tuple[ast.Node, ast.Node] | None = None
    if spec.enterprise_cap is not None:
        enterprise_cap = (expr(spec.enterprise_cap.amount, ("enterprise_cap", "amount")),
               expr(spec.enterprise_cap.when, ("enterprise_cap", "when")))
    if problems:
        raise PolicyError(problems)
    return Policy(spec, tuple(clauses), params, source, content_hash(spec), lines, enterprise_cap)


def _period_problems(spec: PolicySpec, source: str, line_of: Callable[[tuple[str | int, ...]], int | None]
                     ) -> list[Problem]:
    """`periods`: in order, not overlapping, the first starting on valid_from and the last ending on
    valid_to (so the two ways of reading the validity agree), only the last open-ended."""
    out: list[Problem] = []
    ps = spec.periods
    for i, p in enumerate(ps):
        where = ("periods", i)
        if p.end is not None and p.end < p.start:
            out.append(Problem(f"第 {i + 1} 个施行期间结束早于开始", file=source, line=line_of(where),
                               field=f"periods.{i}", value=f"{p.start} 至 {p.end}", fix="检查 from / to"))
        if p.end is None and i < len(ps) - 1:
            out.append(Problem(f"第 {i + 1} 个施行期间没有结束日期，却不是最后一个", file=source, line=line_of(where),
                               field=f"periods.{i}.to", fix="除最后一个外，每个期间都写 to"))
        previous_end = ps[i - 1].end if i else None
        if previous_end is not None and p.start <= previous_end:
            out.append(Problem(f"第 {i + 1} 个施行期间与前一个重叠或顺序颠倒", file=source, line=line_of(where),
                               field=f"periods.{i}.from", value=str(p.start),
                               fix=f"按时间顺序写，且从 {previous_end} 之后开始"))
    if ps and ps[0].start != spec.valid_from:
        out.append(Problem("第一个施行期间的开始日期与 valid_from 不一致", file=source, line=line_of(("periods", 0)),
                           field="periods.0.from", value=str(ps[0].start), fix=f"写成 valid_from（{spec.valid_from}）"))
    if ps and ps[-1].end != spec.valid_to:
        out.append(Problem("最后一个施行期间的结束日期与 valid_to 不一致", file=source,
                           line=line_of(("periods", len(ps) - 1)), field=f"periods.{len(ps) - 1}.to",
                           value=str(ps[-1].end), fix=f"写成 valid_to（{spec.valid_to or '不写，长期有效'}）"))
    return out


def content_hash(spec: PolicySpec) -> str:
    """The version of a policy document that runs, offers and payments record."""
    doc = spec.model_dump(mode="json")
    for key, default in _ADDED_LATER:          # fields added later, left at their default
        if doc.get(key) == default:
            del doc[key]
    if isinstance(doc.get("enterprise_cap"), dict) and doc["enterprise_cap"].get("group") is None:
        doc["enterprise_cap"].pop("group", None)
    for clause in doc["clauses"]:
        for key, default in _CLAUSE_ADDED_LATER:
            if clause.get(key) == default:
                del clause[key]
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# Fields added after policies were first published: a document that leaves them at their default
# hashes as it did before they existed, so adding a field never makes every policy a new version.
_ADDED_LATER: tuple[tuple[str, Any], ...] = (("periods", []),)
_CLAUSE_ADDED_LATER: tuple[tuple[str, Any], ...] = (("amount_is", "exact"),)


def _param_values(values: Mapping[date, Any], name: str) -> dict[date, dict[str, Fraction]]:
    out: dict[date, dict[str, Fraction]] = {}
    for start, v in values.items():
        where = f"参数 {name} 在 {start}"
        if isinstance(v, dict):
            out[start] = {str(k): to_fraction(x, where) for k, x in v.items()}
        else:
            out[start] = {"default": to_fraction(v, where)}
    return out


def policy_files(paths: Iterable[Path]) -> list[Path]:
    """YAML files under the given files/directories, sorted."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(x for x in p.rglob("*.y*ml") if x.suffix in (".yaml", ".yml")))
        else:
            found.append(p)
    return found


def load_policies(paths: Iterable[Path]) -> list[Policy]:
    """Every policy under `paths`; problems of all files are raised together."""
    policies, problems = [], []
    for f in policy_files(paths):
        try:
            policies.append(load_policy_file(f))
        except PolicyError as e:
            problems.extend(e.problems)
    ids: dict[str, str] = {}
    for p in policies:
        if p.id in ids:
            problems.append(Problem(f"政策编号重复：{p.id}（另见 {ids[p.id]}）", file=p.source, line=p.line("id"),
                                    field="id", fix="每份政策文件使用唯一的 id"))
        ids[p.id] = p.source
    if problems:
        raise PolicyError(problems)
    return policies
