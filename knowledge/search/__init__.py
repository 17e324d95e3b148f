"""Offer search: hybrid ranking over the faiss index (engine), its HTTP API (api), evaluation
(evaluation), command-line commands (cli).

`search_for(settings)` is the process-wide search the app and the chat's actions use: the settings'
catalogue folder, embedding model and index directory, the index rebuilt first if it is stale. Names
are imported lazily so `brobygger --help` doesn't load faiss.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge.search.engine import OfferSearch

__all__ = ["DEFAULT_WEIGHTS", "TIERS", "Hit", "Location", "OfferSearch", "SearchResult", "Weights", "open_search",
           "search_for"]
_ENGINE_NAMES = {"DEFAULT_WEIGHTS", "TIERS", "Hit", "Location", "OfferSearch", "SearchResult", "Weights"}

_searches: dict[tuple, OfferSearch] = {}
_searches_lock = threading.Lock()


def __getattr__(name: str):
    if name in _ENGINE_NAMES:
        from knowledge.search import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_search(catalogue=None, settings=None, progress=None) -> OfferSearch:
    """A search over `catalogue` (default: the settings' catalogue folder) with the settings' model and index."""
    from bot.settings import get_settings
    from knowledge.catalogue import load_catalogue
    from knowledge.embeddings import embedder_for
    from knowledge.index import load_or_build
    from knowledge.search.engine import OfferSearch

    settings = settings or get_settings()
    catalogue = catalogue if catalogue is not None else load_catalogue(settings.catalogue_dir)
    embedder = embedder_for(settings)
    index = load_or_build(settings.search_index_dir, catalogue, embedder, progress=progress)
    return OfferSearch(catalogue, index, embedder)


def search_for(settings) -> OfferSearch:
    """The process-wide search for these settings' catalogue folder, embedding model and index folder
    (one per combination: apps and tests with the same settings share one loaded index)."""
    key = (str(settings.catalogue_dir), settings.embedding_model, str(settings.embedding_models_dir),
           str(settings.search_index_dir))
    with _searches_lock:
        if key not in _searches:
            _searches[key] = open_search(settings=settings)
        return _searches[key]
