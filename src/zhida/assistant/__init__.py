"""政策问答 (policy Q&A): Chinese retrieval over the published policies, their clauses and an
FAQ, with colloquial names, typo tolerance, cited answers and a hand-off to a person (诉求)."""

from zhida.assistant.answer import Answer, Citation, FirmStatus, Handoff, Hit, answer, validity
from zhida.assistant.data import FaqEntry, load_faq, load_vocabulary
from zhida.assistant.index import Index, build_index, cached_index

__all__ = ["Answer", "Citation", "FaqEntry", "FirmStatus", "Handoff", "Hit", "Index", "answer", "build_index",
           "cached_index", "load_faq", "load_vocabulary", "validity"]
