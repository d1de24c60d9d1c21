"""政策拆解: a policy's text → draft clauses (conditions, amounts) for the officer to edit.

Rule-based: a phrase table kept as data (`phrases.yaml`) maps policy wording to registry fields;
numbers and units are read with cn2an; every atom keeps its source span and a confidence.
`extract(text)` gives a `Draft`; `render_yaml(draft)` the YAML draft in the pack's format.
docs/extract.md describes what it recognises and what it leaves to the officer.
"""

from __future__ import annotations

from zhida.extract.model import Amount, Atom, Draft, DraftClause
from zhida.extract.pipeline import extract
from zhida.extract.render import TODO, render_yaml

__all__ = ["TODO", "Amount", "Atom", "Draft", "DraftClause", "extract", "render_yaml"]
