"""The turn pipeline. Channels call `handle_turn`; it never raises for engine trouble.

Steps, in order: normalise → crisis rules → conversation + language → answers that need no model →
crisis classifier (free text only) → persist inbound (committed) → engine → render → persist outbound.
A crisis found by the rules or the classifier is answered and escalated even when the engine is down.

Some messages need no model, and the engine gets their intent decided: an answer the previous reply
asked for ("1", a button's text; its `choices`), a keyword our texts name (STOP, PERSON, MORE; see
nlu.keywords), a short answer to "where do you live?" (→ `inform_location`), gibberish
(nlu.gibberish → `nlu_fallback`) and a bare list number (→ `offer_details`).

The first reply of a conversation carries the privacy notice, once (after erasure, once more).

While counsellors have the conversation (state queued or human) the bot is silent: the message is
stored for them and the engine (paused by the hand-off) is not asked. Only safety, STOP and deletion
are still answered: a crisis gets the emergency reply and raises the priority, STOP confirms and
closes, and the delete word ends the hand-off so the bot's delete flow runs.
A closed conversation reopens to the bot when the citizen writes again.
"""

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from bot.conversations import service
from bot.engine.actions import CRISIS_REPLIES, crisis_reply_keys, turn_metadata
from bot.engine.client import EngineError, escape_for_engine
from bot.engine.trackers import erase_tracker
from bot.i18n.render import RenderedMessage
from bot.services import Services
from nlu.crisis import CrisisMatch
from nlu.crisis.screen import CLASSIFIER_ID
from nlu.keywords import answer_key, keyword_intent
from nlu.language import choose_language
from nlu.normalise import clean
from nlu.numbers import is_bare_number
from nlu.review import service as review

log = logging.getLogger(__name__)

TECHNICAL_PROBLEM = {"custom": {"key": "technical_problem"}}
OPT_OUT_CONFIRM = {"custom": {"key": "opt_out_confirm"}}
# Answers to "where do you live?" up to this many words are read as a place, not by the model.
PLACE_ANSWER_MAX_WORDS = 2
# How each channel is rendered (bot.i18n.render): SMS gets plain text within its segment budget.
RENDER_CHANNEL = {"sms": "sms", "whatsapp": "web", "webchat": "web"}


@dataclass
class TurnResult:
    conversation_id: int
    language: str
    escalated: bool
    messages: list[RenderedMessage] = field(default_factory=list)
    engine_ok: bool = True
    message_ids: list[int] = field(default_factory=list)  # the stored id of each message, same order


# What a channel's own button may ask for without words ("talk to a person" in the web chat).
REQUESTABLE_INTENTS = ("request_human",)


