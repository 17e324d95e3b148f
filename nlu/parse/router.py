"""POST /api/nlu/parse — what the bot understands from a text (administrators only)."""

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field, field_validator

from bot.engine.client import EngineError
from bot.users.auth import require_role
from bot.validation import check_language, check_text
from nlu.language import choose_language
from nlu.normalise import clean

router = APIRouter(tags=["nlu"])


class ParseIn(BaseModel):
    text: str = Field(max_length=2000)
    language: str | None = None
    _text = field_validator("text")(check_text)
    _language = field_validator("language")(check_language)


@router.post("/api/nlu/parse", dependencies=[Depends(require_role("admin"))])
async def parse(body: ParseIn, request: Request) -> dict:
    services = request.app.state.services
    text = clean(body.text)
    guess = services.language_identifier.identify(text)
    language = body.language or choose_language(guess, None, services.settings.default_language)
    crisis = services.crisis_rules.check(text)
    try:
        result = await services.engine.parse(text)
    except EngineError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the dialogue engine is not available") from exc
    intent = result.get("intent") or {}
    return {
        "language": language,
        "language_confidence": round(guess.confidence, 4),
        "intent": {"name": intent.get("name"), "confidence": intent.get("confidence")},
        "entities": result.get("entities", []),
        "crisis": crisis is not None or intent.get("name") == "crisis",
        "crisis_rule": crisis.rule_id if crisis else None,
    }
