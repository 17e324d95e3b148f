"""The signed webhook connector: hand-offs, the citizen's messages meanwhile and their end, POSTed as
JSON to an external helpdesk; the helpdesk's replies come back on a signed endpoint (router.py).

Nothing is lost when the helpdesk is down. The producer turns the store's own record (conversation
transitions, citizen messages kept for the counsellors) into outbox rows, in the same transaction
as it moves its read position, so an event exists exactly once. The sender delivers due rows in
order, each with its idempotency key; a failure is retried with exponential backoff, and after the
last attempt the event moves to the dead-letter table. The citizen meanwhile has the usual
"a counsellor will answer" message, and the built-in inbox shows the conversation as always.

Signature: `X-Brobygger-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
`X-Brobygger-Timestamp: <unix seconds>`; the same scheme, both ways.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from bot.conversations.models import Conversation, Message, Transition
from bot.conversations.service import WITH_COUNSELLORS, latest_crisis_kinds
from bot.settings import Settings
from bot.store.db import Store
from connectors.escalation.models import Cursor, DeadLetter, OutboxEvent

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Brobygger-Signature"
TIMESTAMP_HEADER = "X-Brobygger-Timestamp"
MAX_CLOCK_SKEW_S = 300
CONTEXT_MESSAGES = 10  # of the transcript, sent with a new ticket
BATCH = 50


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None) -> bool:
    if not secret or not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs((now or time.time()) - int(timestamp)) > MAX_CLOCK_SKEW_S:
        return False  # an old request replayed
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


# -- producing events from the store -------------------------------------------------------------
def _event_type(transition: Transition) -> str | None:
    if transition.to_state == "queued":
        return "ticket.opened"
    if transition.to_state == "human":
        return "ticket.claimed"
    if transition.from_state in WITH_COUNSELLORS and transition.to_state in ("bot", "closed"):
        return "ticket.closed"
    return None


def _position(session, name: str) -> Cursor:
    cursor = session.get(Cursor, name)
    if cursor is None:
        cursor = Cursor(name=name, position=0)
        session.add(cursor)
    return cursor


def _base(conversation: Conversation) -> dict:
    return {"conversation_id": conversation.id, "language": conversation.language,
            "priority": conversation.priority, "channel": conversation.channel}


def produce(store: Store) -> int:
    """Turn new transitions and citizen messages into outbox events; returns how many were added."""
    added = 0
    with store.session() as session:
        transitions_read = _position(session, "transitions")
        rows = session.execute(select(Transition, Conversation).join(Conversation)
                               .where(Transition.id > transitions_read.position)
                               .order_by(Transition.id).limit(500)).all()
        for transition, conversation in rows:
            transitions_read.position = transition.id
            event_type = _event_type(transition)
            if event_type is None:
                continue
            payload = {**_base(conversation), "type": event_type, "id": f"transition:{transition.id}",
                       "reason": transition.reason, "at": transition.created_at.isoformat()}
            if event_type == "ticket.opened":
                recent = session.scalars(select(Message).where(Message.conversation_id == conversation.id)
                                         .order_by(Message.id.desc()).limit(CONTEXT_MESSAGES)).all()
                payload["transcript"] = [{"author": m.author, "text": m.text} for m in reversed(recent)]
                # The events may be produced a little later: the kind is the one the ticket was opened for.
                payload["crisis_kind"] = latest_crisis_kinds(session, [conversation.id],
                                                             transition.created_at).get(conversation.id)
            session.add(OutboxEvent(idempotency_key=payload["id"], event_type=event_type, payload=payload))
            added += 1
        messages_read = _position(session, "messages")
        rows = session.execute(select(Message, Conversation).join(Conversation)
                               .where(Message.id > messages_read.position, Message.status == "for_counsellor")
                               .order_by(Message.id).limit(500)).all()
        for message, conversation in rows:
            messages_read.position = message.id
            payload = {**_base(conversation), "type": "message.created", "id": f"message:{message.id}",
                       "text": message.text, "crisis_kind": (message.payload or {}).get("crisis_kind"),
                       "at": message.created_at.isoformat()}
            session.add(OutboxEvent(idempotency_key=payload["id"], event_type="message.created", payload=payload))
            added += 1
    return added


# -- delivering ----------------------------------------------------------------------------------
def deliver_due(store: Store, settings: Settings, client: httpx.Client) -> int:
    """POST pending events oldest first; stop at the first failure or one not yet due, so the helpdesk
    sees every conversation's events in the order they happened."""
    delivered = 0
    now = datetime.now(UTC)
    with store.session() as session:
        pending = session.scalars(select(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))
                                  .order_by(OutboxEvent.id).limit(BATCH)).all()
    for event in pending:
        due_at = event.next_attempt_at
        if (due_at if due_at.tzinfo else due_at.replace(tzinfo=UTC)) > now:
            break  # the oldest waits for its retry, and the rest wait behind it
        error = _post(settings, client, event)
        with store.session() as session:
            row = session.get(OutboxEvent, event.id)
            if error is None:
                row.delivered_at, row.last_error = datetime.now(UTC), None
                delivered += 1
                continue
            row.attempts += 1
            row.last_error = error
            if row.attempts >= settings.escalation_max_attempts:
                log.error("escalation event %s dead after %d attempts: %s", row.idempotency_key, row.attempts, error)
                session.add(DeadLetter(idempotency_key=row.idempotency_key, event_type=row.event_type,
                                       payload=row.payload, attempts=row.attempts, last_error=error))
                session.delete(row)
            else:
                delay = settings.escalation_retry_base_s * 2 ** (row.attempts - 1)
                row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
                log.warning("escalation event %s attempt %d failed (%s); next in %.1f s",
                            row.idempotency_key, row.attempts, error, delay)
        break
    return delivered


def _post(settings: Settings, client: httpx.Client, event: OutboxEvent) -> str | None:
    body = json.dumps(event.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "Idempotency-Key": event.idempotency_key,
               TIMESTAMP_HEADER: timestamp,
               SIGNATURE_HEADER: sign(settings.escalation_webhook_secret or "", timestamp, body)}
    try:
        response = client.post(settings.escalation_webhook_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"could not reach the helpdesk: {type(exc).__name__}"
    if 200 <= response.status_code < 300:
        return None
    return f"the helpdesk answered {response.status_code}"


async def run_worker(store: Store, settings: Settings, stop: asyncio.Event) -> None:
    """Produce and deliver until `stop` is set (the app's lifespan runs this when a webhook is set)."""
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            try:
                await run_in_threadpool(produce, store)
                await run_in_threadpool(deliver_due, store, settings, client)
            except Exception:  # a broken store or bug must not end the worker for good
                log.exception("escalation webhook worker round failed")
            try:
                await asyncio.wait_for(stop.wait(), settings.escalation_poll_s)
            except TimeoutError:
                pass
