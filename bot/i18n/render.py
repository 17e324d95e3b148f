"""Turns message keys (from Rasa responses and actions) into text in the conversation's language.

Texts live in gettext catalogues bot/locales/<lang>/LC_MESSAGES/messages.po; translators work in
ordinary .po tooling. Babel supplies plural rules, list and date formatting and language names.
"""

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from bot import SUPPORTED_LANGUAGES

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


class _SafeArgs(dict):
    """Leaves unknown {placeholders} visible instead of raising, so one bad argument can't drop a reply."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


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
    def render(self, key: str, language: str, args: dict[str, Any] | None = None) -> RenderedMessage:
        args = dict(args or {})
        composite = getattr(self, f"_render_{key}", None)
        if composite is not None:
            return composite(language, args)
        return RenderedMessage(text=self.text(key, language, **args), key=key)

    def _render_offer_list(self, language: str, args: dict[str, Any]) -> RenderedMessage:
        offers: list[dict] = args.get("offers", [])
        start = int(args.get("start", 1))
        # Searched around a municipality: say when nothing is in it, and where each other offer is
        # ("nothing in Lemvig, here is one in Holstebro"). Without one, every offer is national.
        municipality = args.get("municipality")
        if municipality and start == 1 and offers and not any(o.get("tier") == "municipality" for o in offers):
            lines = [self.text("offers_none_in_place", language, municipality=municipality)]
        else:
            lines = [self.plural("offers_found", "offers_found_plural", len(offers), language)]
        for number, offer in enumerate(offers, start=start):
            title = offer["title"]
            if municipality and offer.get("tier") in ("neighbour", "region") and offer.get("place"):
                title += f" ({self.text('offer_where_place', language, place=offer['place'])})"
            elif municipality and offer.get("tier") == "national":
                title += f" ({self.text('offer_where_national', language)})"
            line = self.text("offer_line", language, number=number, title=title, summary=offer["summary"])
            if offer.get("demo"):
                line += " " + self.text("offer_demo", language)
            if offer.get("contact"):
                line += "\n" + self.text("offer_contact", language, contact=offer["contact"])
            if language in offer.get("languages", []):
                line += " " + self.text(
                    "offer_speaks_language", language, language=self.language_name(language, language)
                )
            lines.append(line)
        lines.append(self.text("offers_next_steps", language))
        return RenderedMessage(text="\n".join(lines), offers=offers, key="offer_list")

    def _render_offer_details(self, language: str, args: dict[str, Any]) -> RenderedMessage:
        offer = args["offer"]
        verified = offer.get("last_verified")
        contact = self.text("offer_contact", language, contact=offer["contact"]) if offer.get("contact") else ""
        title = offer["title"] + (" " + self.text("offer_demo", language) if offer.get("demo") else "")
        text = self.text(
            "offer_details",
            language,
            title=title,
            summary=offer["summary"],
            how_to_join=offer.get("how_to_join") or "-",
            contact=contact,
            last_verified=self.date(date.fromisoformat(verified), language) if verified else "-",
        )
        return RenderedMessage(text="\n".join(line for line in text.splitlines() if line.strip()),
                               offers=[offer], key="offer_details")

    def _render_place_which(self, language: str, args: dict[str, Any]) -> RenderedMessage:
        options = list(args.get("options", []))
        text = self.text("place_which", language, name=args.get("name", ""),
                         options=format_list(options, style="or", locale=language))
        return RenderedMessage(text=text, quick_replies=options, key="place_which")

    def _render_language_menu(self, language: str, args: dict[str, Any]) -> RenderedMessage:
        names = self.own_language_names()
        text = self.text("language_menu", language, languages=format_list(names, locale=language))
        return RenderedMessage(text=text, quick_replies=names, key="language_menu")
