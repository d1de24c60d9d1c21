"""A Draft → the YAML draft in the pack's format (docs/policy-format.md), with comments.

What the text does not give is written `TODO` (a value that fails `zhida policy lint` until the
officer replaces it); parts read with low confidence carry a `# 待核对` comment.
"""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction

from zhida.extract.model import LOW, Amount, Atom, Draft, DraftClause

TODO = "TODO"
_MODES = "exempt 免申即享 | instant 即申即办 | reviewed 申报审批 | report_only 政策体检"
HEADER = ("id", "title", "issuer", "document_number", "region", "source_url", "valid_from", "valid_to",
          "department")
_HINTS = {
    "id": "政策编号：小写字母、数字和 -，全包唯一",
    "title": "政策名称", "issuer": "发文机关", "document_number": "文号",
    "region": "发文地区的 GB/T 2260 六位代码，写成带引号的字符串", "source_url": "原文网址（http/https）",
    "valid_from": "施行日期 YYYY-MM-DD", "valid_to": "截止日期 YYYY-MM-DD（长期有效则删去此行）",
    "department": "责任部门",
}


def number(v: Fraction, percent: bool = False) -> str:
    if percent:
        p = v * 100
        return f"{_plain(p)}%"
    for unit, size in (("亿", 10**8), ("万", 10**4)):
        if v != 0 and v % size == 0:
            return f"{_plain(v / size)}{unit}"
    return _plain(v)


