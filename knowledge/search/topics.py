"""Topic labels and descriptions per language (topics.yml), and the topic signal of a citizen's message.

The signal is a classifier over the query vector (and its letters, below): one logistic regression per
topic (one-vs-rest), trained on four kinds of labelled vectors in the same embedding space:

* citizen-style development queries with their expected topics (knowledge/eval/dev_queries.yml,
  embedded as queries; weight EXAMPLE_WEIGHT),
* every topic description in six languages (weight DESCRIPTION_WEIGHT),
* the words citizens use for each topic in each language (`words` in topics.yml: "sonkorow",
  "borç", "ديون"; embedded as queries; weight WORDS_WEIGHT),
* the offer rows with their offers' topics (a regular sample of at most MAX_OFFER_ROWS; weight
  OFFER_ROW_WEIGHT, since an offer's topics describe the offer, not any one need).

It replaced a nearest-description softmax that read "I haven't left the flat in weeks" as housing
and "my husband beats me" as mental health: on the development queries, 5-fold cross-validated,
hit@3 rose from 0.81 to 0.90 on the second batch of queries (knowledge/eval/README.md).

Besides the query vector the classifier reads the text's character 2–4-grams (TF-IDF, sklearn, on
the folded text; offer rows have none), fitted on the same descriptions, words and queries. e5-small
knows little Somali: "kemo", "kansar", "sigaar" are clear to the n-grams and vague to the vector. On
the development queries (5-fold cross-validated) this raised Somali hit@3 from 0.86 to 0.92, Turkish
0.96 → 0.99, Farsi 0.95 → 0.96, while Arabic fell 0.91 → 0.90 (knowledge/eval/README.md). The fitted
weights and the n-gram vocabulary are stored with the index build (topic_model.npz).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from bot import SUPPORTED_LANGUAGES
from knowledge.text_classifier import Rows, VectorNgramClassifier
from knowledge.topics import TOPICS  # the topic vocabulary of DESIGN.md

__all__ = ["TOPICS", "TOPICS_FILE", "TOPIC_EXAMPLES_FILE", "LabelledQueries", "TopicModel", "description_texts",
           "embed_descriptions", "topic_descriptions", "topic_examples", "topic_labels", "topic_matrix", "topic_words"]

TOPICS_FILE = Path(__file__).resolve().parent / "topics.yml"
TOPIC_EXAMPLES_FILE = Path(__file__).resolve().parents[1] / "eval" / "dev_queries.yml"
# Chosen by 5-fold cross-validation on the development queries (knowledge/eval/README.md).
CLASSIFIER_C = 16.0
EXAMPLE_WEIGHT, DESCRIPTION_WEIGHT, WORDS_WEIGHT, OFFER_ROW_WEIGHT = 2.0, 1.0, 1.0, 0.3
MAX_OFFER_ROWS = 6000
# Scale of the character n-gram features next to the unit-length query vector; chosen by the same
# cross-validation from 0, 0.5, 0.75, 1, 1.5, 2 (knowledge/eval/README.md).
NGRAM_WEIGHT = 1.0


@lru_cache(maxsize=1)
def _document() -> dict:
    with TOPICS_FILE.open(encoding="utf-8") as f:
        document = yaml.safe_load(f)
    if set(document) != set(TOPICS):
        raise ValueError(f"{TOPICS_FILE}: topics {sorted(set(document) ^ set(TOPICS))} differ from DESIGN.md's list")
    for topic, entry in document.items():
        words = entry.get("words") or {}
        phrases_ok = all(isinstance(items, list) and all(isinstance(w, str) and w.strip() for w in items)
                         for items in words.values())
        if set(words) - set(SUPPORTED_LANGUAGES) or not phrases_ok:
            raise ValueError(f"{TOPICS_FILE}: {topic}.words must map languages to lists of phrases")
        for part in ("label", "description"):
            missing = [lang for lang in SUPPORTED_LANGUAGES if not (entry.get(part) or {}).get(lang)]
            if missing:
                raise ValueError(f"{TOPICS_FILE}: {topic}.{part} lacks {missing}")
    return document


def topic_labels() -> dict[str, dict[str, str]]:
    """topic -> language -> short label."""
    return {topic: dict(entry["label"]) for topic, entry in _document().items()}


def topic_descriptions() -> list[tuple[str, str, str]]:
    """(topic, language, description) for every topic and language."""
    return [(topic, lang, text) for topic, entry in _document().items() for lang, text in entry["description"].items()]


# Embedding the topic model's training texts (~1,700 of them) takes ~20 s on 2 cores, and every index
# build needs them: kept per process, by model and by the texts themselves, so a re-index (or a test
# building several small indexes) embeds them once.
_embedded: dict[tuple, object] = {}
_embedded_lock = threading.Lock()


def _memo(embedder, texts: tuple, make):
    key = (getattr(embedder, "name", None), getattr(embedder, "dimension", None), texts)
    with _embedded_lock:
        if key in _embedded:
            return _embedded[key]
    value = make()
    with _embedded_lock:
        _embedded[key] = value
    return value


def description_texts() -> list[str]:
    """Every description with its label in front (so a one-word message meets the label)."""
    labels = topic_labels()
    return [f"{labels[topic][lang]}: {text}" for topic, lang, text in topic_descriptions()]


def embed_descriptions(embedder) -> np.ndarray:
    """Vectors of every description_texts() entry."""
    texts = tuple(description_texts())
    return _memo(embedder, ("descriptions", texts), lambda: embedder.passages(list(texts)))


def topic_words() -> list[tuple[str, str]]:
    """(words, topic): the short phrases citizens use for each topic, every language (topics.yml `words`)."""
    return [(text, topic) for topic, entry in _document().items()
            for texts in (entry.get("words") or {}).values() for text in texts]


def topic_examples(path: Path = TOPIC_EXAMPLES_FILE) -> list[tuple[str, tuple[str, ...]]]:
    """(text, expected topics) of the labelled development queries."""
    with Path(path).open(encoding="utf-8") as f:
        items = (yaml.safe_load(f) or {}).get("queries") or []
    examples = []
    for item in items:
        topics = tuple(t for t in item.get("expect_topics") or [] if t in TOPICS)
        if str(item.get("text") or "").strip() and topics:
            examples.append((str(item["text"]), topics))
    return examples


def topic_matrix(topic_lists) -> np.ndarray:
    """Boolean (n, len(TOPICS)) matrix of which topics each item has."""
    number = {topic: i for i, topic in enumerate(TOPICS)}
    matrix = np.zeros((len(topic_lists), len(TOPICS)), dtype=bool)
    for row, topics in enumerate(topic_lists):
        for topic in topics:
            if topic in number:
                matrix[row, number[topic]] = True
    return matrix


@dataclass(frozen=True)
class LabelledQueries:
    """The query-side training data, embedded: development queries (with their texts, for folds) and
    the citizen words per topic."""

    example_texts: tuple[str, ...]
    example_vectors: np.ndarray
    example_topics: np.ndarray
    word_vectors: np.ndarray
    word_topics: np.ndarray
    word_texts: tuple[str, ...]

    @classmethod
    def embed(cls, embedder) -> LabelledQueries:
        examples, words = topic_examples(), topic_words()
        return _memo(embedder, ("queries", tuple(examples), tuple(words)),
                     lambda: cls._embed(embedder, examples, words))

    @classmethod
    def _embed(cls, embedder, examples, words) -> LabelledQueries:
        return cls(tuple(text for text, _ in examples), embedder.queries([text for text, _ in examples]),
                   topic_matrix([topics for _, topics in examples]), embedder.queries([text for text, _ in words]),
                   topic_matrix([[topic] for _, topic in words]), tuple(text for text, _ in words))

    def examples_where(self, keep: np.ndarray) -> LabelledQueries:
        """The same data with only the development queries where `keep` is true (cross-validation)."""
        return replace(self, example_texts=tuple(t for t, k in zip(self.example_texts, keep, strict=True) if k),
                       example_vectors=self.example_vectors[keep], example_topics=self.example_topics[keep])


class TopicModel:
    """Per-topic probabilities for a query (one logistic regression per topic over the query vector
    and the query's character n-grams; knowledge.text_classifier)."""

    def __init__(self, classifier: VectorNgramClassifier) -> None:
        if classifier.coef.shape[0] != len(TOPICS) or classifier.intercept.shape != (len(TOPICS),):
            raise ValueError(f"topic model has {classifier.coef.shape[0]} topics, expected {len(TOPICS)}")
        self.classifier = classifier
        self.ngrams, self.dimension = classifier.ngrams, classifier.dimension

    @classmethod
    def fit(cls, offer_vectors: np.ndarray, offer_topics: np.ndarray, description_vectors: np.ndarray,
            queries: LabelledQueries | None = None, c: float = CLASSIFIER_C) -> TopicModel:
        """`description_vectors` are embed_descriptions(): the vectors of description_texts()."""
        step = max(1, int(np.ceil(len(offer_vectors) / MAX_OFFER_ROWS)))
        parts = [Rows(offer_vectors[::step], offer_topics[::step], OFFER_ROW_WEIGHT),  # offer rows: no text
                 Rows(description_vectors, topic_matrix([[topic] for topic, _, _ in topic_descriptions()]),
                      DESCRIPTION_WEIGHT, description_texts())]
        if queries is not None:
            parts += [Rows(vectors, topics, weight, texts) for vectors, topics, weight, texts in (
                (queries.example_vectors, queries.example_topics, EXAMPLE_WEIGHT, queries.example_texts),
                (queries.word_vectors, queries.word_topics, WORDS_WEIGHT, queries.word_texts)) if len(vectors)]
        return cls(VectorNgramClassifier.fit(parts, c=c, ngram_weight=NGRAM_WEIGHT))

    def predict(self, query: np.ndarray, text: str) -> np.ndarray:
        """Probability of each topic (TOPICS order) for a query vector and its text; independent per
        topic, so they need not sum to 1."""
        return self.classifier.probabilities(query, [text])[0]

    def save(self, path: Path) -> None:
        self.classifier.save(path)

    @classmethod
    def load(cls, path: Path) -> TopicModel:
        """KeyError for a file of index format 1 (no n-grams): the index is rebuilt."""
        return cls(VectorNgramClassifier.load(path, NGRAM_WEIGHT))
