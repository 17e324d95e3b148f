"""Messages that are not an immediate reply (a counsellor's answer, "a counsellor will answer"), sent
with the real twilio REST client.

Never twice: each message is claimed by an idempotency key (a unique row) before the first attempt, and
a second `send` with the same key returns the first outcome. Retries with exponential backoff only
where Twilio cannot have accepted the message: an HTTP 5xx answer or a connection that could not be
made. A timeout after sending is not retried (the message may have gone out); a 4xx fails at once.
Nothing is sent to a citizen who wrote STOP, nor on WhatsApp outside its 24-hour reply window.
Delivery statuses come back on /channels/twilio/status (connectors.sms.router) and are recorded here.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from requests.exceptions import ConnectionError as NetworkError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from bot.conversations import service
from bot.i18n import sms
from bot.settings import Settings, secret_key
from bot.store.db import Store
from connectors.sms.identity import decrypt_address
from connectors.sms.models import SmsOutbound, SmsSender

log = logging.getLogger(__name__)
# The twilio client logs each request at INFO; keep it to warnings so no request detail reaches the logs.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

WHATSAPP_WINDOW = timedelta(hours=24)
RETRY_DELAYS_S = (0.5, 1.0, 2.0)  # after the 1st, 2nd and 3rd failed attempt


@dataclass(frozen=True)
class SendResult:
    status: str
    twilio_sid: str | None = None
    error: str | None = None


class OutboundSms:
    def __init__(self, settings: Settings, store: Store, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings, self.store, self.sleep = settings, store, sleep

    @staticmethod
    def configured(settings: Settings) -> bool:
        """Whether messages can be sent unasked: an account and a sender (number or Messaging Service)."""
        return bool(settings.twilio_account_sid and settings.twilio_auth_token
                    and (settings.twilio_from_number or settings.twilio_messaging_service_sid))

    def _client(self) -> Client:
        client = Client(self.settings.twilio_account_sid, self.settings.twilio_auth_token)
        if self.settings.twilio_api_base_url:
            client.api.base_url = self.settings.twilio_api_base_url
        return client

    def send(self, sender: str, text: str, key: str) -> SendResult:
        """Send `text` to the sender (keyed hash) once for `key`, whatever happens to earlier calls."""
        claimed = self._claim(sender, text, key)
        if claimed is None:
            return self._outcome(key)
        with self.store.session() as session:
            contact = session.get(SmsSender, sender)
        reason = self._reason_not_to_send(sender, contact)
        if reason:
            log.info("outbound %s to sender %s not sent: %s", claimed, sender[:10], reason)
            return self._finish(claimed, "suppressed", None, reason, attempts=0)
        address = decrypt_address(secret_key(self.settings), contact.address_encrypted)
        origin = ({"messaging_service_sid": self.settings.twilio_messaging_service_sid}
                  if self.settings.twilio_messaging_service_sid else {"from_": self.settings.twilio_from_number})
        callback = self.settings.app_url.rstrip("/") + "/channels/twilio/status"
        attempts = 0
        while True:
            attempts += 1
            try:
                message = self._client().messages.create(to=address, body=text, status_callback=callback, **origin)
            except TwilioRestException as exc:
                error = f"Twilio answered {exc.status}: {exc.code or ''} {exc.msg or ''}".strip()
                if exc.status < 500 or attempts > len(RETRY_DELAYS_S):
                    return self._finish(claimed, "failed", None, error, attempts)
            except NetworkError as exc:
                error = f"could not reach Twilio: {type(exc).__name__}"
                if attempts > len(RETRY_DELAYS_S):
                    return self._finish(claimed, "failed", None, error, attempts)
            else:
                return self._finish(claimed, message.status or "queued", message.sid, None, attempts)
            log.warning("outbound %s attempt %d failed (%s); retrying", claimed, attempts, error)
            self.sleep(RETRY_DELAYS_S[attempts - 1])

    def send_text(self, sender: str, text: str, key: str, language: str) -> list[SendResult]:
        """A message of any length (a counsellor's answer). By SMS it goes in parts cut after sentences,
        each within the language's segment budget and claimed under its own key, so a repeated call
        sends only the parts that have not gone; WhatsApp has no segments and takes it whole."""
        with self.store.session() as session:
            contact = session.get(SmsSender, sender)
        if contact is not None and contact.channel == "whatsapp":
            parts = [text.strip()]
        else:
            parts = sms.split(sms.for_sms(text, language), language)
        results = []
        for number, part in enumerate(parts, start=1):
            result = self.send(sender, part, key if len(parts) == 1 else f"{key}:{number}/{len(parts)}")
            results.append(result)
            if result.status in ("failed", "suppressed"):
                break  # the rest would arrive without its beginning
        return results

    def _reason_not_to_send(self, sender: str, contact: SmsSender | None) -> str | None:
        if contact is None:
            return "unknown sender"
        conversation = service.find(self.store, contact.channel, sender)
        if conversation is not None and service.opted_out(self.store, conversation.id):
            return "the citizen wrote STOP"
        last = contact.last_inbound_at if contact.last_inbound_at.tzinfo else contact.last_inbound_at.replace(
            tzinfo=UTC)
        if contact.channel == "whatsapp" and datetime.now(UTC) - last > WHATSAPP_WINDOW:
            return "outside WhatsApp's 24-hour reply window (the citizen must write first)"
        return None

    def _claim(self, sender: str, text: str, key: str) -> int | None:
        try:
            with self.store.session() as session:
                row = SmsOutbound(idempotency_key=key, sender=sender, body=text)
                session.add(row)
                session.flush()
                return row.id
        except IntegrityError:
            return None

    def _outcome(self, key: str) -> SendResult:
        with self.store.session() as session:
            row = session.scalar(select(SmsOutbound).where(SmsOutbound.idempotency_key == key))
        return SendResult(row.status, row.twilio_sid, row.error)

    def _finish(self, row_id: int, status: str, sid: str | None, error: str | None, attempts: int) -> SendResult:
        with self.store.session() as session:
            row = session.get(SmsOutbound, row_id)
            row.status, row.twilio_sid, row.error, row.attempts = status, sid, error, attempts
        return SendResult(status, sid, error)


def record_status(store: Store, twilio_sid: str, status: str, error_code: str | None) -> bool:
    """A delivery status from Twilio's callback; False when the message is not ours."""
    with store.session() as session:
        row = session.scalar(select(SmsOutbound).where(SmsOutbound.twilio_sid == twilio_sid))
        if row is None:
            return False
        row.status = status
        if error_code:
            row.error = f"Twilio error {error_code}"
        return True
