"""POST /api/escalation/webhook: the external helpdesk answers (signed like the events it receives)."""

import json
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from bot.conversations import service
from bot.validation import check_text
from connectors.escalation.models import InboundEvent
from connectors.escalation.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from connectors.inbox import service as inbox

router = APIRouter(tags=["escalation"])
ACTOR = "helpdesk"


class HelpdeskEvent(BaseModel):
    id: str = Field(min_length=1, max_length=128, description="the helpdesk's id for this event (idempotency)")
    type: Literal["reply", "close", "handback"]
    conversation_id: int
    text: str | None = Field(default=None, description="the counsellor's answer (for type reply)")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value)


@router.post("/api/escalation/webhook", status_code=status.HTTP_200_OK,
             responses={401: {"description": "missing, wrong or stale signature"},
                        404: {"description": "no such conversation"},
                        409: {"description": "the conversation is not with the counsellors"},
                        422: {"description": "invalid event"}})
async def helpdesk_event(request: Request) -> dict:
    """A reply, close or hand-back from the helpdesk, `X-Brobygger-Signature` and `X-Brobygger-Timestamp`
    as on the events we send. A repeated event id changes nothing."""
    services = request.app.state.services
    body = await request.body()
    if not verify(services.settings.escalation_webhook_secret or "", request.headers.get(TIMESTAMP_HEADER),
                  request.headers.get(SIGNATURE_HEADER), body):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing, wrong or stale signature")
    try:
        event = HelpdeskEvent.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"invalid event: {exc}") from exc
    if event.type == "reply" and not event.text:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "a reply needs text")
    try:
        found = await run_in_threadpool(inbox.conversation, services.store, event.conversation_id)
    except inbox.InboxError as error:
        raise HTTPException(error.status, str(error)) from error
    if found.state not in service.WITH_COUNSELLORS:
        raise HTTPException(status.HTTP_409_CONFLICT, f"the conversation is {found.state}")
    if not await run_in_threadpool(_first_time, services.store, event.id):
        return {"status": "duplicate"}
    if event.type == "reply":
        if found.state == "queued":
            await run_in_threadpool(service.transition, services.store, found.id, "human", ACTOR, "helpdesk reply")
        await run_in_threadpool(inbox.deliver, services, found, event.text, "counsellor", None)
    elif event.type == "close":
        await run_in_threadpool(inbox.end, services, found.id, ACTOR)
    else:
        await inbox.hand_back(services, found.id, ACTOR)
    return {"status": "applied"}


def _first_time(store, event_id: str) -> bool:
    try:
        with store.session() as session:
            session.add(InboundEvent(event_id=event_id))
        return True
    except IntegrityError:
        return False
