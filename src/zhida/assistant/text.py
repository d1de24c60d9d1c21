"""Chinese text → search terms: jieba segmentation with the pack's words, one-character typo
correction against the known vocabulary (rapidfuzz), and synonym groups for colloquial names."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import jieba
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from zhida.assistant.data import Vocabulary

jieba.setLogLevel(logging.WARNING)

MIN_TYPO_TERM = 4


@dataclass(frozen=True)
class QueryTerms:
    text: str                          # the question after typo correction
    corrections: tuple[tuple[str, str], ...]   # (seen, corrected)
    groups: tuple[tuple[str, ...], ...]       # one concept each: the word and its synonyms
    tokens: tuple[str, ...]            # what BM25 scores with


class Segmenter:
    """A private jieba tokenizer (the global one is left alone) that knows the pack's words."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._jieba = jieba.Tokenizer()
        known = {*vocabulary.user_words, *vocabulary.synonyms, *(w for vs in vocabulary.synonyms.values() for w in vs)}
        for w in sorted(known):
            self._jieba.add_word(w, freq=100000)
        self._jieba.initialize()
        # typo targets: the curated terms of four characters or more (one wrong character in a
        # shorter word is too often another, correct word)
        self.known_terms = sorted({w for w in known if len(w) >= MIN_TYPO_TERM})
        self._by_length: dict[int, list[str]] = {}
        for w in self.known_terms:
            self._by_length.setdefault(len(w), []).append(w)
        self._corpus_text = ""

    def set_corpus(self, text: str) -> None:
        """Text in which a window counts as correctly spelled (no correction inside it)."""
        self._corpus_text = text

    def words(self, text: str) -> list[str]:
        return [w.strip() for w in self._jieba.lcut(text) if w.strip()]

    def search_tokens(self, text: str) -> list[str]:
        stop = self.vocabulary.stopwords
        return [w for w in (t.strip() for t in self._jieba.lcut_for_search(text)) if w and w not in stop]

    def correct(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Replace a window that is one substitution away from a known term of ≥ 4 characters,
        unless the window occurs as such in the corpus or the term list."""
        corrections: list[tuple[str, str]] = []
        covered = [False] * len(text)
        out = list(text)
        for n in sorted(self._by_length, reverse=True):
            for i in range(len(text) - n + 1):
                if any(covered[i:i + n]):
                    continue
                window = text[i:i + n]
                if window in self._corpus_text or window in self.vocabulary.synonyms:
                    continue
                hit = process.extractOne(window, self._by_length[n], scorer=Levenshtein.distance, score_cutoff=1)
                if hit is None or hit[0] == window:
                    continue
                term = hit[0]
                if sum(a != b for a, b in zip(window, term, strict=True)) != 1:
                    continue
                out[i:i + n] = list(term)
                covered[i:i + n] = [True] * n
                corrections.append((window, term))
        return "".join(out), corrections

    def query(self, question: str) -> QueryTerms:
        text, corrections = self.correct(question.strip())
        stop, syn = self.vocabulary.stopwords, self.vocabulary.synonyms
        groups: list[tuple[str, ...]] = []
        for w in self.words(text):
            if w in stop:
                continue
            group = (w, *syn.get(w, ()))
            parts = [t for t in self.search_tokens(w) if t != w]
            if len(group) == 1 and parts:
                group = (w, "+".join(parts))    # a compound: its parts together stand for it
            if group not in groups:
                groups.append(group)
        tokens: list[str] = []
        for g in groups:
            for member in g:
                tokens += [*member.split("+"), *self.search_tokens(member.replace("+", ""))]
        return QueryTerms(text, tuple(corrections), tuple(groups), tuple(dict.fromkeys(tokens)))
