"""Retrieval evaluation (`brobygger search-eval FILE`) and weight tuning on the development queries.

File format (DESIGN.md): `queries: [{text, language?, municipality?, expect_topics: [...]}]`.

A query is a hit at k when one of the top k offers has one of its expected topics. With a
municipality, an offer only counts if the citizen can use it: national offers, regional offers of
the citizen's region, and local offers in the citizen's own or a neighbouring municipality (local
offers elsewhere don't count). The same queries are run with the hybrid weights and with BM25
alone (same candidates and location rules, no dense, topic or language signal).

The development queries are also the topic classifier's training examples. Scoring them with the
classifier fitted on them would flatter it, so queries that are training examples get the topic
probabilities of a classifier fitted without their fold (5-fold, folds by a hash of the text):
cross-validated numbers, in evaluation and in tuning alike.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml

from knowledge.search.engine import BM25_ONLY, DEFAULT_WEIGHTS, Candidates, OfferSearch, Weights
from knowledge.search.topics import TOPICS

KS = (1, 3)
FOLDS = 5


@dataclass(frozen=True)
class Query:
    text: str
    expect_topics: tuple[str, ...]
    language: str | None = None
    municipality: str | None = None


def load_queries(path: Path) -> list[Query]:
    with Path(path).open(encoding="utf-8") as f:
        document = yaml.safe_load(f) or {}
    items = document.get("queries") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: expected a mapping with a non-empty list `queries`")
    queries = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or not str(item.get("text") or "").strip():
            raise ValueError(f"{path}: query {number} has no text")
        topics = item.get("expect_topics") or []
        unknown = [topic for topic in topics if topic not in TOPICS]
        if not topics or unknown:
            raise ValueError(f"{path}: query {number} needs expect_topics from the topic list (unknown: {unknown})")
        queries.append(Query(str(item["text"]), tuple(topics), item.get("language"), item.get("municipality")))
    return queries


@dataclass
class LanguageScore:
    n: int = 0
    hits: dict[int, int] = field(default_factory=lambda: dict.fromkeys(KS, 0))
    reciprocal_rank: float = 0.0   # sum over queries of 1/rank of the first hit in the top 10
    local_possible: int = 0        # queries with a municipality where a nearby offer on the topic exists
    local_shown: int = 0           # ... and one is in the top 3

    def rate(self, k: int) -> float:
        return self.hits[k] / self.n if self.n else 0.0

    @property
    def mrr(self) -> float:
        return self.reciprocal_rank / self.n if self.n else 0.0

    @property
    def local_rate(self) -> float:
        return self.local_shown / self.local_possible if self.local_possible else 1.0


def usable(search: OfferSearch, offer, location) -> bool:
    """Whether an offer counts for a citizen at `location` (any offer does without a municipality)."""
    municipality = location.municipality
    if offer.where.scope == "national" or municipality is None:
        return True
    home = search.gazetteer.municipalities[municipality]
    if offer.where.scope == "local":
        return bool(set(offer.where.municipalities) & ({municipality} | set(home.neighbours)))
    return offer.where.region == home.region


def _relevant(search: OfferSearch, query: Query, found: Candidates, position: int) -> bool:
    offer = search.offers[found.offers[position]]
    return bool(set(offer.topics) & set(query.expect_topics)) and usable(search, offer, found.location)


def first_hit(search: OfferSearch, query: Query, found: Candidates, ranked: list) -> int | None:
    """1-based rank of the first relevant offer, or None."""
    for rank, (position, _, _) in enumerate(ranked, 1):
        if _relevant(search, query, found, position):
            return rank
    return None


NEARBY = (0, 1)  # tier codes: municipality, neighbour


def _fold(text: str) -> int:
    return hashlib.sha256(text.encode("utf-8")).digest()[0] % FOLDS


def cross_validate_topics(search: OfferSearch, queries: list[Query], prepared: list[Candidates]) -> int:
    """Give the queries that are topic training examples out-of-fold topic probabilities; how many."""
    from knowledge.search.topics import LabelledQueries, TopicModel, topic_examples

    known = {text for text, _ in topic_examples()}
    inside = [i for i, query in enumerate(queries) if query.text in known]
    if not inside:
        return 0
    training = LabelledQueries.embed(search.embedder)
    folds = np.asarray([_fold(text) for text in training.example_texts])
    offer_vectors = np.asarray(search.index.vectors, dtype=np.float32)
    offer_topics = search._topics[search.index.row_offer]
    for k in range(FOLDS):
        model = TopicModel.fit(offer_vectors, offer_topics, search.index.topic_vectors,
                               training.examples_where(folds != k))
        for i in inside:
            if _fold(queries[i].text) == k:
                prepared[i].topic_p = model.predict(search._query_vector(queries[i].text), queries[i].text)
    return len(inside)


def prepare(search: OfferSearch, queries: list[Query]) -> tuple[list[Candidates], int]:
    """Every query's candidates (topic probabilities cross-validated where the query is a training
    example), and how many were cross-validated."""
    prepared = [search.candidates(q.text, q.language, q.municipality) for q in queries]
    return prepared, cross_validate_topics(search, queries, prepared)


def score(search: OfferSearch, queries: list[Query], prepared: list[Candidates],
          weights: Weights) -> dict[str, LanguageScore]:
    results: dict[str, LanguageScore] = {}
    for query, found in zip(queries, prepared, strict=True):
        ranked = search.rank(found, weights, limit=10)
        entry = results.setdefault(found.language, LanguageScore())
        entry.n += 1
        rank = first_hit(search, query, found, ranked)
        for k in KS:
            entry.hits[k] += rank is not None and rank <= k
        entry.reciprocal_rank += 1 / rank if rank else 0.0
        nearby = [p for p in range(len(found.offers))
                  if found.tiers[p] in NEARBY and _relevant(search, query, found, p)]
        if nearby:
            entry.local_possible += 1
            entry.local_shown += any(p in nearby for p, _, _ in ranked[:3])
    return dict(sorted(results.items()))


def evaluate(search: OfferSearch, queries: list[Query], weights: Weights | None = None) -> dict:
    """{"hybrid": {lang: LanguageScore}, "bm25": {...}} on the same prepared candidates."""
    prepared, cross_validated = prepare(search, queries)
    return {"hybrid": score(search, queries, prepared, weights or search.weights),
            "bm25": score(search, queries, prepared, BM25_ONLY), "cross_validated": cross_validated}


def overall(results: dict[str, LanguageScore], k: int) -> float:
    n = sum(entry.n for entry in results.values())
    return sum(entry.hits[k] for entry in results.values()) / n if n else 0.0


def objective(results: dict[str, LanguageScore]) -> tuple[float, float]:
    """What tuning maximises: first the mean per-language hit@3 + half the worst language's hit@3 +
    half the mean hit@1 + a quarter of the rate at which a nearby offer on the topic is shown when one
    exists (the reason for location bonuses); then the mean MRR@10."""
    entries = list(results.values())
    hit3 = [entry.rate(3) for entry in entries]
    hit1 = [entry.rate(1) for entry in entries]
    possible = sum(entry.local_possible for entry in entries)
    local = sum(entry.local_shown for entry in entries) / possible if possible else 1.0
    primary = sum(hit3) / len(hit3) + 0.5 * min(hit3) + 0.5 * sum(hit1) / len(hit1) + 0.25 * local
    return round(primary, 6), round(sum(entry.mrr for entry in entries) / len(entries), 6)


def local_rate(results: dict[str, LanguageScore]) -> float:
    possible = sum(entry.local_possible for entry in results.values())
    return sum(entry.local_shown for entry in results.values()) / possible if possible else 1.0


GRID = {
    "lexical": (0.0, 0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 0.9),
    "topic": (0.0, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2),
    "language": (0.0, 0.01, 0.02, 0.04),
    "tier_scale": (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0),
}


def tune(search: OfferSearch, queries: list[Query], base: Weights = DEFAULT_WEIGHTS) -> list[tuple[tuple, dict]]:
    """Every grid point's objective on the queries, best first (dense weight fixed at 1).

    With ~30 queries per language many settings differ by a query or two, so the ranking key is the
    objective averaged over the setting and its grid neighbours (±1 step in every weight): a setting
    wins when it sits on a plateau, not on a lucky spike. Then the setting's own objective and MRR,
    and last the larger staff-language boost (wanted whenever it costs nothing)."""
    prepared, _ = prepare(search, queries)
    axes = list(GRID.values())
    points = {}
    for position in itertools.product(*(range(len(axis)) for axis in axes)):
        lexical, topic, language, tier_scale = (axis[i] for axis, i in zip(axes, position, strict=True))
        weights = replace(base, dense=1.0, lexical=lexical, topic=topic, language=language,
                          municipality=0.06 * tier_scale, neighbour=0.04 * tier_scale, region=0.02 * tier_scale)
        results = score(search, queries, prepared, weights)
        points[position] = (objective(results), {"weights": weights, "results": results})
    outcomes = []
    for position, (own, outcome) in points.items():
        near = [points[other][0][0] for other in itertools.product(*(
            range(max(0, i - 1), min(len(axis), i + 2)) for axis, i in zip(axes, position, strict=True)))]
        smoothed = round(sum(near) / len(near), 6)
        outcome["smoothed"] = smoothed
        outcomes.append(((smoothed, *own, outcome["weights"].language), outcome))
    outcomes.sort(key=lambda item: item[0], reverse=True)
    return outcomes
