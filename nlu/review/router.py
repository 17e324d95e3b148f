"""Administrators' review queue: GET /api/admin/review (grouped), label, noise, redact."""

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from bot.engine.process import domain_intents
from bot.users.auth import require_role
from bot.users.models import User
from bot.validation import check_language, check_text
from nlu.review import service
from nlu.review.learned import LearnedData
from nlu.review.models import Understanding

router = APIRouter(prefix="/api/admin/review", tags=["admin: review"])
admin = require_role("admin")


class LabelIn(BaseModel):
    intent: str = Field(max_length=64)
    language: str
    _language = field_validator("language")(check_language)


class BulkLabelIn(LabelIn):
    ids: list[int] = Field(min_length=1, max_length=200)


class IdsIn(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=200)


class RedactIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    _text = field_validator("text")(check_text)


def _refused(exc: service.ReviewError) -> HTTPException:
    code = status.HTTP_404_NOT_FOUND if isinstance(exc, service.UnknownItem) else status.HTTP_422_UNPROCESSABLE_CONTENT
    return HTTPException(code, str(exc))


def item_json(item: Understanding) -> dict:
    return {
        "id": item.id, "language": item.language, "text": item.text, "intent": item.intent,
        "confidence": round(item.confidence, 3), "ranking": item.ranking or [], "reasons": item.reasons or [],
        "suggested_intent": item.suggested_intent, "redacted": item.redacted, "refusal": item.refusal,
        "channel": item.channel, "created_at": item.created_at.isoformat(),
    }


def _learned(request: Request) -> LearnedData:
    return LearnedData(Path(request.app.state.services.settings.learned_data_dir))


def _embed(request: Request):
    # The retrieval's e5 model: one copy in memory, loaded without the offer index.
    return request.app.state.services.embedder.queries


@router.get("")
async def review_queue(request: Request, language: str | None = None, limit: int = 300,
                       _: User = Depends(admin)) -> dict:
    """Open items grouped by similarity (per language, at most 20 per group), biggest groups first."""
    try:
        language = check_language(language or None)  # ?language= (empty) means every language
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    store = request.app.state.services.store
    items = await run_in_threadpool(service.queue, store, language, max(1, min(limit, 1000)))
    groups = await run_in_threadpool(service.clusters, items, _embed(request)) if items else []
    return {
        "open": len(items),
        "counts": await run_in_threadpool(service.counts, store),
        "intents": list(domain_intents()),
        "clusters": [{"id": group.id, "language": group.language, "size": len(group.items),
                      "items": [item_json(item) for item in group.items]} for group in groups],
    }


async def _label(request: Request, ids: list[int], body: LabelIn, user: User) -> list[dict]:
    store = request.app.state.services.store
    try:
        results = await run_in_threadpool(service.label, store, _learned(request), ids, body.intent, body.language,
                                          user.id, domain_intents())
    except service.ReviewError as exc:
        raise _refused(exc) from exc
    return [{"id": r.id, "status": r.status, "reason": r.reason} for r in results]


@router.post("/label")
async def label_many(body: BulkLabelIn, request: Request, user: User = Depends(admin)) -> dict:
    """Label a group at once; refused examples (duplicate, conflict, held-out) stay open with the reason."""
    results = await _label(request, body.ids, body, user)
    return {"labelled": sum(r["status"] == "labelled" for r in results), "results": results}


@router.post("/{item_id}/label")
async def label_one(item_id: int, body: LabelIn, request: Request, user: User = Depends(admin)) -> dict:
    result = (await _label(request, [item_id], body, user))[0]
    if result["status"] == "refused":
        raise HTTPException(status.HTTP_409_CONFLICT, f"not added to the training data: {result['reason']}")
    return result


@router.post("/noise")
async def noise_many(body: IdsIn, request: Request, user: User = Depends(admin)) -> dict:
    try:
        count = await run_in_threadpool(service.mark_noise, request.app.state.services.store, body.ids, user.id)
    except service.ReviewError as exc:
        raise _refused(exc) from exc
    return {"noise": count}


@router.post("/{item_id}/noise")
async def noise_one(item_id: int, request: Request, user: User = Depends(admin)) -> dict:
    return await noise_many(IdsIn(ids=[item_id]), request, user)


@router.post("/{item_id}/redact")
async def redact(item_id: int, body: RedactIn, request: Request, user: User = Depends(admin)) -> dict:
    try:
        item = await run_in_threadpool(service.redact, request.app.state.services.store, item_id, body.text, user.id)
    except service.ReviewError as exc:
        raise _refused(exc) from exc
    return item_json(item)
