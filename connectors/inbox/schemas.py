"""Shapes of the counsellor API."""

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from bot.validation import check_text

CRISIS_KIND = ("what the crisis screen found in the citizen's latest crisis message: suicide | self_harm | overdose | "
               "violence | medical, unspecified (a cry for rescue that names no kind) or classifier (the classifier "
               "caught it; it names no kind)")


class QueueEntry(BaseModel):
    id: int
    language: str
    priority: str = Field(description="urgent | normal")
    state: str = Field(description="queued | human | bot | closed")
    channel: str
    waiting_s: int = Field(description="seconds since the conversation was handed to the counsellors")
    region: str | None = Field(default=None, description="the citizen's region, when the bot searched around "
                                                         "their municipality")
    assigned_to: str | None = None
    crisis_kind: str | None = Field(default=None, description=CRISIS_KIND)


class CounsellorMessage(BaseModel):
    id: int
    author: str = Field(description="citizen | bot | counsellor | system")
    text: str
    language: str
    created_at: datetime
    offers: list[str] | None = Field(default=None, description="ids of the offers the message showed")
    crisis_rule: str | None = None
    crisis_kind: str | None = Field(default=None, description=CRISIS_KIND)
    intent: str | None = Field(default=None, description="what the citizen's message was understood as")
    confidence: float | None = None


class NoteOut(BaseModel):
    id: int
    author: str
    text: str
    created_at: datetime


class ConversationMessages(BaseModel):
    id: int
    language: str
    state: str
    priority: str
    channel: str
    assigned_to: str | None = None
    messages: list[CounsellorMessage]
    notes: list[NoteOut] = Field(default_factory=list, description="internal: never shown to the citizen")


class NoteIn(BaseModel):
    text: str = Field(description="an internal note (1–2000 characters)")

    _text = field_validator("text")(check_text)


class IntentIn(BaseModel):
    intent: str = Field(description="what the citizen's message meant, one of the dialogue's intents")


class ReplyIn(BaseModel):
    text: str = Field(description="what the counsellor writes to the citizen (1–2000 characters)")

    _text = field_validator("text")(check_text)


class ReplyOut(BaseModel):
    id: int
    status: str = Field(description="sent | failed | suppressed (e.g. the citizen wrote STOP)")


class StateOut(BaseModel):
    id: int
    state: str


class AuditOut(BaseModel):
    user: str
    conversation_id: int
    action: str = Field(description="open | claim | reply | handback | close | correct")
    at: datetime
