"""Hybrid offer search: dense (faiss) + lexical (BM25) + topic signal + staff language + location tiers.

For a message, its language and the citizen's municipality:

1. candidates: the best rows by dense similarity (faiss, restricted to offers the citizen can use),
   the best rows by BM25 in the message's language, and every offer in the citizen's own and
   neighbouring municipalities;
2. features per candidate offer (its best language version counts):
   dense    cosine similarity of the query with the offer's rows (exact, from the stored vectors)
   lexical  BM25 of the message against the offer's rows in the message's language, divided by the
            best BM25 score among eligible rows (0..1)
   topic    the predicted probability of the offer's best topic, divided by the top topic's (0..1)
            (the classifier in knowledge/search/topics.py)
   language 1 if the offer's staff or volunteers speak the citizen's language
3. score = weights · features + the bonus of the offer's location tier × its topic feature; one hit per
   offer. The bonus is scaled by the topic match because nearness only helps an offer that fits the
   need: unscaled, a COPD course in the next town outranked national smoking-cessation help.

Location tiers: `municipality` (offered in the citizen's municipality) → `neighbour` (a bordering
municipality) → `region` (elsewhere in the region, or a regional offer) → `national`. Local and
regional offers elsewhere are not shown. Without a municipality only national offers are eligible.
Each hit carries its tier and place, so a reply can say "nothing in Lemvig, here is one in Holstebro".

The weights are chosen by `brobygger search-eval --tune` on knowledge/eval/dev_queries.yml, with the
topic classifier cross-validated (see knowledge/eval/README.md for the numbers behind them).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import numpy as np

from knowledge.index import OfferIndex
from knowledge.search.lexical import LexicalIndex
from knowledge.search.topics import TOPICS, TopicModel

TIERS: tuple[str, ...] = ("municipality", "neighbour", "region", "national")
_NATIONAL, _REGION, _NEIGHBOUR, _MUNICIPALITY = 3, 2, 1, 0
DENSE_CANDIDATES = 100
LEXICAL_CANDIDATES = 50
EXACT_NEARBY_OFFERS = 1000  # up to this many offers nearby, every one of them is scored


@dataclass(frozen=True)
class Weights:
    """Chosen by `brobygger search-eval knowledge/eval/dev_queries.yml --tune` (knowledge/eval/README.md)."""

    dense: float = 1.0
    lexical: float = 0.1
    topic: float = 0.2
    language: float = 0.04
    municipality: float = 0.09
    neighbour: float = 0.06
    region: float = 0.03

    def tier_bonus(self) -> np.ndarray:
        return np.asarray([self.municipality, self.neighbour, self.region, 0.0], dtype=np.float32)


DEFAULT_WEIGHTS = Weights()
# The baseline `search-eval` compares with: BM25 alone (same location rules, no dense/topic/language).
BM25_ONLY = Weights(dense=0.0, lexical=1.0, topic=0.0, language=0.0, municipality=0.0, neighbour=0.0, region=0.0)


@dataclass
class Hit:
    offer: object  # knowledge.catalogue.Offer
    score: float
    tier: str = "national"
    place: str | None = None  # the municipality (tiers municipality/neighbour) or region the offer is in
    features: dict[str, float] = field(default_factory=dict)

    def card(self, language: str) -> dict:
        card = self.offer.card(language, self.score)
        card["tier"] = self.tier
        card["place"] = self.place
        return card


@dataclass
class Location:
    requested: str | None = None      # what the caller asked for
    municipality: str | None = None   # the municipality searched around (None: national only)
    region: str | None = None
    source: str = "none"              # given | text | unknown | none
    notice: str | None = None         # e.g. "unknown municipality 'Atlantis': searched nationally"


@dataclass
class SearchResult:
    hits: list[Hit]
    language: str
    location: Location
    topics: list[tuple[str, float]]   # predicted topics, most likely first (top 3)

    def as_dict(self) -> dict:
        return {"language": self.language, "location": asdict(self.location),
                "topics": [{"topic": t, "p": round(p, 3)} for t, p in self.topics]}


@dataclass
class Candidates:
    """The offers a message could get, with their weight-independent features."""

    text: str
    language: str
    location: Location
    topic_p: np.ndarray         # probability of each topic for the message (TOPICS order)
    offers: np.ndarray          # candidate offer numbers (index order)
    features: np.ndarray        # per candidate: dense, lexical, language match
    offer_topics: np.ndarray    # per candidate: bool per topic
    tiers: np.ndarray           # per candidate: tier code (0 municipality .. 3 national)


class _LRU:
    def __init__(self, size: int) -> None:
        self.size, self._data, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key, make):
        if self.size <= 0:
            return make()
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()
        with self._lock:
            self._data[key] = value
            if len(self._data) > self.size:
                self._data.popitem(last=False)
        return value


class OfferSearch:
    def __init__(self, catalogue, index: OfferIndex, embedder, gazetteer=None,
                 weights: Weights = DEFAULT_WEIGHTS, lexical: LexicalIndex | None = None,
                 topic_model: TopicModel | None = None) -> None:
        import faiss
        from threadpoolctl import threadpool_limits

        from knowledge.places import gazetteer as default_gazetteer

        # One query at a time gains nothing from faiss's OpenMP or numpy's OpenBLAS threads, and their
        # spinning after each call steals the cores torch needs to embed the next query (end-to-end p95
        # tripled at 10k offers). Torch keeps its own threads.
        faiss.omp_set_num_threads(1)
        threadpool_limits(1, user_api="blas")
        self.catalogue = catalogue
        self.index = index
        self.embedder = embedder
        self.gazetteer = gazetteer or default_gazetteer()
        self.weights = weights
        if index.manifest.get("model") != embedder.name or index.dimension != embedder.dimension:
            raise ValueError(f"index built with {index.manifest.get('model')} ({index.dimension}-d), "
                             f"embedder is {embedder.name} ({embedder.dimension}-d)")
        self.offers = []
        for offer_id in index.offer_ids:
            offer = catalogue.get(offer_id)
            if offer is None:
                raise ValueError(f"index row for offer {offer_id!r}, which is not in the catalogue (stale index)")
            self.offers.append(offer)
        self.lexical = lexical or LexicalIndex(index.rows)
        self._prepare()
        if topic_model is None:
            topic_model = index.topic_model
        if topic_model is None:  # an index built in memory without one (tests, benchmarks)
            if index.topic_vectors is None:
                raise ValueError("the index has neither a topic model nor topic vectors to fit one")
            topic_model = TopicModel.fit(np.asarray(index.vectors, dtype=np.float32), self._topics[index.row_offer],
                                         index.topic_vectors)
        self.topic_model = topic_model
        self._query_cache = _LRU(1024)
        self._tier_cache = _LRU(32)
        self._nearby_cache = _LRU(32)

    # ---------------------------------------------------------------------------------------------
    def _prepare(self) -> None:
        places = self.gazetteer.municipalities
        regions = sorted({m.region for m in places.values()})
        self._regions = {name: i for i, name in enumerate(regions)}
        n = len(self.offers)
        self._scope = np.full(n, _NATIONAL, dtype=np.int8)
        self._offer_region = np.full(n, -1, dtype=np.int16)
        self._local: dict[str, list[int]] = {}
        topics = np.zeros((n, len(TOPICS)), dtype=bool)
        self._speaks: dict[str, np.ndarray] = {}
        topic_number = {topic: i for i, topic in enumerate(TOPICS)}
        for i, offer in enumerate(self.offers):
            where = offer.where
            region = where.region
            if where.scope == "local":
                self._scope[i] = _MUNICIPALITY
                for name in where.municipalities:
                    self._local.setdefault(name, []).append(i)
                    if region is None and name in places:
                        region = places[name].region
            elif where.scope != "national":
                self._scope[i] = _REGION
            if region in self._regions and where.scope != "national":
                self._offer_region[i] = self._regions[region]
            for topic in offer.topics:
                if topic in topic_number:
                    topics[i, topic_number[topic]] = True
            for language in offer.languages:
                self._speaks.setdefault(language, np.zeros(n, dtype=bool))[i] = True
        self._topics = topics
        self._local_arrays = {name: np.asarray(ids, dtype=np.int64) for name, ids in self._local.items()}

    def _tiers(self, municipality: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per offer: tier code (-1 = not eligible); per row: eligible mask and its faiss bitmap."""
        def make():
            tier = np.where(self._scope == _NATIONAL, _NATIONAL, -1).astype(np.int8)
            if municipality is not None:
                region = self._regions.get(self.gazetteer.municipalities[municipality].region, -2)
                tier[(self._scope != _NATIONAL) & (self._offer_region == region)] = _REGION
                for neighbour in self.gazetteer.municipalities[municipality].neighbours:
                    ids = self._local_arrays.get(neighbour)
                    if ids is not None:
                        tier[ids] = np.where((tier[ids] == -1) | (tier[ids] > _NEIGHBOUR), _NEIGHBOUR, tier[ids])
                ids = self._local_arrays.get(municipality)
                if ids is not None:
                    tier[ids] = _MUNICIPALITY
            rows = tier[self.index.row_offer] >= 0
            return tier, rows, self.index.selector_bitmap(rows)
        return self._tier_cache.get(municipality, make)

    def _nearby_bitmap(self, municipality: str, tier: np.ndarray) -> np.ndarray:
        def make():
            return self.index.selector_bitmap((tier[self.index.row_offer] >= 0)
                                              & (tier[self.index.row_offer] <= _NEIGHBOUR))
        return self._nearby_cache.get(municipality, make)

    def set_query_cache(self, size: int) -> None:
        """How many query vectors to keep (0: embed every time, e.g. to time the whole search)."""
        self._query_cache = _LRU(size)

    def _query_vector(self, text: str) -> np.ndarray:
        return self._query_cache.get(text, lambda: self.embedder.query(text))

    # ---------------------------------------------------------------------------------------------
    def resolve_location(self, municipality: str | None, text: str = "") -> Location:
        places = self.gazetteer.municipalities
        if municipality:
            name = municipality.strip()
            if name in places:
                return Location(municipality, name, places[name].region, "given")
            found = self.gazetteer.find(name)
            if found is not None:
                return Location(municipality, found.name, found.region, "given")
            return Location(municipality, None, None, "unknown",
                            f"unknown municipality {municipality!r}: searched nationally")
        found = self.gazetteer.find(text) if text else None
        if found is not None:
            return Location(None, found.name, found.region, "text")
        return Location()

    def detect_language(self, text: str) -> str:
        from nlu.language import default_identifier

        guess = default_identifier().identify(text)
        return guess.language or "da"

    def candidates(self, text: str, language: str | None = None, municipality: str | None = None,
                   location: Location | None = None, dense_candidates: bool = True) -> Candidates:
        """Everything ranking needs for one message, independent of the weights."""
        language = language or self.detect_language(text)
        location = location or self.resolve_location(municipality, text)
        tier, allowed_rows, bitmap = self._tiers(location.municipality)
        query = self._query_vector(text)
        topic_p = self.topic_model.predict(query, text)
        empty = np.zeros(0, dtype=np.int64)
        found = Candidates(text, language, location, topic_p, empty, np.zeros((0, 3), np.float32),
                           self._topics[empty], empty.astype(np.int8))
        if not allowed_rows.any():
            return found

        candidates: set[int] = set()
        if dense_candidates:
            _, rows = self.index.search(query, DENSE_CANDIDATES, bitmap=bitmap)
            candidates.update(self.index.row_offer[rows].tolist())
        lexical_rows, lexical_scores = self.lexical.scores(text, language)
        lexical_scores = np.where(allowed_rows[lexical_rows], lexical_scores, 0.0)
        best_lexical = float(lexical_scores.max()) if len(lexical_scores) else 0.0
        if best_lexical > 0:
            top = np.argpartition(-lexical_scores, min(LEXICAL_CANDIDATES, len(lexical_scores)) - 1)
            top = top[:LEXICAL_CANDIDATES]
            top = top[lexical_scores[top] > 0]
            candidates.update(self.index.row_offer[lexical_rows[top]].tolist())
        if location.municipality is not None:
            nearby = np.flatnonzero(tier <= _NEIGHBOUR)
            nearby = nearby[tier[nearby] >= 0]
            if len(nearby) <= EXACT_NEARBY_OFFERS:
                candidates.update(nearby.tolist())  # all of them: they get the location bonus
            else:  # a big catalogue: the best nearby rows by dense similarity (and BM25 above)
                bitmap = self._nearby_bitmap(location.municipality, tier)
                _, rows = self.index.search(query, DENSE_CANDIDATES, bitmap=bitmap)
                candidates.update(self.index.row_offer[rows].tolist())
        offers = np.fromiter(candidates, dtype=np.int64, count=len(candidates))
        offers = np.sort(offers[tier[offers] >= 0])
        if len(offers) == 0:
            return found

        # Rows of the candidate offers, and which candidate each row belongs to.
        starts, ends = self.index.offer_start[offers], self.index.offer_start[offers + 1]
        counts = ends - starts
        rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        owner = np.repeat(np.arange(len(offers)), counts)
        dense = np.full(len(offers), -1.0, dtype=np.float32)
        np.maximum.at(dense, owner, self.index.exact_scores(query, rows))
        lexical = np.zeros(len(offers), dtype=np.float32)
        if best_lexical > 0:
            # lexical_rows is increasing (one language's rows in index order): look the candidates' rows up.
            at = np.minimum(np.searchsorted(lexical_rows, rows), len(lexical_rows) - 1)
            row_lexical = np.where(lexical_rows[at] == rows, lexical_scores[at] / best_lexical, 0.0)
            np.maximum.at(lexical, owner, row_lexical.astype(np.float32))
        speaks = self._speaks.get(language)
        language_match = speaks[offers].astype(np.float32) if speaks is not None else np.zeros(len(offers), np.float32)
        found.offers = offers
        found.features = np.stack([dense, lexical, language_match], axis=1)
        found.offer_topics = self._topics[offers]
        found.tiers = tier[offers]
        return found

    def rank(self, found: Candidates, weights: Weights | None = None, limit: int = 3,
             offset: int = 0) -> list[tuple[int, float, dict]]:
        """(candidate position, score, features) of the hits, best first."""
        weights = weights or self.weights
        if len(found.offers) == 0:
            return []
        relative = found.topic_p / max(float(found.topic_p.max()), 1e-9)
        topic = np.where(found.offer_topics, relative[None, :], 0.0).max(axis=1)
        dense, lexical, language_match = found.features.T
        score = (weights.dense * dense + weights.lexical * lexical + weights.topic * topic
                 + weights.language * language_match + weights.tier_bonus()[found.tiers] * topic)
        order = np.lexsort((found.offers, -score))[offset:offset + limit]
        return [(int(k), float(score[k]), {
            "dense": round(float(dense[k]), 4), "lexical": round(float(lexical[k]), 4),
            "topic": round(float(topic[k]), 4), "language": float(language_match[k]),
        }) for k in order]

    def run(self, text: str, language: str | None = None, municipality: str | None = None, limit: int = 3,
            offset: int = 0, weights: Weights | None = None, location: Location | None = None) -> SearchResult:
        weights = weights or self.weights
        found = self.candidates(text, language, municipality, location, dense_candidates=weights.dense > 0)
        hits = []
        for k, score, features in self.rank(found, weights, limit, offset):
            offer = self.offers[found.offers[k]]
            code = int(found.tiers[k])
            hits.append(Hit(offer, score, TIERS[code], self._place(offer, code, found.location), features))
        top_topics = [(TOPICS[i], float(found.topic_p[i])) for i in np.argsort(-found.topic_p)[:3]]
        return SearchResult(hits, found.language, found.location, top_topics)

    def _place(self, offer, code: int, location: Location) -> str | None:
        if code == _MUNICIPALITY:
            return location.municipality
        if code == _NEIGHBOUR:
            home = self.gazetteer.municipalities[location.municipality]
            for neighbour in self.gazetteer.neighbours(home.name):  # nearest first
                if neighbour.name in offer.where.municipalities:
                    return neighbour.name
        if code == _REGION:
            return offer.where.municipalities[0] if offer.where.municipalities else offer.where.region
        return None

    def search(self, text: str, municipality: str | None = None, limit: int = 3, offset: int = 0,
               language: str | None = None) -> list[Hit]:
        """The hits only (what the chat's actions need)."""
        return self.run(text, language=language, municipality=municipality, limit=limit, offset=offset).hits
