"""The inbox's rules: the queue order, claiming (one counsellor per conversation), replying on the
citizen's channel, handing back to the bot, closing. Every state change goes through
bot.conversations.service.transition, which stores who, when and why."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import yaml
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from bot.conversations import service
from bot.conversations.models import Conversation, ConversationPlace, Message, Transition
from bot.engine.client import EngineError
from bot.engine.process import domain_intents
from bot.services import Services
from bot.settings import Settings
from bot.store.db import Store
from bot.turns.pipeline import RENDER_CHANNEL, resume_engine
from bot.users.models import User
from bot.users.service import profile_of
from connectors.inbox.models import AuditEntry, IntentCorrection, Note
from connectors.sms.outbound import OutboundSms
from nlu.review import service as review

log = logging.getLogger(__name__)


class InboxError(Exception):
    """A request the conversation's state does not allow; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class QueueItem:
    conversation: Conversation
    queued_at: datetime | None
    assigned_to: str | None
    language_match: bool
    region: str | None = None
    region_match: bool = False
    crisis_kind: str | None = None

    @property
    def waiting_s(self) -> int:
        if self.queued_at is None:
            return 0
        queued_at = self.queued_at if self.queued_at.tzinfo else self.queued_at.replace(tzinfo=UTC)
        return max(0, int((datetime.now(UTC) - queued_at).total_seconds()))


USER_ACTOR = "user:"


def actor(user: User) -> str:
    return f"{USER_ACTOR}{user.id}"


def queue(store: Store, user: User, states: tuple[str, ...]) -> list[QueueItem]:
    """Conversations in `states`, in the order a counsellor should take them: urgent first, then those in
    one of the counsellor's languages, then those from a region they cover, then the longest waiting."""
    with store.session() as session:
        conversations = list(session.scalars(select(Conversation).where(Conversation.state.in_(states))))
        ids = [c.id for c in conversations]
        queued_at = dict(session.execute(
            select(Transition.conversation_id, func.max(Transition.created_at))
            .where(Transition.conversation_id.in_(ids), Transition.to_state == "queued")
            .group_by(Transition.conversation_id)).all()) if ids else {}
        assigned = _owner_names(session, [c.id for c in conversations if c.state == "human"])
        regions = dict(session.execute(
            select(ConversationPlace.conversation_id, ConversationPlace.region)
            .where(ConversationPlace.conversation_id.in_(ids))).all()) if ids else {}
        crisis_kinds = service.latest_crisis_kinds(session, ids)
    languages = set(user.language_list)
    profile = profile_of(store, user.id)
    covered = set(profile.region_list) if profile else set()
    items = [QueueItem(c, queued_at.get(c.id), assigned.get(c.id), c.language in languages, regions.get(c.id),
                       regions.get(c.id) in covered, crisis_kinds.get(c.id))
             for c in conversations]
    return sorted(items, key=lambda item: (item.conversation.priority != "urgent", not item.language_match,
                                           not item.region_match, -item.waiting_s))


def audit(store: Store, user: User, conversation_id: int, action: str) -> None:
    with store.session() as session:
        session.add(AuditEntry(user_id=user.id, conversation_id=conversation_id, action=action))


def audit_log(store: Store, conversation_id: int | None, limit: int) -> list[tuple[AuditEntry, str]]:
    """Who opened or acted on which conversation, newest first, with each person's name."""
    query = select(AuditEntry, User.name).join(User, User.id == AuditEntry.user_id)
    if conversation_id is not None:
        query = query.where(AuditEntry.conversation_id == conversation_id)
    with store.session() as session:
        return list(session.execute(query.order_by(AuditEntry.id.desc()).limit(limit)))


def conversation(store: Store, conversation_id: int) -> Conversation:
    with store.session() as session:
        found = session.get(Conversation, conversation_id)
    if found is None:
        raise InboxError(404, "no such conversation")
    return found


async def claim(services: Services, conversation_id: int, user: User) -> Conversation:
    """Take a queued conversation, or pick up one the bot is having (from the live list; the engine is
    paused then). Of two counsellors claiming at once exactly one gets it; the other gets 409."""
    taken, from_bot = await run_in_threadpool(_take, services.store, conversation_id, user)
    if from_bot:
        await pause_engine(services, taken.engine_sender_id)
    return taken


def _take(store: Store, conversation_id: int, user: User) -> tuple[Conversation, bool]:
    conversation(store, conversation_id)
    from_bot = False
    taken = service.transition(store, conversation_id, "human", actor(user), "claimed")
    if taken is None and service.transition(store, conversation_id, "queued", actor(user), "picked up",
                                            from_states=("bot",)) is not None:
        from_bot = True
        taken = service.transition(store, conversation_id, "human", actor(user), "claimed")
    if taken is None:
        raise InboxError(409, "another counsellor has this conversation, or it is not waiting for one")
    audit(store, user, conversation_id, "claim")
    return taken, from_bot


async def pause_engine(services: Services, sender_id: str) -> None:
    try:
        await services.engine.append_events(sender_id, [{"event": "pause"}])
    except EngineError as exc:
        # The app sends the engine nothing while counsellors have the conversation, so this only matters
        # to someone reading the engine's tracker.
        log.warning("could not pause the engine for %s: %s", sender_id, exc)


def _owners(session, conversation_ids: list[int]) -> dict[int, int]:
    """The user holding each conversation: whoever moved it into "human" last. Only meaningful while the
    conversation is "human" (callers pass only those); a helpdesk's claim has no user."""
    if not conversation_ids:
        return {}
    latest = (select(func.max(Transition.id)).where(Transition.conversation_id.in_(conversation_ids),
                                                    Transition.to_state == "human")
              .group_by(Transition.conversation_id))
    rows = session.execute(select(Transition.conversation_id, Transition.actor).where(Transition.id.in_(latest)))
    return {cid: int(who.removeprefix(USER_ACTOR)) for cid, who in rows if who.startswith(USER_ACTOR)}


