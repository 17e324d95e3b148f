"""Actions that find and show offers."""

from starlette.concurrency import run_in_threadpool

from bot.actions.context import ActionContext
from bot.conversations import service
from bot.engine.actions import ActionResult
from nlu.numbers import LAST, offer_number

PAGE_SIZE = 3
# The municipality slot's value when the citizen would rather search the whole country.
WHOLE_COUNTRY = "*"
# Unrecognised answers to "where do you live?" before the search goes ahead nationally.
MAX_PLACE_ATTEMPTS = 2


def _municipality(ctx: ActionContext) -> str | None:
    value = ctx.slot("municipality")
    return None if value in (None, WHOLE_COUNTRY) else value


def _form_just_ended(ctx: ActionContext) -> bool:
    """True when the search form has just collected the place (the need came in an earlier message)."""
    for event in reversed(ctx.call.tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name") is None:
            return True
    return False


async def search_offers(ctx: ActionContext) -> ActionResult:
    """Search for the need around the municipality, or ask where the citizen lives (once).

    Every path sets place_needed: the rules start the search form on True and listen on False.
    """
    result = ActionResult()
    if _form_just_ended(ctx):
        # validate_search_form has resolved the place and said so; the need is the one remembered.
        need, municipality = ctx.slot("last_need"), _municipality(ctx)
    else:
        text = ctx.text
        place = ctx.services.gazetteer.find(text)
        municipality = place.name if place else _municipality(ctx)
        if place:
            result.set_slot("municipality", place.name)
        need = text if ctx.intent == "seek_support" else ctx.slot("last_need")
        if need is None:
            # Only a place so far: acknowledge it and ask for the need.
            if place:
                result.say("municipality_noted", municipality=place.name)
            return result.set_slot("place_needed", False).say("how_can_i_help")
        result.set_slot("last_need", need)
        if municipality is None and ctx.slot("municipality") is None and not ctx.slot("municipality_asked"):
            # Ask once, through the search form; whatever the answer, the search follows.
            # The rules start the search form when this slot is set (bot/data/rules.yml).
            return result.set_slot("municipality_asked", True).set_slot("place_attempts", 0).set_slot(
                "place_needed", True)

    result.set_slot("place_needed", False)
    known = ctx.services.gazetteer.municipalities.get(municipality or "")
    if known is not None:
        # Counsellors in the citizen's region see the conversation earlier if it is handed to them.
        await run_in_threadpool(service.set_place, ctx.services.store, ctx.conversation_id, known.name, known.region)
    hits = await ctx.search(need, municipality, offset=0, limit=PAGE_SIZE)
    if not hits:
        return result.set_slot("offer_ids", []).set_slot("offers_shown", 0).say("no_offers")
    result.set_slot("offer_ids", [hit["id"] for hit in hits]).set_slot("offers_shown", len(hits))
    return result.say("offer_list", offers=hits, start=1, municipality=municipality)


async def more_offers(ctx: ActionContext) -> ActionResult:
    result = ActionResult()
    need = ctx.slot("last_need")
    if not need:
        return result.say("how_can_i_help")
    shown = int(ctx.slot("offers_shown") or 0)
    hits = await ctx.search(need, _municipality(ctx), offset=shown, limit=PAGE_SIZE)
    if not hits:
        return result.say("no_more_offers")
    ids = list(ctx.slot("offer_ids") or []) + [hit["id"] for hit in hits]
    result.set_slot("offer_ids", ids).set_slot("offers_shown", shown + len(hits))
    return result.say("offer_list", offers=hits, start=shown + 1, municipality=_municipality(ctx))


def _chosen_offer_id(ctx: ActionContext, default: str | None = None) -> str | None:
    """The offer the citizen means: a number ("2", "the last one"), else `default`, else the only one."""
    ids = list(ctx.slot("offer_ids") or [])
    number = offer_number(ctx.text)
    if number == LAST and ids:
        number = len(ids)
    if number is not None:
        return ids[number - 1] if 1 <= number <= len(ids) else None
    if default:
        return default
    return ids[0] if len(ids) == 1 else None


async def offer_details(ctx: ActionContext) -> ActionResult:
    result = ActionResult()
    offer_id = _chosen_offer_id(ctx)
    offer = ctx.services.catalogue.get(offer_id) if offer_id else None
    if offer is None:  # no number, or the catalogue changed since the list was shown
        return result.say("offer_details_which")
    return result.set_slot("offer_detailed", offer.id).say("offer_details", offer=offer.card(ctx.language))


async def send_offer(ctx: ActionContext) -> ActionResult:
    """One offer as a message to keep or forward: name, contact, address, hours (one SMS)."""
    result = ActionResult()
    shown = len(ctx.slot("offer_ids") or [])
    offer_id = _chosen_offer_id(ctx, default=ctx.slot("offer_detailed"))
    offer = ctx.services.catalogue.get(offer_id) if offer_id else None
    if offer is None:
        if not shown:
            return result.say("how_can_i_help")
        return result.say("offer_send_which", count=shown)
    return result.say("offer_card", offer=offer.card(ctx.language))


async def validate_search_form(ctx: ActionContext) -> ActionResult:
    """Resolve the citizen's answer to "where do you live?" to a municipality (or the whole country)."""
    result = ActionResult()
    if ctx.slot_candidate("municipality") is None:
        return result
    answer = ctx.text  # the citizen's words (the slot holds "/intent" when the app decided the intent)
    found = ctx.services.gazetteer.match(answer)
    if found and found.municipality:
        return result.set_slot("municipality", found.municipality.name).say(
            "municipality_noted", municipality=found.municipality.name)
    if ctx.intent == "deny":
        return result.set_slot("municipality", WHOLE_COUNTRY).say("place_whole_country")
    if ctx.intent == "seek_support":
        # A new need instead of a place: search for that, nationally, rather than insist.
        return result.set_slot("last_need", answer).set_slot("municipality", WHOLE_COUNTRY).say(
            "place_whole_country")
    result.set_slot("municipality", None)
    if found:  # a name several municipalities share
        return result.say("place_which", name=answer.strip(), options=[m.name for m in found.candidates])
    attempts = int(ctx.slot("place_attempts") or 0) + 1
    if attempts >= MAX_PLACE_ATTEMPTS:
        return result.set_slot("place_attempts", attempts).set_slot("municipality", WHOLE_COUNTRY).say(
            "place_whole_country")
    return result.set_slot("place_attempts", attempts).say("place_unknown")