async def handle_turn(services: Services, channel: str, external_id: str, text: str,
                      language: str | None = None, requested: str | None = None) -> TurnResult:
    text = clean(text)
    settings = services.settings
    crisis = services.crisis_screen.rules_match(text)
    guess = services.language_identifier.identify(text)
    conversation = await run_in_threadpool(
        service.get_or_create, services.store, channel, external_id,
        language or choose_language(guess, None, settings.default_language),
    )
    # The answers the previous bot turn invited (its messages' choices), read before this message is stored.
    replies = await run_in_threadpool(service.last_replies, services.store, conversation.id)
    offered: dict[str, dict] = {}
    expected: set[str] = set()
    for reply in replies:
        offered.update((reply.payload or {}).get("choices") or {})
        expected.add((reply.payload or {}).get("expects"))
    first_contact = not replies and await run_in_threadpool(
        service.last_outbound, services.store, conversation.id) is None
    place_answer = "place" in expected and len(text.split()) <= PLACE_ANSWER_MAX_WORDS
    # A place name ("Vester Klumpby", "Aarhus") says nothing about the citizen's language.
    turn_language = language or (conversation.language if place_answer else
                                 choose_language(guess, conversation.language, settings.default_language))
    if turn_language != conversation.language:
        await run_in_threadpool(service.set_language, services.store, conversation.id, turn_language)

    forced, forced_text = _decided_intent(services, text, offered, place_answer, crisis is not None)
    if forced is None and conversation.state not in service.WITH_COUNSELLORS:
        # Free text, for the model to read: the crisis classifier reads it first, for the crises the
        # rules miss. An answer the bot asked for ("2", a button, STOP, a place) is taken as that answer,
        # and a counsellor reads every message of a hand-off (the rules still answer a crisis there).
        try:
            crisis = await run_in_threadpool(services.crisis_screen.classifier_match, text)
        except Exception:  # noqa: BLE001 - the rules have screened it; the message must still be kept
            log.exception("crisis classifier failed; the rules alone screened this message")
        if crisis:
            forced = "crisis"

    # Persisted (committed) before anything else can fail: nothing a citizen writes is lost.
    inbound = await run_in_threadpool(
        service.add_message, services.store, conversation.id, "in", "citizen", text, turn_language,
        "received", {"crisis_rule": crisis.rule_id, "crisis_kind": crisis.category} if crisis else None,
    )

    if requested in REQUESTABLE_INTENTS and crisis is None:
        forced, forced_text = requested, None
    if forced == "delete_data" and conversation.state in service.WITH_COUNSELLORS:
        # The right to deletion does not wait for a counsellor: the hand-off ends, and the bot's usual
        # "delete everything? yes/no" follows.
        closed = await run_in_threadpool(service.transition, services.store, conversation.id, "closed",
                                         "citizen", "asked to delete their data")
        conversation = closed or conversation
    if conversation.state == "closed":
        reopened = await run_in_threadpool(service.transition, services.store, conversation.id, "bot",
                                           "citizen", "wrote again")
        if reopened is not None:
            conversation = reopened
            await resume_engine(services, conversation.engine_sender_id)
    engine_ok = True
    # A crisis written while waiting is answered here and kept for the counsellors like every other message
    # then, so an external helpdesk hears of it too.
    final_status = "for_counsellor" if conversation.state in service.WITH_COUNSELLORS else None
    if conversation.state in service.WITH_COUNSELLORS:
        if forced not in ("crisis", "opt_out"):
            # Kept for the counsellors (an escalation connector forwards messages with this status).
            await run_in_threadpool(service.set_message_status, services.store, inbound.id, "for_counsellor")
            return TurnResult(conversation.id, conversation.language, True)
        raw_messages = _crisis_replies(crisis) if forced == "crisis" else [OPT_OUT_CONFIRM]
        if forced == "opt_out":
            await run_in_threadpool(service.transition, services.store, conversation.id, "closed", "citizen",
                                    "opt_out")
    else:
        metadata = turn_metadata(turn_language, crisis.category if crisis else None)
        if forced:
            # A forced intent replaces the text in the engine; actions read the citizen's words here.
            metadata["text"] = forced_text or text
        try:
            raw_messages = await services.engine.turn(conversation.engine_sender_id, text, metadata, intent=forced)
        except EngineError as exc:
            engine_ok = False
            log.warning("turn failed for conversation %s: %s", conversation.id, exc)
            # STOP must work even when the engine does not: the confirmation is what opts the citizen out.
            raw_messages = [OPT_OUT_CONFIRM if forced == "opt_out" else TECHNICAL_PROBLEM]
    said = Said(conversation.id, inbound.id, channel, turn_language, text)
    if forced:
        understood = {"intent": forced, "confidence": 1.0, "source": _source(crisis)}
        await run_in_threadpool(service.add_to_payload, services.store, inbound.id, nlu=understood)
        # Awaited (not in the background): a "yes, delete" must be in the log before the erasure below.
        await _log_understanding(services, said, understood)
    elif engine_ok and conversation.state not in service.WITH_COUNSELLORS:
        # What the model understood, for counsellors and the review queue; read off the reply's path.
        in_background(_record_understanding(services, conversation.engine_sender_id, said))
    if crisis and (conversation.state in service.WITH_COUNSELLORS
                   or not any(_key(raw) in CRISIS_REPLIES for raw in raw_messages)):
        # Safety does not depend on the engine: answer and escalate (urgent) here.
        await run_in_threadpool(service.escalate, services.store, conversation.id, "urgent", "crisis")
        raw_messages = _crisis_replies(crisis)

    # Actions may have changed the conversation (language switch, escalation): read it again.
    conversation = await run_in_threadpool(service.by_engine_sender, services.store, conversation.engine_sender_id)
    assert conversation is not None
    render_channel = RENDER_CHANNEL.get(channel, "web")
    rendered, effects = _render_all(services, raw_messages, conversation.language, render_channel)
    if first_contact and "erase_conversation" not in effects:
        _add_privacy_notice(services, rendered, conversation.language, render_channel, crisis=crisis is not None)

    stored_ids = []
    for message in rendered:
        stored = await run_in_threadpool(
            service.add_message, services.store, conversation.id, "out", "bot", message.text,
            conversation.language, "sent", _payload(message),
        )
        stored_ids.append(stored.id)
    await run_in_threadpool(service.set_message_status, services.store, inbound.id,
                            final_status or ("processed" if engine_ok else "failed"))

    if "erase_conversation" in effects:
        await _erase(services, conversation.id, conversation.engine_sender_id)

    return TurnResult(conversation.id, conversation.language, conversation.state in ("queued", "human"),
                      rendered, engine_ok, stored_ids)


