"""Lexical scores: BM25 (bm25s) per language over the index rows, with per-language stemming.

Tokens: NFKC, lower case, no Arabic harakat, words (`\\w+`); then the Snowball stemmer of the
language (PyStemmer: Danish, English, Turkish, Arabic, Persian). Somali has no Snowball stemmer;
its words are cut to their first SOMALI_PREFIX characters, the usual "truncation stemming" for an
agglutinative language without one. Finally the matching fold shared with the NLU (æ→ae, ı→i,
Arabic-script letter variants unified), so a citizen typing without special letters still matches.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence

import bm25s
import numpy as np
import Stemmer

from nlu.normalise import fold

SNOWBALL = {"da": "danish", "en": "english", "tr": "turkish", "ar": "arabic", "fa": "persian"}
SOMALI_PREFIX = 6
_WORD = re.compile(r"\w+")
_HARAKAT = re.compile(r"[\u064b-\u065f\u0670\u06d6-\u06ed]")


class Tokenizer:
    def __init__(self) -> None:
        self._stemmers = {lang: Stemmer.Stemmer(name, 10_000) for lang, name in SNOWBALL.items()}
        self._lock = threading.Lock()  # PyStemmer's stemmers are not thread-safe
        self._terms: dict[tuple[str, str], str] = {}  # (language, word) -> term; vocabularies are small

    def _term(self, word: str, language: str) -> str:
        key = (language, word)
        term = self._terms.get(key)
        if term is None:
            stemmer = self._stemmers.get(language)
            if stemmer is not None:
                with self._lock:
                    stem = stemmer.stemWord(word)
            else:
                stem = word[:SOMALI_PREFIX] if language == "so" else word
            term = fold(stem)
            if len(self._terms) < 500_000:
                self._terms[key] = term
        return term

    def __call__(self, text: str, language: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).replace("İ", "i").lower()
        text = _HARAKAT.sub("", text)
        words = [word for word in _WORD.findall(text) if len(word) > 1 or not word.isascii()]
        return [term for word in words if (term := self._term(word, language))]


class LexicalIndex:
    """One BM25 index per language; scores come back per row of the offer index."""

    def __init__(self, rows: Sequence, tokenizer: Tokenizer | None = None) -> None:
        self.tokenize = tokenizer or Tokenizer()
        self.n_rows = len(rows)
        by_language: dict[str, list[int]] = {}
        for number, row in enumerate(rows):
            by_language.setdefault(row.language, []).append(number)
        self._rows: dict[str, np.ndarray] = {}
        self._bm25: dict[str, bm25s.BM25] = {}
        for language, numbers in by_language.items():
            corpus = [self.tokenize(rows[i].text, language) or ["∅"] for i in numbers]
            retriever = bm25s.BM25()
            retriever.index(corpus, show_progress=False)
            self._bm25[language] = retriever
            self._rows[language] = np.asarray(numbers, dtype=np.int64)

    @property
    def languages(self) -> list[str]:
        return sorted(self._bm25)

    def scores(self, text: str, language: str) -> tuple[np.ndarray, np.ndarray]:
        """(row numbers, BM25 scores) of the rows in `language` (Danish if the language has no rows)."""
        if language not in self._bm25:
            language = "da" if "da" in self._bm25 else next(iter(self._bm25), None)
        if language is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        tokens = self.tokenize(text, language)
        rows = self._rows[language]
        if not tokens:
            return rows, np.zeros(len(rows), np.float32)
        return rows, np.asarray(self._bm25[language].get_scores(tokens), dtype=np.float32)
