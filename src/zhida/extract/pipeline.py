"""A policy's text → a Draft: sentences read one by one, then grouped into clauses."""

from __future__ import annotations

import re

from zhida.extract.model import Amount, Atom, Draft, DraftClause
from zhida.extract.sentence import SEG, Found, SentenceReader
from zhida.extract.table import PhraseTable, load_table
from zhida.extract.text import Text, dates, normalise, sentences
from zhida.profiles.registry import Registry, load_registry

PRIMARY = ("fixed", "rate", "per_head", "tier")
_OR = ("或者", "或")
_AND = ("且", "并且", "同时", "并")
_LIST_SEP = re.compile(r"^[、和及与以及]*$")


def extract(text: str, registry: Registry | None = None, table: PhraseTable | None = None) -> Draft:
    """Draft clauses from a policy's text (a sentence, a paragraph or a whole document)."""
    reg = registry or load_registry()
    t = normalise(text)
    reader = SentenceReader(t, table or load_table(), reg)
    clauses: list[DraftClause] = []
    pending: list[Atom] = []
    pending_notes: list[str] = []
    pending_from: int | None = None         # where the conditions waiting for a benefit begin
    exclusions: list[Atom] = []
    for lo, hi in sentences(t.norm):
        found = reader.read(lo, hi)
        if pending_from is None and (found.atoms or found.notes) and not found.excluding:
            pending_from = t.span(lo, hi)[0]
        if found.excluding:
            exclusions += found.atoms
            continue
        primaries = [m for m in found.amounts if m.kind in PRIMARY]
        if not primaries:
            if found.amounts and not found.atoms and not pending and clauses and not _has_cap(clauses[-1]):
                clauses[-1].amounts += found.amounts          # “每家企业最高不超过…”: the previous benefit's cap
                continue
            pending += found.atoms
            pending_notes += found.notes
            if found.amounts:
                clauses.append(_clause(t, pending, found.amounts, pending_notes,
                                       (pending_from or 0, t.span(lo, hi)[1])))
                pending, pending_notes, pending_from = [], [], None
            continue
        for k, part in enumerate(_split(t, found, lo, hi)):
            span = (min(pending_from, part[2][0]), part[2][1]) if k == 0 and pending_from is not None else part[2]
            clauses.append(_clause(t, pending + part[0], part[1], pending_notes + found.notes, span))
        pending, pending_notes, pending_from = [], [], None
    if pending or pending_notes or not clauses:
        end = len(text)
        clauses.append(_clause(t, pending, [], pending_notes, (pending_from or 0, end)))
    for c in clauses:
        c.groups += [[a] for a in exclusions]
    return Draft(text, clauses, _header(t))


def _has_cap(c: DraftClause) -> bool:
    return any(m.kind == "cap" for m in c.amounts)


def _split(t: Text, found: Found, lo: int, hi: int) -> list[tuple[list[Atom], list[Amount], tuple[int, int]]]:
    """Several benefits in one sentence (“大型企业按30%返还，中小微企业按60%返还”): one clause per
    comma segment that carries a benefit; the segments before the first one are shared."""
    primaries = [m for m in found.amounts if m.kind in PRIMARY]
    tiers = any(m.kind == "tier" for m in primaries)
    bounds = [lo, *(m.end() for m in SEG.finditer(t.norm, lo, hi)), hi]

    def seg_of(span: tuple[int, int]) -> int:
        pos = t.origin.index(span[0]) if span[0] in t.origin else lo
        return max(i for i, b in enumerate(bounds[:-1]) if b <= pos)

    segs = sorted({seg_of(m.span) for m in primaries})
    if tiers or len(segs) < 2 or "分别" in t.norm[lo:hi]:
        return [(found.atoms, found.amounts, t.span(lo, hi))]
    parts = []
    for k, s in enumerate(segs):
        first = 0 if k == 0 else segs[k - 1] + 1
        atoms = [a for a in found.atoms if first <= seg_of(a.span) <= s]
        last = k == len(segs) - 1
        amounts = [m for m in found.amounts if first <= seg_of(m.span) <= s or (last and seg_of(m.span) > s)]
        if k == len(segs) - 1:
            atoms += [a for a in found.atoms if seg_of(a.span) > s]
        parts.append((atoms, amounts, t.span(bounds[first], bounds[s + 1])))
    for k in range(1, len(parts)):        # “…的30%返还，中小微企业按60%返还”: the same base
        kinds = {m.kind for m in parts[k][1]}
        earlier = [m for p in parts[:k] for m in p[1] if m.kind in ("base", "count")]
        if "base" not in kinds and "count" not in kinds and earlier and kinds & {"rate", "per_head"}:
            parts[k][1].append(earlier[-1])
    return parts


def _clause(t: Text, atoms: list[Atom], amounts: list[Amount], notes: list[str],
            span: tuple[int, int]) -> DraftClause:
    atoms = sorted(atoms, key=lambda a: a.span)
    groups: list[list[Atom]] = []
    for a in atoms:
        if groups and _joined_by_or(t, groups[-1][-1], a):
            groups[-1].append(a)
        else:
            groups.append([a])
    return DraftClause(span, groups, list(amounts), list(dict.fromkeys(notes)))


def _joined_by_or(t: Text, a: Atom, b: Atom) -> bool:
    between = t.text_between(a.span[1], b.span[0])
    if a.value is False or b.value is False or a.op in ("!=", "not in") or b.op in ("!=", "not in"):
        return False
    if "," in between or ";" in between:
        return False
    if any(w in between for w in _OR):
        return True
    if any(w in between for w in _AND):
        return False
    subject = ("state", "list", "tag")
    if a.kind in subject and b.kind in subject and _LIST_SEP.match(between) and between:
        return a.field != b.field or a.op == b.op
    return False


_DOCNO = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[]\d{4}[〕\]]\d+号|[\u4e00-\u9fff]{2,12}公告\d{4}年第\d+号")
_TITLE = re.compile(r"关于|办法|通知|意见|措施|细则|规定|政策|公告")


def _header(t: Text) -> dict[str, str]:
    n, out = t.norm, {}
    if m := _DOCNO.search(n):
        out["document_number"] = m[0]
    ds = dates(n)
    for i, (d, s, e) in enumerate(ds):
        around = n[max(0, s - 2):s]
        if "自" in around and i + 1 < len(ds) and re.match(r"(起)?至", n[e:e + 2]):
            out["valid_from"], out["valid_to"] = d.isoformat(), ds[i + 1][0].isoformat()
            break
        if re.search(r"(执行至|有效期至|实施至|截至)$", n[max(0, s - 4):s]):
            out["valid_to"] = d.isoformat()
    first = n.split("\n", 1)[0].strip()
    if first and len(first) <= 60 and "。" not in first and _TITLE.search(first):
        out["title"] = first
    return out