_background: set[asyncio.Task] = set()


def in_background(work) -> asyncio.Task:
    """Run a coroutine after the reply, held until it is done."""
    task = asyncio.create_task(work)
    _background.add(task)  # a task nobody holds may be collected before it runs
    task.add_done_callback(_background.discard)
    return task


@dataclass(frozen=True)
class Said:
    """A citizen's message as the understanding log needs it."""

    conversation_id: int
    message_id: int
    channel: str
    language: str
    text: str


async def _record_understanding(services: Services, sender_id: str, said: Said) -> None:
    message_id = said.message_id
    try:
        parse = await services.engine.latest_parse(sender_id)
    except EngineError as exc:
        log.info("could not read what was understood of message %s: %s", message_id, exc)
        return
    if escape_for_engine(said.text) != parse.get("text"):
        return  # the citizen's next message got there first; this one's parse is gone
    intent = parse.get("intent") or {}
    understood = {
        "intent": intent.get("name"),
        "confidence": round(float(intent.get("confidence") or 0.0), 3),
        "ranking": [{"intent": r.get("name"), "confidence": round(float(r.get("confidence") or 0.0), 3)}
                    for r in (parse.get("intent_ranking") or [])[:3]],
        "entities": [{"entity": e.get("entity"), "value": e.get("value")} for e in parse.get("entities") or []],
        "source": "model",
    }
    await run_in_threadpool(service.add_to_payload, services.store, message_id, nlu=understood)
    await _log_understanding(services, said, understood)


async def _log_understanding(services: Services, said: Said, understood: dict) -> None:
    """Into the pseudonymised understanding log (nlu.review), which queues what deserves review."""
    try:
        await run_in_threadpool(
            review.log, services.store, conversation_key=service.log_key(services.settings, said.conversation_id),
            message_id=said.message_id, channel=said.channel, language=said.language, text=said.text,
            understood=understood)
    except SQLAlchemyError as exc:
        # The citizen has their answer; only the log line is missing.
        log.error("could not log the understanding of message %s: %s", said.message_id, exc)


async def resume_engine(services: Services, sender_id: str) -> None:
    """Let the engine answer again after counsellors had the conversation (the hand-off paused it)."""
    try:
        await services.engine.append_events(sender_id, [{"event": "resume"},
                                                        {"event": "action", "name": "action_listen"}])
    except EngineError as exc:
        # The next turn would be ignored by a paused tracker; say so where an operator looks.
        log.error("could not resume the engine for %s: %s", sender_id, exc)


