"""`POST /api/offers/search`: public, rate-limited per client (the catalogue is public information)."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bot import SUPPORTED_LANGUAGES

router = APIRouter(tags=["offers"])
MAX_LIMIT = 20


class SearchRequest(BaseModel):
    text: str = Field(..., description="the citizen's need in their own words (1–max_text_chars characters)")
    language: str | None = Field(None, description=f"one of {', '.join(SUPPORTED_LANGUAGES)}; detected if absent")
    municipality: str | None = Field(None, max_length=100,
                                     description="municipality, town or postcode; unknown places search nationally")
    limit: int = Field(3, ge=1, le=MAX_LIMIT)


class OfferOut(BaseModel):
    """The public shape of an offer (DESIGN.md `Offer`), wherever offers are shown: API and web chat."""
    model_config = {"extra": "allow"}

    id: str
    title: str
    summary: str
    topics: list[str]
    municipality: str | None
    languages: list[str]
    contact: str | None
    score: float | None = None


class OfferCard(OfferOut):
    score: float | None
    tier: str = Field(description="municipality | neighbour | region | national: where the offer is, seen from "
                                  "the citizen's municipality")
    place: str | None = Field(description="the municipality (or region) the offer is in, for 'here is one in …'")


class SearchResponse(BaseModel):
    offers: list[OfferCard]
    took_ms: float
    language: str
    location: dict
    notice: str | None = None


def result_payload(result, took_ms: float) -> dict:
    return {
        "offers": [hit.card(result.language) for hit in result.hits],
        "took_ms": round(took_ms, 1),
        "language": result.language,
        "location": {key: value for key, value in vars(result.location).items() if key != "notice"},
        "notice": result.location.notice,
    }


def _limiter(request: Request) -> tuple[MovingWindowRateLimiter, object]:
    state = request.app.state
    limiter = getattr(state, "offer_search_limiter", None)
    if limiter is None:
        services = getattr(state, "services", None)
        rate = getattr(getattr(services, "settings", None), "search_rate_limit", None) or "60/minute"
        limiter = (MovingWindowRateLimiter(MemoryStorage()), parse(rate))
        state.offer_search_limiter = limiter
    return limiter


@router.post("/api/offers/search", response_model=SearchResponse,
             responses={422: {"description": "empty or oversized text"}, 429: {"description": "rate limited"},
                        503: {"description": "search unavailable (model or catalogue missing)"}})
async def search_offers(body: SearchRequest, request: Request):
    """Offers for a need, nearest first: the citizen's municipality, then neighbouring ones, the region,
    and national offers. Public and rate-limited per client."""
    limiter, rate = _limiter(request)
    client = request.client.host if request.client else "unknown"
    if not limiter.hit(rate, "offers-search", client):
        reset = limiter.get_window_stats(rate, "offers-search", client).reset_time
        retry = max(1, int(reset - time.time()))
        return JSONResponse({"detail": "too many searches; try again shortly"}, status_code=429,
                            headers={"Retry-After": str(retry)})
    services = request.app.state.services
    max_chars = services.settings.max_text_chars
    text = body.text.strip()
    if not text:
        raise HTTPException(422, detail="text is empty")
    if len(body.text) > max_chars:
        raise HTTPException(422, detail=f"text is longer than {max_chars} characters")
    if body.language is not None and body.language not in SUPPORTED_LANGUAGES:
        raise HTTPException(422, detail=f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}")

    def run():
        from knowledge.embeddings import EmbeddingModelError

        try:
            search = services.search
        except (EmbeddingModelError, ValueError, OSError) as exc:  # a missing model, a broken catalogue
            raise HTTPException(503, detail=f"search is not available: {exc}") from exc
        started = time.perf_counter()
        result = search.run(text, language=body.language, municipality=body.municipality, limit=body.limit)
        return result_payload(result, (time.perf_counter() - started) * 1000)

    return await run_in_threadpool(run)
