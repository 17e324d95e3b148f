"""Conversation bookkeeping shared by channels, the turn pipeline and actions."""

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.conversations.live import bell
from bot.conversations.models import Conversation, ConversationPlace, Feedback, Message, Transition, utcnow
from bot.settings import Settings, pseudonym
from bot.store.db import Store


def _by_channel_id(channel: str, external_id: str):
    return select(Conversation).where(Conversation.channel == channel, Conversation.external_id == external_id)


def find(store: Store, channel: str, external_id: str) -> Conversation | None:
    with store.session() as session:
        return session.scalar(_by_channel_id(channel, external_id))


def get_or_create(store: Store, channel: str, external_id: str, language: str) -> Conversation:
    query = _by_channel_id(channel, external_id)
    try:
        with store.session() as session:
            conversation = session.scalar(query)
            if conversation is None:
                conversation = Conversation(channel=channel, external_id=external_id, language=language)
                session.add(conversation)
                session.flush()
            return conversation
    except IntegrityError:  # two first messages at once: the other one created it
        with store.session() as session:
            return session.scalars(query).one()


def by_engine_sender(store: Store, sender_id: str) -> Conversation | None:
    if not sender_id.startswith("c") or not sender_id[1:].isdigit():
        return None
    with store.session() as session:
        return session.get(Conversation, int(sender_id[1:]))


def add_message(store: Store, conversation_id: int, direction: str, author: str, text: str, language: str,
                status: str = "received", payload: dict | None = None) -> Message:
    """Commit one message. Inbound messages are committed before anything processes them.

    Once committed, anyone waiting for the conversation's next message (a live web chat) is woken.
    """
    with store.session() as session:
        message = Message(conversation_id=conversation_id, direction=direction, author=author, text=text,
                          language=language, status=status, payload=payload)
        session.add(message)
        session.flush()
    bell.ring(conversation_id)
    return message


def set_message_status(store: Store, message_id: int, status: str) -> None:
    with store.session() as session:
        message = session.get(Message, message_id)
        if message is not None:
            message.status = status


def add_to_payload(store: Store, message_id: int, **parts) -> None:
    """Add keys to a stored message's payload (what was understood of it, after the turn)."""
    with store.session() as session:
        message = session.get(Message, message_id)
        if message is not None:
            message.payload = {**(message.payload or {}), **parts}


def set_place(store: Store, conversation_id: int, municipality: str, region: str) -> None:
    with store.session() as session:
        session.merge(ConversationPlace(conversation_id=conversation_id, municipality=municipality, region=region))


def set_language(store: Store, conversation_id: int, language: str) -> None:
    with store.session() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is not None:
            conversation.language = language


# Where a conversation may go from each state. The bot answers only in "bot"; in "queued" and "human"
# every citizen message goes to the counsellors; "closed" reopens to "bot" when the citizen writes again.
TRANSITIONS = {
    "bot": ("queued", "closed"),
    "queued": ("human", "bot", "closed"),
    "human": ("bot", "closed"),
    "closed": ("bot", "queued"),
}
WITH_COUNSELLORS = ("queued", "human")


def transition(store: Store, conversation_id: int, to_state: str, actor: str, reason: str,
               from_states: tuple[str, ...] | None = None) -> Conversation | None:
    """Move the conversation to `to_state` if its current state allows it (and is one of `from_states`,
    when given); returns the updated conversation, or None when it was not in such a state.

    The check and the change are one conditional UPDATE, so of two counsellors claiming the same
    conversation at once exactly one succeeds.
    """
    allowed = [state for state, targets in TRANSITIONS.items() if to_state in targets]
    if from_states is not None:
        allowed = [state for state in allowed if state in from_states]
    with store.session() as session:
        current = session.scalar(select(Conversation.state).where(Conversation.id == conversation_id))
        if current not in allowed:
            return None
        changed = session.execute(update(Conversation).where(Conversation.id == conversation_id,
                                                             Conversation.state == current)
                                  .values(state=to_state, updated_at=utcnow(),
                                          **({"priority": "normal"} if to_state in ("bot", "closed") else {}))
                                  ).rowcount
        if changed != 1:
            return None  # someone else changed it between the read and the update
        session.add(Transition(conversation_id=conversation_id, from_state=current, to_state=to_state,
                               actor=actor, reason=reason))
        session.flush()
        return session.get(Conversation, conversation_id)


