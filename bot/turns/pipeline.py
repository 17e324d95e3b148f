"""The turn pipeline. Channels call `handle_turn`; it never raises for engine trouble.

Steps, in order: normalise → crisis rules → conversation + language → persist inbound (committed)
→ engine → render → persist outbound. A crisis found by the rules is answered and escalated even when
the engine is down. Gibberish (nlu.gibberish) reaches the engine as `nlu_fallback`, so no model
guesses an intent for keyboard mashing.
"""

import logging
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

from bot.conversations import service
from bot.engine.actions import turn_metadata
from bot.engine.client import EngineError
from bot.i18n.render import RenderedMessage
from bot.services import Services
from nlu.language import choose_language
from nlu.normalise import clean
from nlu.numbers import is_bare_number

log = logging.getLogger(__name__)

TECHNICAL_PROBLEM = {"custom": {"key": "technical_problem"}}
CRISIS_REPLY = {"custom": {"key": "crisis"}}


@dataclass
class TurnResult:
    conversation_id: int
    language: str
    escalated: bool
    messages: list[RenderedMessage] = field(default_factory=list)
    engine_ok: bool = True


async def handle_turn(services: Services, channel: str, external_id: str, text: str,
                      language: str | None = None) -> TurnResult:
    text = clean(text)
    settings = services.settings
    crisis = services.crisis_rules.check(text)
    guess = services.language_identifier.identify(text)
    conversation = await run_in_threadpool(
        service.get_or_create, services.store, channel, external_id,
        language or choose_language(guess, None, settings.default_language),
    )
    turn_language = language or choose_language(guess, conversation.language, settings.default_language)
    if turn_language != conversation.language:
        await run_in_threadpool(service.set_language, services.store, conversation.id, turn_language)

    # Persisted (committed) before anything else can fail: nothing a citizen writes is lost.
    inbound = await run_in_threadpool(
        service.add_message, services.store, conversation.id, "in", "citizen", text, turn_language,
        "received", {"crisis_rule": crisis.rule_id} if crisis else None,
    )

    forced = "crisis" if crisis else ("nlu_fallback" if services.gibberish.is_gibberish(text) else None)
    if forced is None and is_bare_number(text):
        # "2" (or "٢", "۲") after a list means "tell me about number 2"; no model needs to guess that.
        forced = "offer_details"
    metadata = turn_metadata(turn_language)
    if forced:
        metadata["text"] = text  # a forced intent replaces the text in the engine; actions read it here
    engine_ok = True
    try:
        raw_messages = await services.engine.turn(conversation.engine_sender_id, text, metadata, intent=forced)
    except EngineError as exc:
        engine_ok = False
        log.warning("turn failed for conversation %s: %s", conversation.id, exc)
        raw_messages = [TECHNICAL_PROBLEM]
    if crisis and not any(_key(raw) == "crisis" for raw in raw_messages):
        # Safety does not depend on the engine: answer and escalate here.
        await run_in_threadpool(service.escalate, services.store, conversation.id, "urgent", "crisis")
        raw_messages = [CRISIS_REPLY]

    # Actions may have changed the conversation (language switch, escalation): read it again.
    conversation = await run_in_threadpool(service.by_engine_sender, services.store, conversation.engine_sender_id)
    assert conversation is not None
    rendered, effects = _render_all(services, raw_messages, conversation.language)

    for message in rendered:
        await run_in_threadpool(
            service.add_message, services.store, conversation.id, "out", "bot", message.text,
            conversation.language, "sent", _payload(message),
        )
    await run_in_threadpool(service.set_message_status, services.store, inbound.id,
                            "processed" if engine_ok else "failed")

    if "erase_conversation" in effects:
        await _erase(services, conversation.id, conversation.engine_sender_id)

    return TurnResult(conversation.id, conversation.language, conversation.state in ("queued", "human"),
                      rendered, engine_ok)


def _key(raw: dict) -> str | None:
    custom = raw.get("custom")
    return custom.get("key") if isinstance(custom, dict) else None


def _render_all(services: Services, raw_messages: list[dict], language: str) -> tuple[list[RenderedMessage], set[str]]:
    rendered: list[RenderedMessage] = []
    effects: set[str] = set()
    for raw in raw_messages:
        custom = raw.get("custom") if isinstance(raw.get("custom"), dict) else None
        if custom and isinstance(custom.get("key"), str):
            try:
                message = services.renderer.render(custom["key"], language, custom.get("args") or {})
            except (KeyError, TypeError, ValueError) as exc:
                log.error("could not render message key %r: %s", custom.get("key"), exc)
                message = services.renderer.render("technical_problem", language)
            effects.update(custom.get("effects") or [])
        elif isinstance(raw.get("text"), str):
            # Texts should come as keys; a plain text means a domain response was written wrongly.
            log.warning("engine sent plain text instead of a message key")
            message = RenderedMessage(text=raw["text"])
        else:
            continue
        buttons = raw.get("buttons") or []
        if buttons:
            message.quick_replies = [str(button.get("title", "")) for button in buttons if button.get("title")]
        rendered.append(message)
    if not rendered:
        rendered.append(services.renderer.render("technical_problem", language))
    return rendered, effects


def _payload(message: RenderedMessage) -> dict:
    payload: dict = {"key": message.key}
    if message.offers:
        payload["offer_ids"] = [offer["id"] for offer in message.offers]
    if message.quick_replies:
        payload["quick_replies"] = message.quick_replies
    return payload


async def _erase(services: Services, conversation_id: int, sender_id: str) -> None:
    await run_in_threadpool(service.erase, services.store, conversation_id)
    try:
        await services.engine.replace_events(sender_id, [])
    except EngineError as exc:
        # The app's copy is gone; the engine's tracker expires with the retention job.
        log.error("could not erase engine tracker for conversation %s: %s", conversation_id, exc)
