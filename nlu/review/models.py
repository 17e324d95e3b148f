"""The understanding log: one row per citizen message, which is also the review queue's item.

Pseudonymised on the way in: the conversation is a keyed hash (the same message can still be found
for a counsellor's correction or a deletion request, but not read back to a person), and phone
numbers, e-mail addresses and CPR numbers in the text are masked (nlu.review.redact).
"""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.conversations.models import utcnow
from bot.store.db import Base

# A row's life in the queue: logged (nothing suspicious) → open (a reason to look) → labelled | noise.
LOGGED, OPEN, LABELLED, NOISE = "logged", "open", "labelled", "noise"


class Understanding(Base):
    __tablename__ = "nlu_log"
    __table_args__ = (Index("ix_nlu_log_status_language", "status", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    conversation_key: Mapped[str] = mapped_column(String(64), index=True)
    # The stored message it describes (no foreign key: the log outlives nothing, but must not block
    # deleting a conversation either; it is deleted by conversation_key).
    message_id: Mapped[int | None] = mapped_column(Integer, index=True)
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    ranking: Mapped[list | None] = mapped_column(JSON, default=None)
    entities: Mapped[list | None] = mapped_column(JSON, default=None)
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16))  # model | rule | crisis rules
    status: Mapped[str] = mapped_column(String(16), default=LOGGED)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    suggested_intent: Mapped[str | None] = mapped_column(String(64))  # a counsellor's correction
    label_intent: Mapped[str | None] = mapped_column(String(64))
    label_language: Mapped[str | None] = mapped_column(String(8))
    redacted: Mapped[bool] = mapped_column(Boolean, default=False)
    refusal: Mapped[str | None] = mapped_column(Text)  # why the last label was not written
    reviewed_by: Mapped[int | None] = mapped_column(Integer)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
