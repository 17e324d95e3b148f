"""Every message key rendered with realistic arguments: what the SMS budget test and benchmark measure.

Offer lists are built from the real catalogue, three offers at a time, as a search would show them
(in the citizen's municipality, from a neighbour or the region, or national), and every offer's
details are rendered. Longer real values (the longest titles and summaries) are included on purpose:
the budget holds for the worst case, not the average.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from babel.messages.pofile import read_po

from bot.conversations.hours import OpeningHours
from bot.i18n.render import LOCALES_DIR, RenderedMessage, Renderer
from knowledge.catalogue import Catalogue

# Keys that are parts of other messages, never sent on their own.
FRAGMENTS = frozenset({
    "offer_line", "offer_speaks_language", "offer_contact", "offers_next_steps", "offers_none_in_place",
    "offer_where_place", "offer_where_national", "offer_demo", "offer_address", "offer_hours",
    "offer_cost_free", "offer_cost_paid", "offers_found", "choice_seek_support", "choice_request_human",
    "choice_help", "choice_more_results", "choice_choose_language", "choice_yes", "choice_no",
})
# Messages composed in code from fragments, with no text of their own in the catalogues.
COMPOSED = ("offer_list", "offer_card")
TIERS = ("municipality", "neighbour", "region", "national")
PLACES = ("Lemvig", "Høje-Taastrup", "Ringkøbing-Skjern", "Odense")


@dataclass(frozen=True)
class Sample:
    key: str
    label: str  # which arguments, for reports
    message: RenderedMessage


def message_keys() -> list[str]:
    with (LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return [m.id if isinstance(m.id, str) else m.id[0] for m in read_po(po) if m.id]


# The web chat page's own texts (buttons, labels: connectors/webchat/page.py), never sent as messages.
PAGE_TEXT_PREFIX = "web_"


def sent_keys() -> list[str]:
    return [key for key in message_keys()
            if key not in FRAGMENTS and not key.startswith(PAGE_TEXT_PREFIX)] + list(COMPOSED)


def samples(renderer: Renderer, catalogue: Catalogue, language: str, channel: str) -> Iterator[Sample]:
    offers = sorted(catalogue, key=lambda offer: offer.id)
    cards = [offer.card(language) for offer in offers]
    for key in sent_keys():
        for label, args in _arguments(key, cards, language):
            yield Sample(key, label, renderer.render(key, language, args, channel))


def _arguments(key: str, cards: list[dict], language: str) -> Iterator[tuple[str, dict]]:
    if key == "offer_list":
        # Every offer appears in some list; the longest summaries are listed together too.
        longest = sorted(cards, key=lambda c: len(c["title"]) + len(c["summary"]) + len(c["contact"] or ""))[-3:]
        groups = [cards[i:i + 3] for i in range(0, len(cards), 3)] + [longest]
        for index, group in enumerate(groups):
            place = PLACES[index % len(PLACES)]
            tiered = [{**card, "tier": TIERS[(index + n) % len(TIERS)], "place": "Region Midtjylland"}
                      for n, card in enumerate(group)]
            yield f"list {index} around {place}", {"offers": tiered, "start": 1 + 3 * (index % 3),
                                                   "municipality": place}
            yield f"list {index} national", {"offers": group, "start": 1, "municipality": None}
    elif key in ("offer_details", "offer_card"):
        for card in cards:
            yield f"{key} {card['id']}", {"offer": card}
    elif key == "offer_send_which":
        yield "three shown", {"count": 3}
    elif key == "place_which":
        yield "shared name", {"name": "Nørre Snede", "options": ["Ikast-Brande", "Hedensted", "Silkeborg"]}
    elif key == "municipality_noted":
        yield "long name", {"municipality": "Ringkøbing-Skjern"}
    elif key == "fallback_suggest":
        yield "two suggestions", {"suggestions": ["seek_support", "choose_language"], "text": "x"}
        yield "help and more", {"suggestions": ["help", "more_results"], "text": "x"}
    elif key == "language_menu":
        yield "all languages", {}
    elif key == "human_handoff_closed":
        for weekday in range(7):  # each weekday's name, as the action writes it
            opens = datetime(2026, 11, 23 + weekday, 9, 0, tzinfo=UTC)
            yield f"opens {opens:%A}", {"opens": OpeningHours.describe(opens, language)}
    else:
        yield "plain", {"days": 180, "date": date(2026, 11, 23)}
