"""Actions about the conversation itself: a person, a crisis, the language, deleting data."""

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from bot import SUPPORTED_LANGUAGES
from bot.actions.context import ActionContext
from bot.conversations import service
from bot.conversations.hours import OpeningHours, availability, schedules_for
from bot.engine.actions import ActionResult, crisis_reply_keys
from bot.users.service import team_languages
from nlu.normalise import fold
from nlu.review import service as review

# Ways citizens name a language (folded). The NLU issue turns this into an entity.
LANGUAGE_NAMES: dict[str, tuple[str, ...]] = {
    "da": ("dansk", "danish", "danca", "danimarkaca", "daanish", "af deenish", "الدنماركیه", "دانمارکی", "دانمارکی"),
    "ar": ("arabic", "arabisk", "arapca", "carabi", "af carabi", "عربی", "العربیه", "عربیه"),
    "so": ("somali", "somalisk", "somalice", "soomaali", "af soomaali", "الصومالیه", "سومالیایی"),
    "tr": ("turkish", "tyrkisk", "turkce", "turkish", "turki", "التركیه", "ترکی"),
    "fa": ("farsi", "persian", "persisk", "farsca", "dari", "فارسی", "دری", "الفارسیه"),
    "en": ("english", "engelsk", "ingilizce", "ingiriis", "الانجلیزیه", "الانکلیزیه", "انگلیسی"),
}


def requested_language(text: str) -> str | None:
    folded = fold(text)
    for code, names in LANGUAGE_NAMES.items():
        if any(fold(name) in folded for name in names):
            return code
    return None


# Counsellors have the conversation from here: the engine stops predicting until the hand-back
# resumes it (bot.turns.pipeline.resume_engine); the app does not send it messages meanwhile either.
PAUSE = {"event": "pause"}


async def handoff(ctx: ActionContext) -> ActionResult:
    await run_in_threadpool(service.escalate, ctx.services.store, ctx.conversation_id, "normal", "request_human")
    settings = ctx.services.settings
    teams = await run_in_threadpool(team_languages, ctx.services.store) if settings.team_hours else {}
    schedules = schedules_for(settings.team_hours, settings.counsellor_hours, teams, ctx.language)
    now = availability(schedules, datetime.now(UTC))
    if now.open_now or now.opens is None:
        result = ActionResult().say("human_handoff")
    else:
        # Still queued: the answer comes when counsellors are back; until then the emergency number.
        result = ActionResult().say("human_handoff_closed", opens=OpeningHours.describe(now.opens, ctx.language))
    result.events.append(PAUSE)
    return result


async def crisis(ctx: ActionContext) -> ActionResult:
    await run_in_threadpool(service.escalate, ctx.services.store, ctx.conversation_id, "urgent", "crisis")
    result = ActionResult()
    for key in crisis_reply_keys(ctx.crisis_kind):
        result.say(key)
    result.events.append(PAUSE)
    return result


async def choose_language(ctx: ActionContext) -> ActionResult:
    code = requested_language(ctx.text)
    if code is None or code not in SUPPORTED_LANGUAGES:
        return ActionResult().say("language_menu")
    await run_in_threadpool(service.set_language, ctx.services.store, ctx.conversation_id, code)
    # Rendered by the app in the conversation's (new) language.
    return ActionResult().say("language_changed")


async def delete_data(ctx: ActionContext) -> ActionResult:
    # The app erases its store and the engine's tracker after the turn (see bot.turns), so the
    # confirmation itself is not kept either.
    result = ActionResult()
    result.responses.append({"custom": {"key": "delete_data_done", "args": {}, "effects": ["erase_conversation"]}})
    return result


# Turns the dialogue counts as not understood. out_of_scope is understood ("I can only help with…")
# but still a turn in which the citizen got nothing, so it counts toward offering a person.
NOT_UNDERSTOOD = ("nlu_fallback", "out_of_scope")
# After this many not-understood turns in a row, a counsellor is offered.
OFFER_HUMAN_AFTER = 3


def not_understood_in_a_row(ctx: ActionContext) -> int:
    count = 0
    for event in reversed(ctx.call.tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent not in NOT_UNDERSTOOD:
            break
        count += 1
    return max(count, 1)


async def fallback(ctx: ActionContext) -> ActionResult:
    """Two-stage fallback: first the two likeliest meanings, then "say it otherwise", then a person."""
    in_a_row = not_understood_in_a_row(ctx)
    if in_a_row >= OFFER_HUMAN_AFTER:
        return ActionResult().say("fallback_offer_human")
    if ctx.intent == "out_of_scope":
        return ActionResult().say("out_of_scope")
    if in_a_row == 1:
        ranking = ctx.call.tracker.latest_message.model_extra.get("intent_ranking") or []
        likely = [item.get("name") for item in ranking if isinstance(item, dict)]
        return ActionResult().say("fallback_suggest", suggestions=likely, text=ctx.text)
    return ActionResult().say("fallback")


async def thank(ctx: ActionContext) -> ActionResult:
    """"Thanks" after offers were shown is the moment to ask whether they helped (once)."""
    if ctx.slot("offer_ids") and not ctx.slot("feedback_asked"):
        return ActionResult().set_slot("feedback_asked", True).say("feedback_ask")
    return ActionResult().say("you_are_welcome")


async def feedback(ctx: ActionContext) -> ActionResult:
    """The answer to "did the offers help?", stored with the offers it is about."""
    if not ctx.slot("feedback_asked") or ctx.slot("feedback_given"):
        return ActionResult().say("how_can_i_help")
    helped = ctx.intent == "affirm"
    await run_in_threadpool(service.record_feedback, ctx.services.store, ctx.conversation_id, helped,
                            list(ctx.slot("offer_ids") or []), ctx.language)
    if not helped:
        # Perhaps the need was misread: the message that led to the offers goes to the review queue.
        await run_in_threadpool(review.flag_latest, ctx.services.store,
                                service.log_key(ctx.services.settings, ctx.conversation_id), "negative_feedback",
                                ("seek_support",))
    return ActionResult().set_slot("feedback_given", True).say(
        "feedback_thanks_yes" if helped else "feedback_thanks_no")
