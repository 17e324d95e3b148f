"""The web chat API: a turn (POST), the transcript and later messages (GET, polling), and the live
stream of later messages such as a counsellor's reply (Server-Sent Events)."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent

from bot.conversations import service
from bot.conversations.live import bell
from bot.conversations.models import Conversation, Message
from bot.turns.pipeline import handle_turn
from connectors.webchat.schemas import (
    BotMessageOut,
    TranscriptMessage,
    WebchatMessageIn,
    WebchatReply,
    WebchatTranscript,
)

router = APIRouter(tags=["web chat"])

CHANNEL = "webchat"
# Reading a conversation back needs only its id, so the id must be unguessable: the widget makes 32 random
# hex digits. A shorter id (a script's "test-1") can still chat but its messages can't be read back.
READABLE_ID_MIN = 16
ConversationIdQuery = Annotated[str, Query(min_length=READABLE_ID_MIN, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                                           description="the widget's conversation id (at least 16 characters)")]
PAGE_LIMIT = 200
# A stream ends after this long and the browser reconnects (EventSource does, with Last-Event-ID), so no
# connection outlives a deploy for long; between rings the store is read again every WAKE_S.
STREAM_LIFETIME_S = 300.0
WAKE_S = 10.0
RECONNECT_MS = 2000


@router.post("/api/webchat/messages", response_model=WebchatReply,
             responses={413: {"description": "text over the limit"}, 422: {"description": "empty or invalid text"}})
async def post_message(body: WebchatMessageIn, request: Request) -> WebchatReply:
    """One turn: the citizen's text in, the bot's replies out (each with its stored id)."""
    services = request.app.state.services
    limit = services.settings.max_text_chars
    if len(body.text) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"text is {len(body.text)} characters; the limit is {limit}")
    turn = await handle_turn(services, CHANNEL, body.conversation_id, body.text, body.language, body.action)
    return WebchatReply(
        conversation_id=body.conversation_id,
        language=turn.language,
        escalated=turn.escalated,
        messages=[BotMessageOut(text=m.text, offers=m.offers, quick_replies=m.quick_replies, lead=m.lead,
                                id=message_id)
                  for m, message_id in zip(turn.messages, turn.message_ids, strict=True)],
    )


async def webchat_conversation(request: Request, conversation_id: ConversationIdQuery) -> Conversation:
    """The web chat conversation the query names; 404 before any response (or stream) starts."""
    conversation = await run_in_threadpool(service.find, request.app.state.services.store, CHANNEL, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conversation")
    return conversation


WebchatConversation = Annotated[Conversation, Depends(webchat_conversation)]


@router.get("/api/webchat/messages", response_model=WebchatTranscript,
            responses={404: {"description": "no web chat conversation with this id"}})
async def get_messages(request: Request, conversation: WebchatConversation,
                       after: Annotated[int, Query(ge=0, description="a message id; 0 for the whole transcript")] = 0,
                       ) -> WebchatTranscript:
    """The conversation's messages after `after`, oldest first (at most 200 per call): the whole
    transcript when the page is reloaded, and later messages (a counsellor's reply) when the page
    can't keep a live stream open."""
    store = request.app.state.services.store
    messages = await run_in_threadpool(service.messages_after, store, conversation.id, after, PAGE_LIMIT)
    return _transcript(conversation, messages)


@router.get("/api/webchat/stream", response_class=EventSourceResponse,
            responses={404: {"description": "no web chat conversation with this id"}})
async def stream_messages(request: Request, conversation: WebchatConversation,
                          after: Annotated[int, Query(ge=0)] = 0,
                          last_event_id: Annotated[str | None, Header()] = None) -> AsyncIterator[ServerSentEvent]:
    """Messages stored after `after` (or the Last-Event-ID the browser resends), as they arrive:
    `event: message`, `id:` the message id, `data:` the message as in GET /api/webchat/messages."""
    store = request.app.state.services.store
    if last_event_id and last_event_id.isdigit():
        after = max(after, int(last_event_id))
    deadline = time.monotonic() + STREAM_LIFETIME_S
    yield ServerSentEvent(comment="connected", retry=RECONNECT_MS)
    with bell.subscription(conversation.id) as rung:
        while time.monotonic() < deadline and not await request.is_disconnected():
            rung.clear()
            messages = await run_in_threadpool(service.messages_after, store, conversation.id, after, PAGE_LIMIT)
            for message in messages:
                after = message.id
                yield ServerSentEvent(event="message", id=str(message.id),
                                      data=_message_out(message).model_dump(mode="json"))
            if not messages:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(rung.wait(), WAKE_S)


def _message_out(message: Message) -> TranscriptMessage:
    payload = message.payload or {}
    return TranscriptMessage(id=message.id, author=message.author, text=message.text,
                             offers=payload.get("offers"), quick_replies=payload.get("quick_replies"),
                             lead=payload.get("lead"),
                             created_at=message.created_at)


def _transcript(conversation: Conversation, messages: list[Message]) -> WebchatTranscript:
    return WebchatTranscript(conversation_id=conversation.external_id, language=conversation.language,
                             escalated=conversation.state in ("queued", "human"),
                             messages=[_message_out(message) for message in messages])
