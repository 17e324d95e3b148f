"""Turns message keys (from Rasa responses and actions) into text in the conversation's language.

Texts live in gettext catalogues bot/locales/<lang>/LC_MESSAGES/messages.po; translators work in
ordinary .po tooling. Babel supplies plural rules, list and date formatting and language names.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from bot import SUPPORTED_LANGUAGES
from bot.i18n import bidi, sms
from nlu.keywords import answer_key

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def compile_catalogues(locales_dir: Path = LOCALES_DIR) -> None:
    """Compile .po to .mo where the .mo is missing or older (setup does this too; .mo is not committed)."""
    for po_path in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        tmp.replace(mo_path)


@dataclass
class RenderedMessage:
    text: str
    offers: list[dict] | None = None
    quick_replies: list[str] | None = None
    key: str | None = None
    # Answers this message invites, by nlu.keywords.answer_key -> {"intent", "text"?}: a quick reply,
    # "1"/"2", or a keyword it tells the citizen to write. The turn pipeline reads them back from the
    # stored message when the next citizen message arrives, so that answer needs no model.
    choices: dict[str, dict] | None = None
    # What kind of answer the message asks for ("place"), so a short answer is read as one.
    expects: str | None = None
    # The text to show above the offers when a client shows them as cards (the web chat): the list's
    # first and last lines, since the cards carry each offer. Clients without cards show `text`.
    lead: str | None = None


class _SafeArgs(dict):
    """Leaves unknown {placeholders} visible instead of raising, so one bad argument can't drop a reply."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# Intents a "did you mean …?" may offer, in the order used to fill up to two suggestions.
SUGGESTIBLE_INTENTS = ("seek_support", "request_human", "help", "more_results", "choose_language")
# From this many words on, an unsure read always offers "find help for this" (a sentence is most often a need).
NEED_WORDS = 3


@dataclass(frozen=True)
class ListLimits:
    """One step of shortening an offer list for SMS, tried in order until it fits the budget.

    Summaries go first (None: in full; 0: left out), then deep links, then the description in a title.
    """

    summary: int | None = None
    web_host_only: bool = False  # a deep link becomes its site ("halsnaes.dk"), which the citizen can open
    name_only: bool = False  # "Røgfri Sammen – support to quit smoking" becomes "Røgfri Sammen"
    title: int | None = None
    where: bool = True  # "(in Holstebro)" after the title


SMS_LIST_LIMITS = (
    ListLimits(),
    ListLimits(summary=100),
    ListLimits(summary=70, web_host_only=True),
    ListLimits(summary=45, web_host_only=True),
    ListLimits(summary=25, web_host_only=True),
    ListLimits(summary=0, web_host_only=True),
    ListLimits(summary=0, web_host_only=True, name_only=True),
    ListLimits(summary=0, web_host_only=True, name_only=True, title=40),
    ListLimits(summary=0, web_host_only=True, name_only=True, title=30, where=False),
)
# Where an offer's name ends and its description begins, in catalogue titles.
_TITLE_SEPARATORS = (" – ", " - ", ": ")


@dataclass(frozen=True)
class DetailLimits:
    """One step of shortening an offer's details for SMS (None: in full; 0: left out)."""

    summary: int | None = None
    hours: int | None = None
    how_to_join: int | None = None
    web_host_only: bool = False  # a deep link becomes its site ("halsnaes.dk"), which the citizen can open


SMS_DETAIL_LIMITS = (
    DetailLimits(),
    DetailLimits(summary=100, hours=60),
    DetailLimits(summary=60, hours=40, web_host_only=True),
    DetailLimits(summary=0, hours=40, how_to_join=100, web_host_only=True),
    DetailLimits(summary=0, hours=0, how_to_join=60, web_host_only=True),
    DetailLimits(summary=0, hours=0, how_to_join=30, web_host_only=True),
)


