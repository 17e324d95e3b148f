"""The webhook connector's outbox, dead letters, read positions and seen inbound events."""

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.conversations.models import utcnow
from bot.store.db import Base


class _Event:
    """What an outbox event and a dead letter both hold (a mixin: each has its own table)."""

    # "transition:<id>" or "message:<id>": producing an event twice stores it once.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxEvent(_Event, Base):
    """An event for the helpdesk, kept until it is delivered (or moved to the dead letters)."""

    __tablename__ = "escalation_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None, index=True)


class DeadLetter(_Event, Base):
    """An event the helpdesk never accepted after every retry: for an operator to look at and resend."""

    __tablename__ = "escalation_dead_letters"

    id: Mapped[int] = mapped_column(primary_key=True)


class Cursor(Base):
    """How far the producer has read the store (the last transition and message it turned into events)."""

    __tablename__ = "escalation_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class InboundEvent(Base):
    """A helpdesk event already applied (its id), so a retried delivery changes nothing."""

    __tablename__ = "escalation_inbound"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
