"""Facts compared with a figure: which field, which boundary, which period (shared by the readers)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from zhida.extract.model import Amount, Atom
from zhida.extract.table import Hit, PhraseTable
from zhida.extract.text import Quantity, Text
from zhida.profiles.registry import Registry

SEG = re.compile(r"[,;:…]")
_LE = ("不超过", "不高于", "不多于", "不大于", "最多")
_GE = ("不低于", "不少于", "不小于", "至少")
_LT = ("不足", "不满", "未满", "未达到", "低于", "少于", "小于")
_GT = ("超过", "高于", "多于", "大于")
_GE2 = ("满", "达到", "达")
_SUFFIX = re.compile(r"^(?:\(含\))?(?:及|或)?(以上|以下|以内)(?:\(含\))?")
CAP_BEFORE = ("最高不超过", "最高", "不超过", "上限为", "上限", "最多", "封顶", "不高于")
PER_HEAD = re.compile(r"每(?:人|名|招用|吸纳|新增|个岗位)")
MONTHS_AGO = re.compile(r"(?:近|前|过去|最近)(\d+|[一二三四五六七八九十]+)个月")
DEFINED = re.compile(r"所称(.+?),?是指")
DOCNO = re.compile(r"〔\d{4}〕\d+号|\[\d{4}\]\d+号|\d{4}年第\d+号")
NEG_BEFORE = ("非", "未", "不属于", "不是", "未列入", "未被列入")
BAND = re.compile(
    r"(?P<lo>\d+(?:\.\d+)?(?:亿|万|千)?)元?(?:[—\-–~至到](?P<hi>\d+(?:\.\d+)?(?:亿|万|千)?)元?)?(?P<ge>以上)?"
    r"的[^,;]*?(?P<amt>\d+(?:\.\d+)?(?:亿|万|千)?)元")
MISMATCH = "期间不符："
RECEIVED_NOTE = "“只奖励一次/未获得过”写成 not received(\"政策编号/条款编号\")，请核对所指条款"
_MAG = {"亿": 10**8, "万": 10**4, "千": 10**3}
MONEY_TYPES = ("money",)
COUNT_TYPES = ("count", "number")


@dataclass
class Found:
    atoms: list[Atom] = field(default_factory=list)
    amounts: list[Amount] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    excluding: bool = False          # the sentence only says who is excluded


def penalty(note: str) -> float:
    return 0.0 if not note else 0.4 if note.startswith(MISMATCH) else 0.1


def figure(s: str) -> Fraction:
    mag = s[-1] if s[-1] in _MAG else ""
    return Fraction(s[: len(s) - len(mag)]) * _MAG.get(mag, 1)




class FactReader:
    def __init__(self, text: Text, table: PhraseTable, registry: Registry) -> None:
        self.t, self.n, self.table, self.reg = text, text.norm, table, registry
        self._periods: list[tuple[int, str]] = []
        self._fact_starts: list[int] = []

    # -- helpers ------------------------------------------------------------------
    def seg_start(self, pos: int, lo: int) -> int:
        ends = [m.end() for m in SEG.finditer(self.n, lo, pos)]
        return ends[-1] if ends else lo

    def ftype(self, fid: str) -> str:
        return self.reg.fields[fid].type if fid in self.reg.fields else ""

    def fperiod(self, fid: str) -> str:
        return self.reg.fields[fid].period if fid in self.reg.fields else "none"

    def compatible(self, fid: str, q: Quantity) -> bool:
        t = self.ftype(fid)
        unit = self.reg.fields[fid].unit if fid in self.reg.fields else None
        if q.unit in ("money", "money?"):
            return t == "money"
        if q.unit == "percent":
            return t == "percent"
        if q.unit in ("个月", "月"):
            return unit == "月"
        if q.unit == "年":
            return unit == "年"
        if q.unit in ("人", "名"):
            return t in COUNT_TYPES and unit == "人"
        if q.unit in ("件",):
            return unit == "件"
        return False

    def period_of(self, fid: str, pos: int, lo: int, periods: list[tuple[int, str]]) -> tuple[str | None, str]:
        """The period for a fact read at `pos`: the last period named before it in the sentence."""
        gran = self.fperiod(fid)
        if gran == "none":
            return None, ""
        named = self.named_periods(pos, lo, periods)
        for p in reversed(named):
            is_month = p.startswith("months") or p in ("last_month", "this_month")
            if (gran == "month") == is_month:
                return p, ""
        if named:
            return ("last_year" if gran == "year" else "last_month"), \
                f"{MISMATCH}原文期间 {named[-1]} 与该字段的粒度（{'年' if gran == 'year' else '月'}）不符，请改写"
        if gran == "year":
            return "last_year", "原文未写期间，默认上年度"
        return "last_month", "原文未写期间，默认上月"

    def named_periods(self, pos: int, lo: int, periods: list[tuple[int, str]]) -> list[str]:
        """Periods named in the sentence before `pos` that may date the fact there."""
        return [p for at, p in periods if lo <= at < pos and not (p.isdigit() and self._fact_between(at, pos))]

    def _fact_between(self, a: int, b: int) -> bool:
        """Whether another fact is named between a year and `b` (a year dates the next fact only)."""
        return any(a < at < b for at in self._fact_starts)

    def _op(self, q: Quantity, anchor_end: int) -> tuple[str, float]:
        n = self.n
        op, sure = self._op_words(q, anchor_end)
        tail = n[q.end:q.end + 12]
        if re.search(r"不含本数|不包括本数", tail):      # “…（不含本数）”: the bound itself is excluded
            op = {">=": ">", "<=": "<"}.get(op, op)
        return op, sure

    def _op_words(self, q: Quantity, anchor_end: int) -> tuple[str, float]:
        n = self.n
        m = _SUFFIX.match(n[q.end:q.end + 8])
        if m:
            return (">=" if m[1] == "以上" else "<="), 1.0
        before = n[max(anchor_end, q.start - 20):q.start]
        best: tuple[int, str] | None = None
        for words, op in ((_LE, "<="), (_GE, ">="), (_LT, "<"), (_GT, ">"), (_GE2, ">=")):
            for w in words:
                at = before.rfind(w)
                # a longer word ending at the same place (不超过 vs 超过) was seen first and wins
                if at >= 0 and (best is None or at + len(w) > best[0]):
                    best = (at + len(w), op)
        return (best[1], 1.0) if best else (">=", 0.5)

    def _condition(self, q: Quantity, anchor: Hit | str, lo: int, periods: list[tuple[int, str]], out: Found,
                   conf: float, note: str = "", period: str | None = None) -> None:
        fid = anchor if isinstance(anchor, str) else anchor.entry.target
        start = q.start if isinstance(anchor, str) else min(anchor.start, q.start)
        if not isinstance(anchor, str) and anchor.entry.monthly and not period:
            named = self.named_periods(start, lo, periods)
            if named and named[-1].startswith("months("):     # “近12个月…”: the monthly fact, over the range
                fid = anchor.entry.monthly
        anchor_end = lo if isinstance(anchor, str) else anchor.end
        op, sure = self._op(q, max(anchor_end, self.seg_start(q.start, lo)) if anchor_end < q.start else q.start)
        period, pnote = (period, "") if period else self.period_of(fid, start, lo, periods)
        notes = [x for x in (note, pnote, "" if sure == 1.0 else "原文未写边界词，默认“不低于”") if x]
        end = q.end + (len(m[0]) if (m := _SUFFIX.match(self.n[q.end:q.end + 8])) else 0)
        out.atoms.append(Atom(fid, op, q.value, period, self.t.span(start, end),
                              round(conf * sure - penalty(pnote), 2), "measure", notes,
                              agg="sum" if self.ftype(fid) == "money" else "avg"))

