"""Conversation and message tables."""

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.store.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_conversation_channel_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    # Web chat: the widget's conversation id. SMS: a keyed hash of the phone number, never the number.
    external_id: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    # bot -> queued -> human -> bot | closed (the escalation feature drives this).
    state: Mapped[str] = mapped_column(String(16), default="bot")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    messages: Mapped[list["Message"]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", order_by="Message.id"
    )

    @property
    def engine_sender_id(self) -> str:
        """The id the dialogue engine knows this conversation by (no personal data in it)."""
        return f"c{self.id}"


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))  # "in" (citizen) or "out" (bot or counsellor)
    author: Mapped[str] = mapped_column(String(16))  # citizen | bot | counsellor | system
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    # "received" is committed before processing; "processed", "failed" or (while counsellors have the
    # conversation) "for_counsellor" afterwards.
    status: Mapped[str] = mapped_column(String(16), default="received")
    payload: Mapped[dict | None] = mapped_column(JSON, default=None)  # message key, offers, quick replies
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Feedback(Base):
    """A citizen's answer to "did the offers help?" (1 yes / 2 no), kept per conversation."""

    __tablename__ = "conversation_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    helped: Mapped[bool] = mapped_column(Boolean)
    offer_ids: Mapped[list] = mapped_column(JSON, default=list)  # the offers the answer is about
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Transition(Base):
    """One change of a conversation's state (bot, queued, human, closed): who, when and why."""

    __tablename__ = "conversation_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))  # citizen | bot | system | user:<id>
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConversationPlace(Base):
    """Where the citizen said they live (the municipality the bot searched around), for routing."""

    __tablename__ = "conversation_places"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"),
                                                 primary_key=True)
    municipality: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
