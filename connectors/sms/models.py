"""What the SMS channel keeps: each delivery (by Twilio's MessageSid) and each sender, pseudonymised."""

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.conversations.models import utcnow
from bot.store.db import Base


class SmsDelivery(Base):
    """One inbound delivery. The unique MessageSid makes a retried webhook a no-op that gets the same reply."""

    __tablename__ = "sms_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    sender: Mapped[str] = mapped_column(String(64), index=True)  # keyed hash of the address, never the number
    # "processing" until the reply is ready, then "answered" (`reply` went back as TwiML) or "sent_later"
    # (the webhook was answered empty and `reply` went through the REST API).
    status: Mapped[str] = mapped_column(String(16), default="processing")
    reply: Mapped[list] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SmsSender(Base):
    """A sender by keyed hash, with the address encrypted (Fernet): what is needed to write to them later."""

    __tablename__ = "sms_senders"

    sender: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | whatsapp
    address_encrypted: Mapped[str] = mapped_column(Text)
    last_inbound_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SmsOutbound(Base):
    """A message sent unasked (a counsellor's reply), claimed by its idempotency key before any attempt."""

    __tablename__ = "sms_outbound"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    sender: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    # sending → queued/sent/delivered/undelivered/failed (Twilio's words) | suppressed (not sent, see error)
    status: Mapped[str] = mapped_column(String(16), default="sending")
    twilio_sid: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
