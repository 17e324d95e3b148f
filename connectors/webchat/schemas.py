"""Request and response shapes of the web chat API."""

from pydantic import BaseModel, ConfigDict, Field, field_validator

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

    _text = field_validator("text")(check_text)
    _language = field_validator("language")(check_language)


class BotMessageOut(BaseModel):
    text: str
    offers: list[OfferOut] | None = None
    quick_replies: list[str] | None = None


class WebchatReply(BaseModel):
    conversation_id: str
    language: str
    escalated: bool
    messages: list[BotMessageOut]