def _plain(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    return format(float(v), "f").rstrip("0").rstrip(".")


def field_ref(fid: str, period: str | None, agg: str = "sum") -> str:
    if period is None:
        return fid
    if period.startswith(("months(", "years(")):
        return f"{agg}({fid}[{period}])"
    return f"{fid}[{period}]"


def atom_expr(a: Atom, clause_key: str) -> str:
    if a.field == "received":
        return f'not received("{clause_key}")'
    if a.field.startswith(("listed:", "tagged:")):
        fn, name = a.field.split(":", 1)
        call = f'{fn}("{name}")'
        return call if a.value is True else f"not {call}"
    ref = field_ref(a.field, a.period, a.agg)
    v = a.value
    if isinstance(v, bool):
        return ref if v else f"not {ref}"
    if isinstance(v, tuple):
        return f"{ref} {a.op} [{', '.join(json.dumps(x, ensure_ascii=False) for x in v)}]"
    if isinstance(v, str):
        return f"{ref} {a.op} {json.dumps(v, ensure_ascii=False)}"
    if isinstance(v, date):
        return f"{ref} {a.op} {v.isoformat()}"
    return f"{ref} {a.op} {number(v, percent=a.field == 'layoff_rate' or _is_percent(a))}"


def _is_percent(a: Atom) -> bool:
    return isinstance(a.value, Fraction) and a.value < 1 and a.value != 0 and a.field.endswith("_rate")


def _comment(text: str, span: tuple[int, int], conf: float, notes: list[str]) -> str:
    quote = text[span[0]:span[1]].replace("\n", " ")
    flag = "待核对：" if conf < LOW else ""
    extra = f"；{'；'.join(notes)}" if notes else ""
    return f"# {flag}“{quote}” [{span[0]}:{span[1]}] 置信度 {conf:.2f}{extra}"


def amount_expr(c: DraftClause) -> tuple[str, str]:
    """The amount expression (or TODO) and a comment saying what it came from."""
    prim = [m for m in c.amounts if m.kind in ("fixed", "rate", "per_head", "tier")]
    tiers = [m for m in prim if m.kind == "tier"]
    if tiers:
        fid = tiers[0].fact or TODO
        ts = [m.value for m in tiers if isinstance(m.value, tuple)]
        expr = (f"tier({field_ref(fid, tiers[0].period)}, [{', '.join(number(x) for x, _ in ts)}], "
                f"[0, {', '.join(number(y) for _, y in ts)}])")
        return expr, "分档金额"
    if len(prim) != 1:
        seen = "、".join(_describe(m) for m in prim) or "原文未写金额"
        return TODO, f"待核对：{seen}"
    m = prim[0]
    if m.kind == "fixed" and isinstance(m.value, Fraction):
        return number(m.value), _describe(m)
    base_kind = "base" if m.kind == "rate" else "count"
    base = next((x for x in c.amounts if x.kind == base_kind), None)
    if base is None or not isinstance(m.value, Fraction):
        return TODO, f"待核对：{_describe(m)}，未识别出计算基数"
    pct = m.kind == "rate" and m.value < 1
    return f"{field_ref(str(base.value), base.period)} * {number(m.value, percent=pct)}", _describe(m)


def _describe(m: Amount) -> str:
    if isinstance(m.value, tuple):
        return f"分档 {number(m.value[0])} → {number(m.value[1])}"
    if isinstance(m.value, str):
        return f"{m.kind} {m.value}"
    label = {"fixed": "定额", "rate": "比例", "per_head": "每人", "cap": "上限"}.get(m.kind, m.kind)
    return f"{label} {number(m.value, percent=m.kind == 'rate' and m.value < 1)}"


def clause_yaml(d: Draft, c: DraftClause, i: int, policy_id: str) -> list[str]:
    cid = f"clause-{i}"
    source = d.text[c.span[0]:c.span[1]].strip()
    lines = [f"  - id: {cid}",
             f"    title: {json.dumps(source[:30], ensure_ascii=False)}   # TODO: 条款名称",
             f"    mode: reviewed   # 待定：{_MODES}",
             f"    source: {json.dumps(source, ensure_ascii=False)}"]
    if c.groups:
        lines.append("    when: |")
        for k, g in enumerate(c.groups):
            lead = "" if k == 0 else "and "
            if len(g) == 1:
                a = g[0]
                lines.append(f"      {lead}{atom_expr(a, f'{policy_id}/{cid}')}   "
                             f"{_comment(d.text, a.span, a.confidence, a.notes)}")
                continue
            lines.append(f"      {lead}(")
            for j, a in enumerate(g):
                sep = "" if j == 0 else "or "
                lines.append(f"        {sep}{atom_expr(a, f'{policy_id}/{cid}')}   "
                             f"{_comment(d.text, a.span, a.confidence, a.notes)}")
            lines.append("      )")
    else:
        lines.append(f"    when: {TODO}   # 待核对：未识别出条件")
    for note in c.notes:
        lines.append(f"    # 待核对：{note}")
    expr, why = amount_expr(c)
    lines.append(f"    amount: {json.dumps(expr, ensure_ascii=False) if expr != TODO else TODO}   # {why}")
    caps = [m for m in c.amounts if m.kind == "cap"]
    if caps:
        m = caps[0]
        value = number(m.value) if isinstance(m.value, Fraction) else field_ref(str(m.value), m.period)
        flag = "" if len(caps) == 1 else "待核对：原文有多个上限；"
        lines.append(f"    cap: {json.dumps(value, ensure_ascii=False)}   # {flag}{_describe(m)}")
    return lines


def render_yaml(d: Draft, policy_id: str = "todo-policy") -> str:
    """The draft as a policy file; `policy_id` names it in received("…") keys."""
    out = ["# 政策拆解草稿（zhida policy draft 生成）：逐项核对后再提交。",
           "# TODO 为原文未给出、必须填写的内容；“待核对”为低置信度或未能识别的部分。",
           f"id: {policy_id}   # TODO? {_HINTS['id']}"]
    for key in HEADER[1:]:
        value = d.header.get(key)
        if value is None and key == "valid_to":
            continue
        shown = json.dumps(value, ensure_ascii=False) if key in ("title", "document_number") and value else value
        if key in ("valid_from", "valid_to") and value:
            shown = value
        out.append(f"{key}: {shown if value else TODO}   # {'从原文读出，请核对' if value else 'TODO: ' + _HINTS[key]}")
    out.append("clauses:")
    for i, c in enumerate(d.clauses, start=1):
        out += clause_yaml(d, c, i, policy_id)
    return "\n".join(out) + "\n"
