"""Request and response shapes of the web chat API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer

from bot.validation import check_language, check_text
from knowledge.search.api import OfferOut


class WebchatMessageIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={
        "examples": [{"conversation_id": "3f2a9c1e", "text": "Jeg føler mig ensom", "language": "da"}]
    })
    conversation_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                                 description="id the widget chose for this conversation")
    text: str = Field(description="what the citizen wrote (1–2000 characters)")
    language: str | None = Field(default=None, description="da, ar, so, tr, fa or en; detected if absent")
    action: Literal["request_human"] | None = Field(
        default=None, description="a button the citizen pressed instead of writing: 'request_human' asks for a "
                                  "person (crisis words in `text` still come first)")

    _text = field_validator("text")(check_text)
    _language = field_validator("language")(check_language)


class BotMessageOut(BaseModel):
    text: str
    offers: list[OfferOut] | None = None
    quick_replies: list[str] | None = None
    lead: str | None = Field(default=None, description="shorter text to show above `offers` when they are shown "
                                                        "as cards (the cards carry what `text` lists)")
    id: int | None = Field(default=None, description="the stored message's id (for `after=`); null if not stored")
    author: Literal["citizen", "bot", "counsellor", "system"] = "bot"

    @model_serializer(mode="wrap")
    def _omit_absent_parts(self, handler):
        # `offers` and `quick_replies` are left out when a message has none (DESIGN.md marks them
        # optional); an offer's own empty fields stay, as null, so every Offer has the same keys.
        data = handler(self)
        return {key: value for key, value in data.items()
                if value is not None or key not in ("offers", "quick_replies", "lead")}


class WebchatReply(BaseModel):
    conversation_id: str
    language: str
    escalated: bool
    messages: list[BotMessageOut]


class TranscriptMessage(BotMessageOut):
    id: int
    created_at: datetime


class WebchatTranscript(BaseModel):
    conversation_id: str
    language: str
    escalated: bool
    messages: list[TranscriptMessage] = Field(description="oldest first: the citizen's and everything they were "
                                                          "sent (bot, counsellor)")
