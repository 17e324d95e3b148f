"""Actions that find and show offers."""

import re

from bot.actions.context import ActionContext
from bot.engine.actions import ActionResult
from nlu.normalise import fold

PAGE_SIZE = 3
_NUMBER = re.compile(r"(?<!\d)(\d{1,2})(?!\d)")
# Ordinals people write instead of digits ("the first one"), folded; the NLU issue extends these.
_ORDINALS = {
    1: ("first", "foerste", "forste", "1st", "awal", "koowaad", "birinci", "ilk", "اول", "الاول", "اولی", "نخست"),
    2: ("second", "anden", "andet", "2nd", "labaad", "ikinci", "ثانی", "الثانی", "دوم"),
    3: ("third", "tredje", "3rd", "saddexaad", "ucuncu", "ثالث", "الثالث", "سوم"),
}


async def search_offers(ctx: ActionContext) -> ActionResult:
    result = ActionResult()
    intent = ctx.intent
    text = ctx.text
    place = ctx.services.gazetteer.find(text)
    municipality = place.name if place else ctx.slot("municipality")
    if place:
        result.set_slot("municipality", place.name)

    need = text if intent == "seek_support" else ctx.slot("last_need")
    if need is None:
        # Only a place so far: acknowledge it and ask for the need.
        if place:
            result.say("municipality_noted", municipality=place.name)
        return result.say("how_can_i_help")
    result.set_slot("last_need", need)

    if municipality is None and not ctx.slot("municipality_asked"):
        # Ask once; a citizen who doesn't answer with a place still gets national offers next time.
        result.set_slot("municipality_asked", True)
        return result.say("ask_municipality")

    hits = await ctx.search(need, municipality, offset=0)
    if not hits:
        return result.set_slot("offer_ids", []).set_slot("offers_shown", 0).say("no_offers")
    result.set_slot("offer_ids", [hit["id"] for hit in hits]).set_slot("offers_shown", len(hits))
    return result.say("offer_list", offers=hits, start=1)


async def more_offers(ctx: ActionContext) -> ActionResult:
    result = ActionResult()
    need = ctx.slot("last_need")
    if not need:
        return result.say("how_can_i_help")
    shown = int(ctx.slot("offers_shown") or 0)
    hits = await ctx.search(need, ctx.slot("municipality"), offset=shown)
    if not hits:
        return result.say("no_more_offers")
    ids = list(ctx.slot("offer_ids") or []) + [hit["id"] for hit in hits]
    result.set_slot("offer_ids", ids).set_slot("offers_shown", shown + len(hits))
    return result.say("offer_list", offers=hits, start=shown + 1)


def offer_number(text: str) -> int | None:
    folded = fold(text)
    match = _NUMBER.search(folded)
    if match:
        return int(match.group(1))
    tokens = set(re.findall(r"\w+", folded))
    for number, names in _ORDINALS.items():
        if tokens & {fold(name) for name in names}:
            return number
    return None


async def offer_details(ctx: ActionContext) -> ActionResult:
    result = ActionResult()
    ids = list(ctx.slot("offer_ids") or [])
    number = offer_number(ctx.text)
    if number is None and len(ids) == 1:
        number = 1
    if number is None or not 1 <= number <= len(ids):
        return result.say("offer_details_which")
    offer = ctx.services.catalogue.get(ids[number - 1])
    if offer is None:  # the catalogue changed since the list was shown
        return result.say("offer_details_which")
    return result.say("offer_details", offer=offer.card(ctx.language))