def escalate(store: Store, conversation_id: int, priority: str, reason: str) -> bool:
    """The single entry point for handing a conversation to a person: queue it (urgent for a crisis).

    Returns True when it was newly queued. An urgent reason raises the priority of a conversation
    that is already with the counsellors.
    """
    queued = transition(store, conversation_id, "queued", "bot", reason) is not None
    if priority == "urgent":
        with store.session() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None:
                conversation.priority = "urgent"
    return queued


def latest_crisis_kinds(session, conversation_ids: list[int], until: datetime | None = None) -> dict[int, str]:
    """Per conversation, the kind of the citizen's latest crisis message (violence, medical, suicide, …, or
    "classifier"), so whoever takes an urgent conversation knows what help it needs before opening it.
    `until` leaves out later messages (what a ticket opened at that moment was about)."""
    kinds: dict[int, str] = {}
    if not conversation_ids:
        return kinds
    query = select(Message.conversation_id, Message.payload).where(Message.conversation_id.in_(conversation_ids),
                                                                   Message.direction == "in")
    if until is not None:
        query = query.where(Message.created_at <= until)
    for conversation_id, payload in session.execute(query.order_by(Message.id)):
        if (payload or {}).get("crisis_kind"):
            kinds[conversation_id] = payload["crisis_kind"]
    return kinds


def transitions_of(store: Store, conversation_id: int) -> list[Transition]:
    with store.session() as session:
        return list(session.scalars(select(Transition).where(Transition.conversation_id == conversation_id)
                                    .order_by(Transition.id)))


def erase(store: Store, conversation_id: int) -> None:
    """Delete everything the citizen wrote and was sent; the conversation row stays, emptied."""
    with store.session() as session:
        session.execute(delete(Message).where(Message.conversation_id == conversation_id))
        session.execute(delete(Feedback).where(Feedback.conversation_id == conversation_id))
        session.execute(delete(ConversationPlace).where(ConversationPlace.conversation_id == conversation_id))
        conversation = session.get(Conversation, conversation_id)
        if conversation is not None:
            conversation.state = "bot"
            conversation.priority = "normal"


def messages_of(store: Store, conversation_id: int) -> list[Message]:
    with store.session() as session:
        return list(session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                    .order_by(Message.id)))


def messages_after(store: Store, conversation_id: int, after: int, limit: int) -> list[Message]:
    """The conversation's messages with an id above `after`, oldest first, at most `limit`."""
    with store.session() as session:
        return list(session.scalars(select(Message).where(Message.conversation_id == conversation_id,
                                                          Message.id > after)
                                    .order_by(Message.id).limit(limit)))


def last_outbound(store: Store, conversation_id: int) -> Message | None:
    """The latest message the conversation was sent (None on first contact, or after erasure)."""
    with store.session() as session:
        return session.scalar(select(Message).where(Message.conversation_id == conversation_id,
                                                    Message.direction == "out")
                              .order_by(Message.id.desc()).limit(1))


def last_replies(store: Store, conversation_id: int) -> list[Message]:
    """What the conversation was sent since the citizen last wrote (its latest bot turn), oldest first."""
    with store.session() as session:
        last_in = session.scalar(select(Message.id).where(Message.conversation_id == conversation_id,
                                                           Message.direction == "in")
                                 .order_by(Message.id.desc()).limit(1))
        return list(session.scalars(select(Message).where(Message.conversation_id == conversation_id,
                                                          Message.direction == "out",
                                                          Message.id > (last_in or 0))
                                    .order_by(Message.id)))


def opted_out(store: Store, conversation_id: int) -> bool:
    """True after STOP until the citizen writes again: nothing may be sent to them unasked.

    Whatever the citizen writes next is answered, so the last thing they were sent tells the state.
    """
    last = last_outbound(store, conversation_id)
    return last is not None and (last.payload or {}).get("key") == "opt_out_confirm"


def log_key(settings: Settings, conversation_id: int) -> str:
    """How the understanding log (nlu.review) names a conversation: a keyed hash, not its id."""
    return pseudonym(settings, "conversation", str(conversation_id))


def record_feedback(store: Store, conversation_id: int, helped: bool, offer_ids: list[str], language: str) -> None:
    with store.session() as session:
        session.add(Feedback(conversation_id=conversation_id, helped=helped, offer_ids=offer_ids, language=language))


def feedback_of(store: Store, conversation_id: int) -> list[Feedback]:
    with store.session() as session:
        return list(session.scalars(select(Feedback).where(Feedback.conversation_id == conversation_id)
                                    .order_by(Feedback.id)))