def _crisis_replies(crisis: CrisisMatch | None) -> list[dict]:
    """The emergency reply for what the screen found and what follows it (the engine's action chooses the same way)."""
    return [{"custom": {"key": key}} for key in crisis_reply_keys(crisis.category if crisis else None)]


def _source(crisis: CrisisMatch | None) -> str:
    if crisis is None:
        return "rule"
    return "crisis classifier" if crisis.rule_id == CLASSIFIER_ID else "crisis rules"


def _decided_intent(services: Services, text: str, offered: dict[str, dict], place_answer: bool,
                    crisis: bool) -> tuple[str | None, str | None]:
    """The intent when no model should guess it, and the text actions should see (see module doc)."""
    if crisis:
        return "crisis", None
    choice = offered.get(answer_key(text))
    if isinstance(choice, dict) and choice.get("intent"):
        return choice["intent"], choice.get("text")
    keyword = keyword_intent(text)
    if keyword:
        return keyword, None
    if place_answer:
        # "Where do you live?" — "Tølløse", "Sankt Blomby". The model's guess at one or two unknown
        # words is noise (measured: an unknown town name read as crisis, greet or thanks with
        # confidence ≥ 0.93), so the search form judges the answer as a place; crisis words are
        # caught by the crisis rules above, whatever the context.
        return "inform_location", None
    if services.gibberish.is_gibberish(text):
        return "nlu_fallback", None
    if is_bare_number(text):
        # "2" (or "٢", "۲") after a list means "tell me about number 2"; no model needs to guess that.
        return "offer_details", None
    return None, None


def _add_privacy_notice(services: Services, rendered: list[RenderedMessage], language: str, channel: str,
                        crisis: bool) -> None:
    """What is kept and how to stop, on first contact: after a greeting, else before the answer.

    After an emergency reply it comes last, so nothing stands between the citizen and 112.
    """
    notice = services.renderer.render("privacy_notice", language, channel=channel)
    if rendered and rendered[0].key == "welcome":
        rendered.insert(1, notice)
    elif crisis:
        rendered.append(notice)
    else:
        rendered.insert(0, notice)


def _key(raw: dict) -> str | None:
    custom = raw.get("custom")
    return custom.get("key") if isinstance(custom, dict) else None


def _render_all(services: Services, raw_messages: list[dict], language: str,
                channel: str) -> tuple[list[RenderedMessage], set[str]]:
    rendered: list[RenderedMessage] = []
    effects: set[str] = set()
    for raw in raw_messages:
        custom = raw.get("custom") if isinstance(raw.get("custom"), dict) else None
        if custom and isinstance(custom.get("key"), str):
            try:
                message = services.renderer.render(custom["key"], language, custom.get("args") or {}, channel)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("could not render message key %r: %s", custom.get("key"), exc)
                message = services.renderer.render("technical_problem", language, channel=channel)
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
        rendered.append(services.renderer.render("technical_problem", language, channel=channel))
    return rendered, effects


def _payload(message: RenderedMessage) -> dict:
    payload: dict = {"key": message.key}
    if message.offers:
        payload["offer_ids"] = [offer["id"] for offer in message.offers]
        # The cards as the citizen saw them, so a reloaded web chat shows the same offers.
        payload["offers"] = message.offers
        if message.lead:
            payload["lead"] = message.lead
    if message.quick_replies:
        payload["quick_replies"] = message.quick_replies
    if message.choices:
        payload["choices"] = message.choices
    if message.expects:
        payload["expects"] = message.expects
    return payload


async def _erase(services: Services, conversation_id: int, sender_id: str) -> None:
    await run_in_threadpool(service.erase, services.store, conversation_id)
    await run_in_threadpool(review.forget, services.store, service.log_key(services.settings, conversation_id))
    try:
        await run_in_threadpool(erase_tracker, services.settings.rasa_tracker_db, sender_id)
    except SQLAlchemyError as exc:
        # The app's copy is gone; the engine's events are left, and this line tells an operator to act.
        log.error("could not erase engine tracker for conversation %s: %s", conversation_id, exc)
