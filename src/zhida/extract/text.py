"""Text normalisation with an offset map, numbers with units (cn2an), dates."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import cn2an

_DROP = set("“”‘’\"'「」『』 \u3000\t")


@dataclass(frozen=True)
class Text:
    """A normalised text (half-width digits and signs, no quotes or spaces) and, for each of its
    characters, the offset of the character it came from in the original."""

    norm: str
    origin: tuple[int, ...]
    length: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of norm[start:end]."""
        if start >= len(self.origin):
            return (self.length, self.length)
        return (self.origin[start], self.origin[end - 1] + 1 if end > start else self.origin[start])


    def text_between(self, a: int, b: int) -> str:
        """The normalised text between two original offsets."""
        return "".join(ch for ch, o in zip(self.norm, self.origin, strict=True) if a <= o < b)


def normalise(text: str) -> Text:
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch in _DROP:
            continue
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
        origin.append(i)
    return Text("".join(out), tuple(origin), len(text))


_CN = "零〇一二两三四五六七八九十百千"
_MAG = {"万亿": 10**12, "亿": 10**8, "万": 10**4, "千": 10**3, "百": 100}
QUANTITY = re.compile(
    rf"(?P<pct>百分之)?(?P<num>\d+(?:\.\d+)?|[{_CN}]+(?:点[{_CN}]+)?)(?P<mag>万亿|亿|万|千)?"
    r"(?P<unit>元|%|‰|个百分点|个月|人|名|年|件|户|家|倍|月)?")
DATE = re.compile(r"(?P<y>(?:19|20)\d\d)年(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})日)?")
YEAR = re.compile(r"(?P<y>(?:19|20)\d\d)(?:年度|年)(?!\d{1,2}月)")
COUNT_UNITS = {"人", "名", "件", "户", "家", "个月", "月", "年"}


@dataclass(frozen=True)
class Quantity:
    value: Fraction
    unit: str          # money | percent | 人 | 个月 | 年 | 件 | 倍 | … ("" when none)
    start: int         # in the normalised text
    end: int


def number_of(num: str) -> Fraction | None:
    if num[0].isdigit():
        return Fraction(num)
    try:
        return Fraction(str(cn2an.cn2an(num, "smart")))
    except (ValueError, KeyError):
        return None


def quantities(norm: str, skip: list[tuple[int, int]]) -> list[Quantity]:
    """Numbers with a unit (Chinese numerals only with a unit), outside the `skip` spans."""
    out = []
    for m in QUANTITY.finditer(norm):
        s, e = m.span()
        if any(a <= s < b for a, b in skip):
            continue
        num, mag, unit, pct = m["num"], m["mag"] or "", m["unit"] or "", m["pct"]
        chinese = not num[0].isdigit()
        if chinese and not (unit or pct or mag):
            continue
        if (chinese and num in ("一", "两") and unit in ("户", "家", "名", "人", "年") and not mag
                and (norm[s - 1:s] in ("每", "一", "上", "同", "第") or norm[e:e + 1] in ("次", "般", "度"))):
            continue
        if norm[max(0, s - 1):s] in ("第", "〔", "[") or norm[e:e + 1] in ("号", "条", "款", "项", "批"):
            continue
        value = number_of(num)
        if value is None:
            continue
        value *= _MAG.get(mag, 1)
        if pct or unit == "%":
            value, kind = value / 100, "percent"
        elif unit == "‰":
            value, kind = value / 1000, "percent"
        elif unit == "元":
            kind = "money"
        elif mag and not unit:
            kind = "money?"     # 1000万—5000万元: the unit comes with the last figure
        else:
            kind = unit
        out.append(Quantity(value, kind, s, e))
    return out


def dates(norm: str) -> list[tuple[date, int, int]]:
    out = []
    for m in DATE.finditer(norm):
        try:
            out.append((date(int(m["y"]), int(m["m"]), int(m["d"] or 1)), m.start(), m.end()))
        except ValueError:
            continue
    return out


SENTENCE_END = re.compile(r"[。;；!?！？\n]")


def sentences(norm: str) -> list[tuple[int, int]]:
    """Sentence spans of the normalised text (。；！？ and line breaks end a sentence)."""
    out, start = [], 0
    for m in SENTENCE_END.finditer(norm):
        if norm[start:m.start()].strip():
            out.append((start, m.start()))
        start = m.end()
    if norm[start:].strip():
        out.append((start, len(norm)))
    return out
