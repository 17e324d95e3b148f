"""POST /channels/twilio/sms — Twilio's webhook for SMS and WhatsApp, answered with TwiML.

Order of work, so nothing is lost and nothing is done twice:
1. Verify X-Twilio-Signature with twilio's RequestValidator against the public URL (behind a proxy
   the URL Twilio signed is BROBYGGER_PUBLIC_URL, not the one this process sees). Forged → 403.
2. Claim the delivery by its MessageSid (a unique row). A retried or concurrent duplicate finds the
   row and gets the reply the first delivery produced; it is never processed again.
3. Rate limit per sender: past the limit one friendly notice, then silence (protects the budget
   against SMS pumping).
4. The turn (bot.turns): the sender is a keyed hash, the address is stored only encrypted.
5. The reply goes back as TwiML when it is ready within BROBYGGER_SMS_REPLY_BUDGET_S (10 s). Twilio
   waits 15 s at most and drops a later answer, so a slower turn (Rasa loading a new model takes ~20 s)
   is answered with empty TwiML and its reply sent through the REST API (connectors.sms.outbound,
   once per MessageSid) when it is done — when REST credentials are configured; without them the
   webhook waits for the turn.
Phone numbers appear in no log line: senders are logged by the first characters of their hash.
"""

import asyncio
import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.conversations import service
from bot.settings import secret_key
from bot.turns.pipeline import RENDER_CHANNEL, TurnResult, handle_turn, in_background
from connectors.sms.identity import encrypt_address, sender_hash
from connectors.sms.models import SmsDelivery, SmsSender
from connectors.sms.outbound import OutboundSms, record_status

log = logging.getLogger(__name__)
router = APIRouter(tags=["sms"])

WHATSAPP_PREFIX = "whatsapp:"
# How long a duplicate delivery waits for the first one's reply before answering empty (Twilio then
# shows nothing twice; its own timeout is 15 s).
DUPLICATE_WAIT_S = 10.0
# A delivery's status once its reply went back as TwiML, or through the REST API after the webhook was
# answered empty.
ANSWERED, SENT_LATER = "answered", "sent_later"
# One "you are writing a lot" notice per sender per this window; after it, silence.
NOTICE_RATE = "1/10 minutes"


def twiml(texts: list[str]) -> Response:
    reply = MessagingResponse()
    for text in texts:
        reply.message(text)
    return Response(content=str(reply), media_type="application/xml")


def _limiter(request: Request) -> MovingWindowRateLimiter:
    state = request.app.state
    if getattr(state, "sms_limiter", None) is None:
        state.sms_limiter = MovingWindowRateLimiter(MemoryStorage())
    return state.sms_limiter


def _public_url(request: Request) -> str:
    settings = request.app.state.services.settings
    url = settings.app_url.rstrip("/") + request.url.path
    return url + (f"?{request.url.query}" if request.url.query else "")


async def _verified_form(request: Request) -> dict[str, str] | None:
    """The form fields when X-Twilio-Signature is Twilio's for the public URL, else None."""
    settings = request.app.state.services.settings
    form = await request.form()
    params = {key: str(value) for key, value in form.multi_items()}
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.twilio_auth_token
    if not token or not signature or not RequestValidator(token).validate(_public_url(request), params, signature):
        # Logged without any of the request's fields: a forged request may carry a real number.
        log.warning("refused a Twilio webhook call on %s: %s", request.url.path,
                    "no auth token configured" if not token else "missing or wrong X-Twilio-Signature")
        return None
    return params


