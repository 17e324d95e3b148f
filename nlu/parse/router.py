"""POST /api/nlu/parse — what the bot understands from a text (administrators only)."""

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, field_validator

from bot.engine.client import EngineError
from bot.users.auth import require_role
from bot.validation import check_language, check_text
from nlu.intent_decision import bars_for, decide, load_thresholds
from nlu.language import choose_language
from nlu.normalise import clean
from nlu.numbers import LAST, offer_number

# Rasa's /model/parse carries no language, so the per-language bars the engine applies in a
# conversation are applied here, from the same thresholds.json (defaults as in config.yml).
DEFAULT_BARS = {"threshold": 0.45, "ambiguity": 0.1}

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
    crisis = await run_in_threadpool(services.crisis_screen.check, text)  # rules, then the classifier
    try:
        result = await services.engine.parse(text)
    except EngineError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the dialogue engine is not available") from exc
    bars = bars_for(language, load_thresholds(), DEFAULT_BARS["threshold"], DEFAULT_BARS["ambiguity"])
    raw = result.get("intent_ranking") or ([result["intent"]] if result.get("intent") else [])
    intent, ranking = decide(raw, *bars)
    gibberish = crisis is None and services.gibberish.is_gibberish(text)
    if gibberish:
        intent = {"name": "nlu_fallback", "confidence": 1.0}
    return {
        "language": language,
        "language_confidence": round(guess.confidence, 4),
        "intent": {"name": intent.get("name"), "confidence": intent.get("confidence")},
        "intent_ranking": [{"name": r.get("name"), "confidence": r.get("confidence")} for r in ranking[:5]],
        "entities": [*result.get("entities", []), *_app_entities(services, text)],
        "crisis": crisis is not None,
        "crisis_rule": crisis.rule_id if crisis else None,
        "gibberish": gibberish,
    }


def _app_entities(services, text: str) -> list[dict]:
    """Places (gazetteer) and offer numbers, found by the app rather than the model."""
    found = []
    place = services.gazetteer.match(text)
    if place:
        found.append({"entity": "municipality", "value": place.municipality.name if place.municipality else None,
                      "text": place.text, "extractor": f"gazetteer:{place.how}",
                      "candidates": [m.name for m in place.candidates]})
    number = offer_number(text)
    if number is not None:
        found.append({"entity": "offer_number", "value": "last" if number == LAST else number, "extractor": "numbers"})
    return found
