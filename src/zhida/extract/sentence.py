"""One sentence → atoms and amount components, with spans and confidences."""

from __future__ import annotations

import re
from fractions import Fraction

from zhida.extract.amounts import AmountReader
from zhida.extract.facts import (
    DEFINED,
    DOCNO,
    MONTHS_AGO,
    NEG_BEFORE,
    PER_HEAD,
    RECEIVED_NOTE,
    SEG,
    Found,
    penalty,
)
from zhida.extract.model import Amount, Atom
from zhida.extract.table import Hit
from zhida.extract.text import YEAR, Quantity, dates, number_of, quantities

__all__ = ["SEG", "Found", "SentenceReader"]


class SentenceReader(AmountReader):
    # -- the sentence ---------------------------------------------------------------
    def read(self, lo: int, hi: int) -> Found:
        n, out = self.n, Found()
        sent = n[lo:hi]
        skip = [(m.start() + lo, m.end() + lo) for m in DOCNO.finditer(sent)]
        periods: list[tuple[int, str]] = []
        for m in YEAR.finditer(sent):
            skip.append((m.start() + lo, m.end() + lo))
            periods.append((m.start() + lo, m["y"]))
        for _d, s, e in dates(sent):
            skip.append((s + lo, e + lo))
        for m in MONTHS_AGO.finditer(sent):
            k = m[1] if m[1].isdigit() else str(int(number_of(m[1]) or 0))
            periods.append((m.start() + lo, f"months(-{k}..-1)"))
            skip.append((m.start() + lo, m.end() + lo))
        hits = self._hits(sent, lo)
        self._fact_starts = [h.start for h in hits if h.entry.kind in ("measure", "state", "list", "tag")]
        periods += [(h.start, h.entry.target) for h in hits if h.entry.kind == "period"]
        periods.sort()
        self._periods = periods
        suppressed = [(m.start(1) + lo, m.end(1) + lo) for m in DEFINED.finditer(sent)]
        hits = [h for h in hits if not any(a <= h.start < b for a, b in suppressed)]
        trigger = min((sent.find(w) + lo for w in self.table.exclusion_after if w in sent), default=None)
        self._kinds(hits, lo, hi, trigger, periods, out)
        self._dates(sent, lo, out)
        qs = quantities(n[:hi], skip)
        qs = [q for q in qs if q.start >= lo]
        consumed = self._tiers(sent, lo, hits, periods, out)
        measures = [h for h in hits if h.entry.kind == "measure"]
        for q in qs:
            if any(a <= q.start < b for a, b in consumed):
                continue
            self._quantity(q, lo, hi, measures, periods, out)
        self.caps_by_field(lo, hi, measures, periods, out)
        if "减半" in sent:
            at = sent.index("减半") + lo
            out.amounts.append(Amount("rate", Fraction(1, 2), self.t.span(at, at + 2), 0.8))
        out.excluding = trigger is not None and not out.amounts and all(
            a.value is False or a.op in ("not in", "!=") for a in out.atoms)
        return out

    def _hits(self, sent: str, lo: int) -> list[Hit]:
        groups = [("measure",), ("list", "tag"), ("state",), ("received",), ("period",)]
        found = [Hit(h.entry, h.start + lo, h.end + lo) for g in groups for h in self.table.find(sent, g)]

        def inside(h: Hit, o: Hit) -> bool:
            return o is not h and o.start <= h.start and h.end <= o.end and (o.end - o.start) > (h.end - h.start)

        keep = []
        for h in found:
            container = next((o for o in found if inside(h, o) and o.entry.kind != h.entry.kind), None)
            if container is None or (container.entry.kind == "state" and container.entry.requires):
                keep.append(h)
        return sorted(keep, key=lambda h: h.start)

    def _negated(self, h: Hit, lo: int, trigger: int | None) -> bool:
        before = self.n[max(lo, h.start - 4):h.start]
        if any(before.endswith(w) for w in NEG_BEFORE):
            return True
        seg = self.n[self.seg_start(h.start, lo):h.start]
        if any(w in seg for w in self.table.exclusion_before if w != "除"):
            return True
        if "除" in seg and "外" in self.n[h.end:h.end + 30]:
            return True
        return trigger is not None and h.start < trigger

    def _kinds(self, hits: list[Hit], lo: int, hi: int, trigger: int | None,
               periods: list[tuple[int, str]], out: Found) -> None:
        lists = {h.entry.target for h in hits if h.entry.kind == "list"}
        for h in hits:
            e = h.entry
            if e.kind not in ("list", "tag", "state", "received"):
                continue
            if e.requires and e.requires not in lists:
                continue
            neg = e.kind != "received" and self._negated(h, lo, trigger)
            conf = 0.75 if neg else 0.9
            span = self.t.span(h.start, h.end)
            if e.kind in ("list", "tag"):
                out.atoms.append(Atom(f"{'listed' if e.kind == 'list' else 'tagged'}:{e.target}", "==", not neg,
                                      None, span, conf, e.kind))
                continue
            if e.kind == "received":
                out.atoms.append(Atom("received", "==", False, None, span, 0.7, "received", [RECEIVED_NOTE]))
                continue
            period, note = self.period_of(e.target, h.start, lo, periods)
            op, value = e.op, e.value
            if neg:
                if value is True:
                    value = False
                else:
                    op = "not in" if op == "in" else "!="
            if isinstance(value, int) and not isinstance(value, bool):
                value = Fraction(value)
            out.atoms.append(Atom(e.target, op, value, period, span, conf - penalty(note), "state",
                                  [note] if note else []))

    def _dates(self, sent: str, lo: int, out: Found) -> None:
        for d, s, e in dates(sent):
            after = sent[e:e + 12]
            m = re.match(r"(之前|以前|前|之后|以后|后|起)", after)
            if not m or not re.search(r"注册|成立|设立|登记", after + sent[max(0, s - 8):s]):
                continue
            op = "<=" if "前" in m[1] else ">="
            notes = ["“前/后”是否含当日请核对"]
            out.atoms.append(Atom("established_on", op, d, None, self.t.span(s + lo, e + lo + len(m[1])), 0.7,
                                  "date", notes))

    def _quantity(self, q: Quantity, lo: int, hi: int, measures: list[Hit],
                  periods: list[tuple[int, str]], out: Found) -> None:
        n = self.n
        seg_lo = self.seg_start(q.start, lo)
        left = n[seg_lo:q.start]
        span = self.t.span(q.start, q.end)
        if q.unit in ("个月", "月") and re.match(r"(?:的)?(?:月?租金)", n[q.end:q.end + 4]):
            m = next((h for h in measures if h.start >= q.start and h.entry.target == "monthly_rent"), None)
            out.amounts.append(Amount("rate", q.value, span, 0.8))
            if m is not None:
                out.amounts.append(Amount("base", "monthly_rent", self.t.span(m.start, m.end), 0.8))
            return
        if PER_HEAD.search(n[max(seg_lo, q.start - 4):q.start]) and q.value == 1 and q.unit in ("人", "名"):
            return                                    # 每招用1人: the unit of a per-head amount
        if q.unit == "percent" and "个百分点" not in n[q.start:q.end]:
            self._percent(q, seg_lo, lo, measures, periods, out)
            return
        compatible = [h for h in measures if seg_lo <= h.start and h.end <= q.start
                      and self.compatible(h.entry.target, q)]
        benefit = max((left.rfind(w) + seg_lo + len(w) for w in self.table.benefit_nouns if w in left), default=-1)
        if q.unit in ("money", "money?"):
            if PER_HEAD.search(left) or re.search(r"最高(?:不超过)?$|上限为?$", left):
                self._amount(q, seg_lo, lo, hi, measures, out, 0.85)
                return
            if compatible and compatible[-1].end > benefit and not self._is_benefit_after(q):
                self._condition(q, compatible[-1], lo, periods, out, 0.9)
                return
            if benefit < 0 and not self._is_benefit_after(q) and not self._sentence_benefit(lo, hi):
                out.notes.append(f"未识别的金额或条件：“{n[seg_lo:q.end]}”")
                return
            self._amount(q, seg_lo, lo, hi, measures, out, 0.85 if benefit >= 0 else 0.65)
            return
        if q.unit in ("人", "名", "个月", "月", "年", "件"):
            if compatible:
                near = compatible[-1]
                self._condition(q, near, lo, periods, out, 0.9 if q.start - near.end <= 8 else 0.7)
                return
            right = [h for h in measures if q.end <= h.start <= q.end + 8 and self.compatible(h.entry.target, q)]
            if right:
                self._condition(q, right[0], lo, periods, out, 0.7)
                return
            earlier = [a for a in out.atoms if a.kind == "measure" and a.field in self.reg.fields
                       and self.compatible(a.field, q)]
            if earlier:                               # “300人及以上的…，300人以下的…”: the same fact
                self._condition(q, earlier[-1].field, lo, periods, out, 0.6, period=earlier[-1].period)
                return
            if q.unit in ("人", "名"):
                self._condition(q, "employees", lo, periods, out, 0.4, "只写了人数，按从业人数理解")
                return
        out.notes.append(f"未识别的条件：“{n[seg_lo:min(hi, q.end + 4)]}”")

    def _is_benefit_after(self, q: Quantity) -> bool:
        after = self.n[q.end:q.end + 6]
        return any(after.startswith(w) or after.startswith("的" + w) for w in self.table.benefit_nouns)

    def _sentence_benefit(self, lo: int, hi: int) -> bool:
        return any(w in self.n[lo:hi] for w in self.table.benefit_nouns)