@router.post("/channels/twilio/status", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def twilio_status(request: Request) -> Response:
    """Twilio's delivery status for a message we sent (connectors.sms.outbound)."""
    params = await _verified_form(request)
    if params is None:
        return Response("invalid signature", status_code=status.HTTP_403_FORBIDDEN)
    sid, state = params.get("MessageSid"), params.get("MessageStatus")
    if not sid or not state:
        return Response("MessageSid and MessageStatus are required", status_code=status.HTTP_400_BAD_REQUEST)
    await run_in_threadpool(record_status, request.app.state.services.store, sid, state, params.get("ErrorCode"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/channels/twilio/sms", response_class=Response,
             responses={200: {"content": {"application/xml": {}}, "description": "TwiML reply"}})
async def twilio_sms(request: Request) -> Response:
    services = request.app.state.services
    settings = services.settings
    params = await _verified_form(request)
    if params is None:
        return Response("invalid signature", status_code=status.HTTP_403_FORBIDDEN)

    message_sid, address = params.get("MessageSid") or params.get("SmsSid"), params.get("From")
    if not message_sid or not address:
        return Response("MessageSid and From are required", status_code=status.HTTP_400_BAD_REQUEST)
    secret = secret_key(settings)
    sender = sender_hash(secret, address)
    channel = "whatsapp" if address.startswith(WHATSAPP_PREFIX) else "sms"

    delivery_id = await run_in_threadpool(_claim, services.store, message_sid, sender)
    if delivery_id is None:
        log.info("duplicate delivery %s from sender %s", message_sid, sender[:10])
        return twiml(await _reply_of(services.store, message_sid))
    await run_in_threadpool(_remember_sender, services.store, sender, channel, encrypt_address(secret, address))

    limiter = _limiter(request)
    if not limiter.hit(parse(settings.sms_rate_limit), "sms", sender):
        texts = []
        if limiter.hit(parse(NOTICE_RATE), "sms-notice", sender):
            language = await run_in_threadpool(_conversation_language, services, channel, sender)
            texts = [services.renderer.render("rate_limited", language, channel=RENDER_CHANNEL[channel]).text]
        log.info("sender %s is over the SMS rate limit", sender[:10])
        await run_in_threadpool(_answered, services.store, delivery_id, texts)
        return twiml(texts)

    text = params.get("Body", "")
    if not text.strip():
        # A picture or file without words, or an empty message: say what works instead of guessing.
        key = "text_only" if _media_count(params) else "how_can_i_help"
        language = await run_in_threadpool(_conversation_language, services, channel, sender)
        texts = [services.renderer.render(key, language, channel=RENDER_CHANNEL[channel]).text]
    else:
        turn = asyncio.ensure_future(handle_turn(services, channel, sender, text[: settings.max_text_chars]))
        # Without REST credentials TwiML is the only way back: then wait for the turn, however long.
        budget = settings.sms_reply_budget_s if OutboundSms.configured(settings) else None
        done, _ = await asyncio.wait({turn}, timeout=budget)
        if not done:
            log.warning("delivery %s: no reply within %.0f s; it follows through the REST API", delivery_id,
                        settings.sms_reply_budget_s)
            in_background(_send_late(services, turn, delivery_id, sender, message_sid))
            return twiml([])
        texts = [message.text for message in turn.result().messages]
    await run_in_threadpool(_answered, services.store, delivery_id, texts)
    return twiml(texts)


async def _send_late(services, turn: "asyncio.Future[TurnResult]", delivery_id: int, sender: str,
                     message_sid: str) -> None:
    """The reply Twilio stopped waiting for, sent through the REST API (each part once)."""
    try:
        texts = [message.text for message in (await turn).messages]
    except Exception:  # the turn's own failure; the citizen's message is stored, counsellors can see it
        log.exception("delivery %s: the turn failed after the webhook was answered", delivery_id)
        return
    outbound = OutboundSms(services.settings, services.store)
    for number, text in enumerate(texts, start=1):
        await run_in_threadpool(outbound.send, sender, text, f"late-reply:{message_sid}:{number}")
    await run_in_threadpool(_answered, services.store, delivery_id, texts, SENT_LATER)


def _media_count(params: dict[str, str]) -> int:
    try:
        return int(params.get("NumMedia") or 0)
    except ValueError:
        return 0


def _claim(store, message_sid: str, sender: str) -> int | None:
    """The new delivery's id, or None when this MessageSid was already received."""
    try:
        with store.session() as session:
            delivery = SmsDelivery(message_sid=message_sid, sender=sender)
            session.add(delivery)
            session.flush()
            return delivery.id
    except IntegrityError:
        return None


async def _reply_of(store, message_sid: str) -> list[str]:
    """The first delivery's reply, waiting a little while it is still being processed."""
    deadline = asyncio.get_running_loop().time() + DUPLICATE_WAIT_S
    while True:
        delivery = await run_in_threadpool(_delivery, store, message_sid)
        if delivery is not None and delivery.status == ANSWERED:
            return list(delivery.reply)
        if delivery is not None and delivery.status == SENT_LATER:
            return []  # the reply went through the REST API; TwiML would send it twice
        if asyncio.get_running_loop().time() > deadline:
            return []
        await asyncio.sleep(0.1)


def _delivery(store, message_sid: str) -> SmsDelivery | None:
    with store.session() as session:
        return session.scalar(select(SmsDelivery).where(SmsDelivery.message_sid == message_sid))


def _answered(store, delivery_id: int, texts: list[str], how: str = ANSWERED) -> None:
    with store.session() as session:
        delivery = session.get(SmsDelivery, delivery_id)
        delivery.reply, delivery.status = texts, how


def _remember_sender(store, sender: str, channel: str, address_encrypted: str) -> None:
    try:
        with store.session() as session:
            known = session.get(SmsSender, sender)
            if known is None:
                session.add(SmsSender(sender=sender, channel=channel, address_encrypted=address_encrypted))
            else:
                known.last_inbound_at = datetime.now(UTC)
    except IntegrityError:  # two first messages at once: the other one added the sender
        with store.session() as session:
            session.get(SmsSender, sender).last_inbound_at = datetime.now(UTC)


def _conversation_language(services, channel: str, sender: str) -> str:
    conversation = service.find(services.store, channel, sender)
    return conversation.language if conversation else services.settings.default_language
