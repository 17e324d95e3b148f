"""Topic labels and descriptions per language (topics.yml), and the topic signal of a citizen's message.

The signal: the message's query vector is compared with every topic description (all six languages,
embedded as passages); a topic's similarity is its best description, and a softmax over the twenty
topics (temperature `TOPIC_TEMPERATURE`) turns the similarities into a distribution.

Some descriptions are "hubs": similar to almost everything (in e5-small, smoking and housing drew
unrelated messages). `calibrate` lowers each description's similarity by half its mean similarity to
its 10 nearest offer texts (the CSLS correction of Conneau et al., 2018, against the catalogue); on
the development queries that lifted hit@1 from 0.81 to 0.85 at the same hit@3.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from bot import SUPPORTED_LANGUAGES
from knowledge.topics import TOPICS  # the topic vocabulary of DESIGN.md

__all__ = ["TOPICS", "TOPICS_FILE", "TopicModel", "embed_descriptions", "topic_descriptions", "topic_labels"]

TOPICS_FILE = Path(__file__).resolve().parent / "topics.yml"
TOPIC_TEMPERATURE = 0.05  # tuned with the weights (knowledge/eval/README.md)


@lru_cache(maxsize=1)
def _document() -> dict:
    with TOPICS_FILE.open(encoding="utf-8") as f:
        document = yaml.safe_load(f)
    if set(document) != set(TOPICS):
        raise ValueError(f"{TOPICS_FILE}: topics {sorted(set(document) ^ set(TOPICS))} differ from DESIGN.md's list")
    for topic, entry in document.items():
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


def embed_descriptions(embedder) -> np.ndarray:
    """Vectors of every description (with its label in front, so a one-word message meets the label)."""
    labels = topic_labels()
    return embedder.passages([f"{labels[topic][lang]}: {text}" for topic, lang, text in topic_descriptions()])


class TopicModel:
    """Predicts a distribution over TOPICS from a query vector."""

    def __init__(self, embedder=None, temperature: float = TOPIC_TEMPERATURE,
                 vectors: np.ndarray | None = None) -> None:
        entries = topic_descriptions()
        self.temperature = temperature
        if vectors is None or len(vectors) != len(entries):
            vectors = embed_descriptions(embedder)
        self._vectors = np.asarray(vectors, dtype=np.float32)
        self._topic_of = np.asarray([TOPICS.index(topic) for topic, _, _ in entries])
        self._hubness = np.zeros(len(entries), dtype=np.float32)

    def calibrate(self, background: np.ndarray, k: int = 10, max_rows: int = 20_000, chunk: int = 4096) -> None:
        """Hubness correction against background vectors (the offer rows; a regular sample if many)."""
        step = max(1, int(np.ceil(len(background) / max_rows)))
        top = np.full((len(self._vectors), k), -1.0, dtype=np.float32)
        for start in range(0, len(background), chunk * step):
            block = np.asarray(background[start:start + chunk * step:step], dtype=np.float32)
            sims = np.concatenate([top, self._vectors @ block.T], axis=1)
            top = -np.partition(-sims, k - 1, axis=1)[:, :k] if sims.shape[1] > k else sims
        self._hubness = 0.5 * np.clip(top, 0.0, None).mean(axis=1).astype(np.float32)

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Best description similarity per topic (in TOPICS order)."""
        sims = self._vectors @ query.astype(np.float32) - self._hubness
        best = np.full(len(TOPICS), -2.0, dtype=np.float32)
        np.maximum.at(best, self._topic_of, sims)
        return best

    def predict(self, query: np.ndarray) -> np.ndarray:
        sims = self.similarities(query)
        logits = (sims - sims.max()) / self.temperature
        weights = np.exp(logits)
        return weights / weights.sum()
