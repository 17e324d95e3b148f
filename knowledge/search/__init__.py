"""Offer search: hybrid ranking over the faiss index (engine), its HTTP API (api), evaluation
(evaluation), command-line commands (cli).

`default_search()` is the process-wide search the app and the chat's actions use: the configured
embedding model, the default catalogue and the index under the configured index directory, rebuilt
first if it is stale. Names are imported lazily so `brobygger --help` doesn't load faiss.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge.search.engine import OfferSearch

__all__ = ["DEFAULT_WEIGHTS", "TIERS", "Hit", "Location", "OfferSearch", "SearchResult", "Weights", "default_search",
           "open_search", "reset_default_search"]
_ENGINE_NAMES = {"DEFAULT_WEIGHTS", "TIERS", "Hit", "Location", "OfferSearch", "SearchResult", "Weights"}

_default: OfferSearch | None = None
_default_lock = threading.Lock()


def __getattr__(name: str):
    if name in _ENGINE_NAMES:
        from knowledge.search import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_search(catalogue=None, settings=None, progress=None) -> OfferSearch:
    """A search over `catalogue` (default: the configured one) with the configured model and index."""
    from bot.settings import get_settings
    from knowledge.catalogue import default_catalogue
    from knowledge.embeddings import shared_embedder
    from knowledge.index import load_or_build
    from knowledge.search.engine import OfferSearch

    settings = settings or get_settings()
    catalogue = catalogue if catalogue is not None else default_catalogue()
    embedder = shared_embedder(settings.embedding_model, settings.embedding_models_dir)
    index = load_or_build(settings.search_index_dir, catalogue, embedder, progress=progress)
    return OfferSearch(catalogue, index, embedder)


def default_search() -> OfferSearch:
    global _default
    with _default_lock:
        if _default is None:
            _default = open_search()
        return _default


def reset_default_search() -> None:
    """Forget the process-wide search (the next call reloads catalogue and index)."""
    global _default
    with _default_lock:
        _default = None
