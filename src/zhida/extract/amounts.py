"""Amount components: tiers, rates of a base, per-head amounts, fixed awards and caps."""

from __future__ import annotations

import re

from zhida.extract.facts import BAND, CAP_BEFORE, PER_HEAD, FactReader, Found, figure
from zhida.extract.model import Amount, Atom
from zhida.extract.table import Hit
from zhida.extract.text import Quantity


class AmountReader(FactReader):
    def _tiers(self, sent: str, lo: int, hits: list[Hit], periods: list[tuple[int, str]],
               out: Found) -> list[tuple[int, int]]:
        bands = list(BAND.finditer(sent))
        if len(bands) < 2:
            return []
        first = bands[0].start() + lo
        fields = [h for h in hits if h.entry.kind == "measure" and h.end <= first
                  and self.ftype(h.entry.target) == "money"]
        if not fields:
            out.notes.append("分档金额：未识别出分档依据的指标")
            return []
        fid = fields[-1].entry.target
        period, note = self.period_of(fid, fields[-1].start, lo, periods)
        span = self.t.span(bands[0].start() + lo, bands[-1].end() + lo)
        lo_first = figure(bands[0]["lo"])
        out.atoms.append(Atom(fid, ">=", lo_first, period, self.t.span(fields[-1].start, bands[0].end("lo") + lo),
                              0.8 - (0.1 if note else 0), "measure", [note] if note else []))
        for b in bands:
            out.amounts.append(Amount("tier", (figure(b["lo"]), figure(b["amt"])), span, 0.8, period, fact=fid))
        return [(b.start() + lo, b.end() + lo) for b in bands]


    def _percent(self, q: Quantity, seg_lo: int, lo: int, measures: list[Hit],
                 periods: list[tuple[int, str]], out: Found) -> None:
        left = self.n[seg_lo:q.start]
        pct = [h for h in measures
               if seg_lo <= h.start and h.end <= q.start and self.ftype(h.entry.target) == "percent"]
        benefit = max((left.rfind(w) + seg_lo for w in self.table.benefit_nouns if w in left), default=-1)
        if pct and pct[-1].end > benefit and "按" not in self.n[pct[-1].end:q.start]:
            self._condition(q, pct[-1], lo, periods, out, 0.9)
            return
        span = self.t.span(q.start, q.end)
        out.amounts.append(Amount("rate", q.value, span, 0.85))
        by = left.rfind("按")
        if by >= 0:
            bases = [h for h in measures if seg_lo + by < h.start and h.end <= q.start
                     and self.ftype(h.entry.target) == "money"]
            if bases:
                b = bases[-1]
                period, note = self.period_of(b.entry.target, b.start, lo, periods)
                out.amounts.append(Amount("base", b.entry.target, self.t.span(b.start, b.end), 0.8, period,
                                          notes=[note] if note else []))

    def _amount(self, q: Quantity, seg_lo: int, lo: int, hi: int, measures: list[Hit], out: Found,
                conf: float) -> None:
        n, span = self.n, self.t.span(q.start, q.end)
        before = n[seg_lo:q.start]
        if PER_HEAD.search(before) or n[q.end:q.end + 2] == "/人":
            out.amounts.append(Amount("per_head", q.value, span, conf))
            counts = [h for h in measures if seg_lo <= h.start < q.start and self.ftype(h.entry.target) == "count"]
            if counts:
                c = counts[-1]
                period, note = self.period_of(c.entry.target, c.start, lo, self._periods)
                out.amounts.append(Amount("count", c.entry.target, self.t.span(c.start, c.end), 0.7, period,
                                          notes=[note] if note else []))
            return
        if any(before.endswith(w) or before[-8:].find(w) >= 0 for w in CAP_BEFORE):
            out.amounts.append(Amount("cap", q.value, span, conf))
            return
        out.amounts.append(Amount("fixed", q.value, span, conf))

    def caps_by_field(self, lo: int, hi: int, measures: list[Hit], periods: list[tuple[int, str]],
                      out: Found) -> None:
        """“以其上一年度形成的地方综合贡献度为限”: a cap read from a fact."""
        sent = self.n[lo:hi]
        for m in re.finditer(r"以(?:其)?(.{1,30}?)为限", sent):
            inner = [h for h in measures if lo + m.start(1) <= h.start < lo + m.end(1)
                     and self.ftype(h.entry.target) == "money"]
            if inner:
                h = inner[-1]
                period, _ = self.period_of(h.entry.target, h.start, lo, periods)
                out.amounts.append(Amount("cap", h.entry.target, self.t.span(lo + m.start(), lo + m.end()), 0.7,
                                          period))


