"""The counsellor API (bearer token, role counsellor or admin): the queue, claim, the transcript,
reply, hand back to the bot, close."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from bot.users.auth import require_role
from bot.users.models import User
from connectors.inbox import service as inbox
from connectors.inbox.schemas import (
    AuditOut,
    ConversationMessages,
    CounsellorMessage,
    IntentIn,
    NoteIn,
    NoteOut,
    QueueEntry,
    ReplyIn,
    ReplyOut,
    StateOut,
)

router = APIRouter(prefix="/api/counsellor", tags=["counsellor"],
                   responses={401: {"description": "no or unknown token"},
                              403: {"description": "not a counsellor or admin, or another counsellor's conversation"},
                              404: {"description": "no such conversation"}})
Counsellor = Annotated[User, Depends(require_role("counsellor", "admin"))]
STATES = {"queued": ("queued",), "human": ("human",), "all": ("queued", "human")}


@router.get("/conversations", response_model=list[QueueEntry])
async def list_conversations(request: Request, user: Counsellor,
                             state: Annotated[Literal["queued", "human", "all"], Query()] = "all") -> list[QueueEntry]:
    """Conversations with the counsellors: urgent first, then the counsellor's languages, then the longest
    waiting. Phone numbers are never part of it."""
    items = await run_in_threadpool(inbox.queue, request.app.state.services.store, user, STATES[state])
    return [QueueEntry(id=item.conversation.id, language=item.conversation.language,
                       priority=item.conversation.priority, state=item.conversation.state,
                       channel=item.conversation.channel, waiting_s=item.waiting_s, assigned_to=item.assigned_to,
                       region=item.region, crisis_kind=item.crisis_kind)
            for item in items]


async def _checked(call):
    """The inbox's answer, or its refusal as an HTTP error."""
    try:
        return await call
    except inbox.InboxError as error:
        raise HTTPException(error.status, str(error)) from error


async def _state_change(change) -> StateOut:
    changed = await _checked(change)
    return StateOut(id=changed.id, state=changed.state)


@router.post("/conversations/{conversation_id}/claim", response_model=StateOut,
             responses={409: {"description": "another counsellor has it, or it is not waiting"}})
async def claim(conversation_id: int, request: Request, user: Counsellor) -> StateOut:
    """Take a waiting conversation (or pick one up from the bot); one counsellor per conversation."""
    return await _state_change(inbox.claim(request.app.state.services, conversation_id, user))


@router.get("/conversations/{conversation_id}/messages", response_model=ConversationMessages)
async def messages(conversation_id: int, request: Request, user: Counsellor) -> ConversationMessages:
    """The whole transcript, oldest first; opening it is written to the audit log."""
    found, stored = await _checked(run_in_threadpool(inbox.transcript, request.app.state.services.store,
                                                     conversation_id, user))
    store = request.app.state.services.store
    notes = await run_in_threadpool(inbox.notes_of, store, conversation_id)
    owner = await run_in_threadpool(inbox.owner_name, store, found)
    return ConversationMessages(
        id=found.id, language=found.language, state=found.state, priority=found.priority, channel=found.channel,
        assigned_to=owner,
        messages=[CounsellorMessage(id=m.id, author=m.author, text=m.text, language=m.language,
                                    created_at=m.created_at, offers=(m.payload or {}).get("offer_ids"),
                                    crisis_rule=(m.payload or {}).get("crisis_rule"),
                                    crisis_kind=(m.payload or {}).get("crisis_kind"),
                                    intent=((m.payload or {}).get("nlu") or {}).get("intent"),
                                    confidence=((m.payload or {}).get("nlu") or {}).get("confidence"))
                  for m in stored],
        notes=[NoteOut(id=note.id, author=name, text=note.text, created_at=note.created_at)
               for note, name in notes])


@router.post("/conversations/{conversation_id}/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED)
async def add_note(conversation_id: int, body: NoteIn, request: Request, user: Counsellor) -> NoteOut:
    """An internal note for the counsellors; the citizen never sees it."""
    note = await _checked(run_in_threadpool(inbox.add_note, request.app.state.services.store, conversation_id,
                                            user, body.text))
    return NoteOut(id=note.id, author=user.name, text=note.text, created_at=note.created_at)


@router.post("/messages/{message_id}/intent", status_code=status.HTTP_201_CREATED,
             responses={422: {"description": "unknown intent"}})
async def correct_intent(message_id: int, body: IntentIn, request: Request, user: Counsellor) -> dict:
    """What the citizen's message really meant; it goes to the administrators' review queue."""
    correction = await _checked(run_in_threadpool(inbox.correct_intent, request.app.state.services.store,
                                                  request.app.state.services.settings, message_id, user,
                                                  body.intent))
    return {"id": correction.id, "message_id": message_id, "intent": correction.intent}


@router.get("/canned", response_model=list[str])
async def canned(user: Counsellor, language: Annotated[str, Query(pattern="^[a-z]{2}$")] = "da") -> list[str]:
    """Answers to start from in the language, with {name} as the counsellor's name."""
    return [text.replace("{name}", user.name) for text in inbox.canned_replies().get(language, [])]


@router.post("/conversations/{conversation_id}/reply", response_model=ReplyOut, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "not claimed"}, 413: {"description": "text over the limit"}})
async def reply(conversation_id: int, body: ReplyIn, request: Request, user: Counsellor) -> ReplyOut:
    """Sent on the citizen's channel: live in the web chat, by SMS/WhatsApp through Twilio."""
    services = request.app.state.services
    if len(body.text) > services.settings.max_text_chars:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"text is {len(body.text)} characters; the limit is {services.settings.max_text_chars}")
    message = await _checked(run_in_threadpool(inbox.reply, services, conversation_id, user, body.text))
    return ReplyOut(id=message.id, status=message.status)


@router.post("/conversations/{conversation_id}/handback", response_model=StateOut,
             responses={409: {"description": "not claimed by this counsellor"}})
async def handback(conversation_id: int, request: Request, user: Counsellor) -> StateOut:
    """The bot answers again (the engine resumes); the citizen is told in their language."""
    return await _state_change(inbox.handback(request.app.state.services, conversation_id, user))


@router.post("/conversations/{conversation_id}/close", response_model=StateOut,
             responses={409: {"description": "not with the counsellors"}})
async def close(conversation_id: int, request: Request, user: Counsellor) -> StateOut:
    """Resolved: the citizen is told; their next message reopens the conversation to the bot."""
    return await _state_change(run_in_threadpool(inbox.close, request.app.state.services, conversation_id, user))


admin_router = APIRouter(prefix="/api/admin", tags=["admin"],
                         responses={401: {"description": "no or unknown token"},
                                    403: {"description": "not an admin"}})


@admin_router.get("/audit", response_model=list[AuditOut],
                  dependencies=[Depends(require_role("admin"))])
async def audit(request: Request, conversation_id: int | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[AuditOut]:
    """Who opened or acted on which conversation (newest first); only administrators may read it."""
    entries = await run_in_threadpool(inbox.audit_log, request.app.state.services.store, conversation_id, limit)
    return [AuditOut(user=name, conversation_id=entry.conversation_id, action=entry.action, at=entry.created_at)
            for entry, name in entries]