@dataclass
class Renderer:
    locales_dir: Path = LOCALES_DIR
    defaults: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        compile_catalogues(self.locales_dir)
        self._translations = {
            lang: Translations.load(str(self.locales_dir), locales=[lang], domain=DOMAIN)
            for lang in SUPPORTED_LANGUAGES
        }

    # -- primitives -------------------------------------------------------------------------------
    def text(self, key: str, language: str, /, **args: Any) -> str:
        translated = self._translations[language].gettext(key)
        if translated == key and language != "en":
            translated = self._translations["en"].gettext(key)
        return translated.format_map(_SafeArgs({**self.defaults, **args}))

    def plural(self, key: str, plural_key: str, count: int, language: str, /, **args: Any) -> str:
        translated = self._translations[language].ngettext(key, plural_key, count)
        return translated.format_map(_SafeArgs({**self.defaults, **args, "count": count}))

    def language_name(self, code: str, in_language: str) -> str:
        return Locale.parse(in_language).languages.get(code, code)

    def own_language_names(self) -> list[str]:
        """Each supported language in its own script: the menu a citizen recognises."""
        return [Locale.parse(code).get_language_name(code) for code in SUPPORTED_LANGUAGES]

    def date(self, value: date, language: str) -> str:
        return format_date(value, format="long", locale=language)

    # -- message keys -----------------------------------------------------------------------------
    def render(self, key: str, language: str, args: dict[str, Any] | None = None,
               channel: str = "web") -> RenderedMessage:
        """One message in the language, shaped for the channel ("web" or "sms").

        SMS gets plain text that fits the language's segment budget (bot.i18n.sms): offer summaries are
        shortened until it fits. Arabic and Farsi get direction marks (bot.i18n.bidi) on every channel.
        """
        args = dict(args or {})
        composite = getattr(self, f"_render_{key}", None)
        if composite is None:
            message = RenderedMessage(text=self.text(key, language, **args), key=key)
        else:
            message = composite(language, args, channel)
        message.text = self._finish(message.text, language, channel)
        if message.lead is not None:
            message.lead = self._finish(message.lead, language, channel)
        return message

    def _finish(self, text: str, language: str, channel: str) -> str:
        text = bidi.protect(text, language)
        return sms.for_sms(text, language) if channel == "sms" else text

    def _fitted(self, build: Callable[[Any], str], language: str, channel: str, steps: tuple) -> str:
        """`build(step)` with the first (fullest) step whose SMS fits the budget; web gets the first."""
        if channel != "sms":
            return build(steps[0])
        for step in steps:
            text = build(step)
            if sms.cost(self._finish(text, language, channel)).segments <= sms.budget(language):
                return text
        return text

    def _choice_label(self, intent: str, language: str) -> str:
        return self.text(f"choice_{intent}", language)

    def _render_privacy_notice(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        # Other languages as buttons in their own script; by SMS, the language keyword it names opens the
        # menu (nlu.keywords).
        names = self.own_language_names()
        choices = {answer_key(name): {"intent": "choose_language", "text": name} for name in names}
        return RenderedMessage(text=self.text("privacy_notice", language, **args), key="privacy_notice",
                               quick_replies=[n for n, code in zip(names, SUPPORTED_LANGUAGES, strict=True)
                                              if code != language],
                               choices=choices)

    def _render_ask_municipality(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        return self._place_question("ask_municipality", language, args)

    def _render_place_unknown(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        return self._place_question("place_unknown", language, args)

    def _place_question(self, key: str, language: str, args: dict[str, Any]) -> RenderedMessage:
        # "No" means: search all of Denmark (validate_search_form reads it as deny).
        no = answer_key(self.text("choice_no", language))
        return RenderedMessage(text=self.text(key, language, **args), key=key, expects="place",
                               choices={no: {"intent": "deny"}})

    def _render_offer_list(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        offers: list[dict] = args.get("offers", [])
        start = int(args.get("start", 1))
        # Searched around a municipality: say when nothing is in it, and where each other offer is
        # ("nothing in Lemvig, here is one in Holstebro"). Without one, every offer is national.
        municipality = args.get("municipality")

        if municipality and start == 1 and offers and not any(o.get("tier") == "municipality" for o in offers):
            first = self.text("offers_none_in_place", language, municipality=municipality)
        else:
            first = self.plural("offers_found", "offers_found_plural", len(offers), language)
        last = self.text("offers_next_steps", language)

        def build(limits: ListLimits) -> str:
            lines = [first]
            for number, offer in enumerate(offers, start=start):
                lines.append(self._offer_line(offer, number, municipality, language, limits))
            lines.append(last)
            return "\n".join(lines)

        # Each card keeps its number in the list, so "2" and card 2 are the same offer.
        cards = [{**offer, "number": number} for number, offer in enumerate(offers, start=start)]
        return RenderedMessage(text=self._fitted(build, language, channel, SMS_LIST_LIMITS), offers=cards,
                               key="offer_list", lead=f"{first}\n{last}")

    def _offer_line(self, offer: dict, number: int, municipality: str | None, language: str,
                    limits: ListLimits) -> str:
        title = offer["title"]
        if limits.name_only:
            for separator in _TITLE_SEPARATORS:
                title = title.split(separator)[0]
        title = shorten(title, limits.title)
        where = municipality if limits.where else None
        if where and offer.get("tier") in ("neighbour", "region") and offer.get("place"):
            title += f" ({self.text('offer_where_place', language, place=offer['place'])})"
        elif where and offer.get("tier") == "national":
            title += f" ({self.text('offer_where_national', language)})"
        summary = shorten(offer["summary"], limits.summary)
        if summary:
            line = self.text("offer_line", language, number=number, title=title, summary=summary)
        else:
            line = f"{number}. {title}"
        if offer.get("demo"):
            line += " " + self.text("offer_demo", language)
        if offer.get("contact"):
            line += "\n" + self._contact_line(offer, language, limits.web_host_only)
        # Every offer is in Danish; saying so matters only to someone writing in another language.
        if language != "da" and language in offer.get("languages", []):
            line += " " + self.text("offer_speaks_language", language,
                                    language=self.language_name(language, language))
        return line

    def _render_offer_details(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        offer = args["offer"]
        verified = offer.get("last_verified")
        cost = {"free": "offer_cost_free", "paid": "offer_cost_paid"}.get(offer.get("cost") or "")

        def build(limits: DetailLimits) -> str:
            text = self.text(
                "offer_details",
                language,
                title=self._title_with_notice(offer, language),
                summary=shorten(offer["summary"], limits.summary),
                address=self._address_line(offer, language),
                hours=self._hours_line(offer, language, limits.hours),
                cost=self.text(cost, language) if cost else "",
                how_to_join=shorten(offer.get("how_to_join") or "", limits.how_to_join) or "-",
                contact=self._contact_line(offer, language, limits.web_host_only),
                last_verified=self.date(date.fromisoformat(verified), language) if verified else "-",
            )
            return "\n".join(row for row in text.splitlines() if row.strip())

        return RenderedMessage(text=self._fitted(build, language, channel, SMS_DETAIL_LIMITS), offers=[offer],
                               key="offer_details")

    def _render_offer_card(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        """One offer to keep or forward: name, contact, address, hours; no more than one message costs."""
        offer = args["offer"]

        def build(limits: DetailLimits) -> str:
            lines = [self._title_with_notice(offer, language),
                     self._contact_line(offer, language, limits.web_host_only),
                     self._address_line(offer, language),
                     self._hours_line(offer, language, limits.hours)]
            return "\n".join(line for line in lines if line)

        return RenderedMessage(text=self._fitted(build, language, channel, SMS_DETAIL_LIMITS), offers=[offer],
                               key="offer_card")

    # -- an offer's facts, each a whole line or "" when unknown (list, details, card) ----------------
    def _title_with_notice(self, offer: dict, language: str) -> str:
        return offer["title"] + (" " + self.text("offer_demo", language) if offer.get("demo") else "")

    def _contact_line(self, offer: dict, language: str, web_host_only: bool = False) -> str:
        contact = offer.get("contact") or ""
        if contact and web_host_only:
            contact = web_host(contact)
        return self.text("offer_contact", language, contact=contact) if contact else ""

    def _address_line(self, offer: dict, language: str) -> str:
        address = offer.get("address")
        return self.text("offer_address", language, address=address) if address else ""

    def _hours_line(self, offer: dict, language: str, limit: int | None) -> str:
        hours = shorten(offer.get("hours") or "", limit)
        return self.text("offer_hours", language, hours=hours) if hours else ""

    def _render_offer_send_which(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        # "Which one?" — the answer "2" sends offer 2 (not its details, which a bare number means elsewhere).
        count = int(args.get("count", 0))
        numbers = [str(n) for n in range(1, count + 1)]
        return RenderedMessage(text=self.text("offer_send_which", language), key="offer_send_which",
                               quick_replies=numbers[:3] if count <= 3 else None,
                               choices={n: {"intent": "send_offer", "text": n} for n in numbers})

    def _render_place_which(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        options = list(args.get("options", []))
        text = self.text("place_which", language, name=args.get("name", ""),
                         options=format_list(options, style="or", locale=language))
        return RenderedMessage(text=text, quick_replies=options, key="place_which",
                               choices={answer_key(o): {"intent": "inform_location", "text": o} for o in options})

    def _render_language_menu(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        names = self.own_language_names()
        text = self.text("language_menu", language, languages=format_list(names, locale=language))
        return RenderedMessage(text=text, quick_replies=names, key="language_menu",
                               choices={answer_key(n): {"intent": "choose_language", "text": n} for n in names})

    def _render_fallback_suggest(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        """First "not understood": the two likeliest meanings as numbered choices."""
        said = args.get("text") or ""
        suggestions = [i for i in args.get("suggestions", []) if i in SUGGESTIBLE_INTENTS]
        if len(said.split()) >= NEED_WORDS and "seek_support" not in suggestions[:2]:
            # A sentence the model was unsure of is most often a need in the citizen's own words: "find
            # help for this" is then always one of the two choices, next to the model's likeliest guess.
            suggestions = [*suggestions[:1], "seek_support"]
        for intent in SUGGESTIBLE_INTENTS:
            if len(suggestions) >= 2:
                break
            if intent not in suggestions:
                suggestions.append(intent)
        labels = [self._choice_label(intent, language) for intent in suggestions[:2]]
        choices: dict[str, dict] = {}
        for number, (intent, label) in enumerate(zip(suggestions[:2], labels, strict=True), start=1):
            # "Find help for that" searches for what the citizen wrote, not for the button's words.
            choice = {"intent": intent, "text": said} if intent == "seek_support" and said else {"intent": intent}
            choices[str(number)] = choice
            choices[answer_key(label)] = choice
        text = self.text("fallback_suggest", language, first=labels[0], second=labels[1])
        return RenderedMessage(text=text, quick_replies=labels, key="fallback_suggest", choices=choices)

    def _render_fallback_offer_human(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        label = self._choice_label("request_human", language)
        return RenderedMessage(text=self.text("fallback_offer_human", language), quick_replies=[label],
                               key="fallback_offer_human",
                               choices={answer_key(label): {"intent": "request_human"},
                                        "1": {"intent": "request_human"}})

    def _render_feedback_ask(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        # The text asks for "1" (yes) or "2" (no); the yes/no buttons mean the same.
        message = self._yes_no_question("feedback_ask", language)
        message.choices.update({"1": {"intent": "affirm"}, "2": {"intent": "deny"}})
        return message

    def _render_delete_data_ask(self, language: str, args: dict[str, Any], channel: str) -> RenderedMessage:
        return self._yes_no_question("delete_data_ask", language)

    def _yes_no_question(self, key: str, language: str) -> RenderedMessage:
        yes, no = self.text("choice_yes", language), self.text("choice_no", language)
        return RenderedMessage(text=self.text(key, language), quick_replies=[yes, no], key=key,
                               choices={answer_key(yes): {"intent": "affirm"}, answer_key(no): {"intent": "deny"}})

def web_host(contact: str) -> str:
    """A web address reduced to its site ("https://halsnaes.dk/borger/…" → "halsnaes.dk"); else as it is."""
    if contact.startswith(("http://", "https://")):
        host = urlsplit(contact).hostname or contact
        return host.removeprefix("www.")
    return contact


def shorten(text: str, limit: int | None) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with "…" when cut (0: nothing)."""
    if limit is None or len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1]
    if not text[limit - 1].isspace():  # the cut is inside a word: drop that word
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-–") + "…"
