"""Logistic regressions over a text's sentence vector and its character n-grams.

Two classifiers read a message this way: the search's topic model (which topics a query is about,
knowledge/search/topics.py) and the crisis second net (whether a message is a crisis,
nlu/crisis/classifier.py). The e5 vector carries meaning across languages; the character 2–4-grams
(TF-IDF on the folded text) carry the spellings and words the small e5 model reads poorly — Somali,
chat spellings, missing æøå/ş/ی. Both were measured with and without the n-grams.

Every output column is its own one-vs-rest regression, so probabilities need not sum to 1. The model
is plain arrays (weights, n-gram vocabulary, idf), saved with numpy without pickles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlu.normalise import fold

NGRAM_RANGE = (2, 4)


def ngram_vectorizer(vocabulary: dict[str, int] | None = None, min_df: int = 2):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, min_df=1 if vocabulary else min_df,
                           sublinear_tf=True, preprocessor=fold, vocabulary=vocabulary, dtype=np.float32)


@dataclass(frozen=True)
class Rows:
    """Training rows: vectors, their labels (rows × outputs, 0/1), a weight, and their texts (None when
    the rows have no text of their own, like offer rows: their n-gram columns stay empty)."""

    vectors: np.ndarray
    labels: np.ndarray
    weight: float = 1.0
    texts: list[str] | None = None


class VectorNgramClassifier:
    def __init__(self, coef: np.ndarray, intercept: np.ndarray, ngrams: list[str], idf: np.ndarray,
                 ngram_weight: float) -> None:
        self.coef = np.asarray(coef, dtype=np.float32)            # (outputs, dimension + n-grams)
        self.intercept = np.asarray(intercept, dtype=np.float32)  # (outputs,)
        self.ngrams = list(ngrams)
        self.ngram_weight = ngram_weight
        self.dimension = self.coef.shape[1] - len(self.ngrams)
        if not self.ngrams or len(idf) != len(self.ngrams):
            raise ValueError("classifier without n-grams or without matching idf weights")
        self._vectorizer = ngram_vectorizer({gram: i for i, gram in enumerate(self.ngrams)})
        self._vectorizer.idf_ = np.asarray(idf, dtype=np.float32)

    @classmethod
    def fit(cls, parts: list[Rows], c: float, ngram_weight: float, min_df: int = 2,
            class_weight: str | None = None, max_iter: int = 2000) -> VectorNgramClassifier:
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression

        vectorizer = ngram_vectorizer(min_df=min_df).fit([text for part in parts if part.texts for text in part.texts])
        blocks = []
        for part in parts:
            grams = (vectorizer.transform(part.texts) * ngram_weight if part.texts
                     else sparse.csr_matrix((len(part.vectors), len(vectorizer.vocabulary_)), dtype=np.float32))
            blocks.append(sparse.hstack([sparse.csr_matrix(np.asarray(part.vectors, dtype=np.float32)), grams]))
        x = sparse.vstack(blocks).tocsr()
        y = np.concatenate([np.asarray(part.labels).reshape(len(part.vectors), -1) for part in parts])
        weight = np.concatenate([np.full(len(part.vectors), part.weight, dtype=np.float32) for part in parts])
        coef, intercept = np.zeros((y.shape[1], x.shape[1]), np.float32), np.zeros(y.shape[1], np.float32)
        for column in range(y.shape[1]):
            model = LogisticRegression(C=c, max_iter=max_iter, class_weight=class_weight)
            model.fit(x, y[:, column], sample_weight=weight)
            coef[column], intercept[column] = model.coef_[0], model.intercept_[0]
        ngrams = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        return cls(coef, intercept, ngrams, vectorizer.idf_, ngram_weight)

    def probabilities(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        """(texts × outputs) probabilities for texts and their vectors."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)
        logits = vectors @ self.coef[:, :self.dimension].T + self.intercept
        grams = self._vectorizer.transform(texts)
        logits = logits + self.ngram_weight * np.asarray(grams @ self.coef[:, self.dimension:].T)
        return 1.0 / (1.0 + np.exp(-logits))

    def save(self, path: Path) -> None:
        np.savez(path, coef=self.coef, intercept=self.intercept, ngrams=np.asarray(self.ngrams),
                 idf=np.asarray(self._vectorizer.idf_, dtype=np.float32))

    @classmethod
    def load(cls, path: Path, ngram_weight: float) -> VectorNgramClassifier:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["coef"], data["intercept"], [str(g) for g in data["ngrams"]], data["idf"], ngram_weight)