def _owner_names(session, conversation_ids: list[int]) -> dict[int, str]:
    owners = _owners(session, conversation_ids)
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(set(owners.values())))).all())
    return {cid: names[user_id] for cid, user_id in owners.items() if user_id in names}


def owner_name(store: Store, found: Conversation) -> str | None:
    if found.state != "human":
        return None
    with store.session() as session:
        return _owner_names(session, [found.id]).get(found.id)


def require_owner(store: Store, conversation_id: int, user: User) -> Conversation:
    found = conversation(store, conversation_id)
    if found.state != "human":
        raise InboxError(409, f"the conversation is {found.state}: claim it first")
    with store.session() as session:
        owner = _owners(session, [conversation_id]).get(conversation_id)
    if owner != user.id and user.role != "admin":
        raise InboxError(403, "another counsellor has this conversation")
    return found


def transcript(store: Store, conversation_id: int, user: User) -> tuple[Conversation, list[Message]]:
    found = conversation(store, conversation_id)
    audit(store, user, conversation_id, "open")
    return found, service.messages_of(store, conversation_id)


def deliver(services: Services, found: Conversation, text: str, author: str, key: str | None) -> Message:
    """Store a message for the citizen and send it on their channel: the web chat shows it live (its
    stream wakes on the store), SMS and WhatsApp go out through Twilio's REST client."""
    message = service.add_message(services.store, found.id, "out", author, text, found.language, "sent",
                                  {"key": key} if key else None)
    if found.channel in ("sms", "whatsapp"):
        results = OutboundSms(services.settings, services.store).send_text(
            found.external_id, text, f"message:{message.id}", found.language)
        status = results[-1].status if results else "failed"
        if status in ("failed", "suppressed"):
            service.set_message_status(services.store, message.id, status)
    return message


def reply(services: Services, conversation_id: int, user: User, text: str) -> Message:
    found = require_owner(services.store, conversation_id, user)
    message = deliver(services, found, text, "counsellor", None)
    audit(services.store, user, conversation_id, "reply")
    return message


def notice(services: Services, found: Conversation, key: str) -> Message:
    rendered = services.renderer.render(key, found.language, channel=RENDER_CHANNEL.get(found.channel, "web"))
    return deliver(services, found, rendered.text, "bot", key)


async def handback(services: Services, conversation_id: int, user: User) -> Conversation:
    await run_in_threadpool(require_owner, services.store, conversation_id, user)
    back = await hand_back(services, conversation_id, actor(user))
    if back is None:
        raise InboxError(409, "the conversation changed meanwhile")
    await run_in_threadpool(audit, services.store, user, conversation_id, "handback")
    return back


async def hand_back(services: Services, conversation_id: int, who: str) -> Conversation | None:
    """To the bot: the engine resumes and the citizen is told. None when the state did not allow it."""
    back = await run_in_threadpool(service.transition, services.store, conversation_id, "bot", who, "handed back")
    if back is not None:
        await resume_engine(services, back.engine_sender_id)
        await run_in_threadpool(notice, services, back, "handback_to_bot")
    return back


def close(services: Services, conversation_id: int, user: User) -> Conversation:
    found = conversation(services.store, conversation_id)
    if found.state == "human":
        require_owner(services.store, conversation_id, user)
    closed = end(services, conversation_id, actor(user))
    if closed is None:
        raise InboxError(409, f"the conversation is {found.state}; only one with the counsellors can be closed")
    audit(services.store, user, conversation_id, "close")
    return closed


def end(services: Services, conversation_id: int, who: str) -> Conversation | None:
    """Resolved: closed, and the citizen is told. None unless it was with the counsellors."""
    closed = service.transition(services.store, conversation_id, "closed", who, "resolved",
                                from_states=service.WITH_COUNSELLORS)
    if closed is not None:
        notice(services, closed, "conversation_closed")
    return closed


def add_note(store: Store, conversation_id: int, user: User, text: str) -> Note:
    conversation(store, conversation_id)
    with store.session() as session:
        note = Note(conversation_id=conversation_id, user_id=user.id, text=text)
        session.add(note)
        session.flush()
        return note


def notes_of(store: Store, conversation_id: int) -> list[tuple[Note, str]]:
    """Each note with its author's name, oldest first."""
    with store.session() as session:
        return list(session.execute(select(Note, User.name).join(User, User.id == Note.user_id)
                                    .where(Note.conversation_id == conversation_id).order_by(Note.id)))


@cache
def canned_replies() -> dict[str, list[str]]:
    return yaml.safe_load((Path(__file__).with_name("canned.yml")).read_text("utf-8"))


def correct_intent(store: Store, settings: Settings, message_id: int, user: User, intent: str) -> IntentCorrection:
    """Record what a citizen's message meant and put it in the administrators' review queue."""
    if intent not in domain_intents():
        raise InboxError(422, f"unknown intent {intent!r}; known: {', '.join(sorted(domain_intents()))}")
    with store.session() as session:
        message = session.get(Message, message_id)
        if message is None or message.author != "citizen":
            raise InboxError(404, "no such citizen message")
        correction = IntentCorrection(message_id=message_id, user_id=user.id, intent=intent,
                                      language=message.language)
        session.add(correction)
        session.flush()
    review.flag_message(store, service.log_key(settings, message.conversation_id), message_id,
                        "counsellor_corrected", suggested_intent=intent)
    audit(store, user, message.conversation_id, "correct")
    return correction
