"""What a text costs as SMS: GSM-7 or UCS-2, and how many segments.

A segment is what an operator bills. GSM-7 carries 160 characters in one segment, or 153 per segment
once a message is split (the rest is the concatenation header), and its extension characters (€ [ ] {
} ...) take two. As soon as one character is outside GSM-7 the whole message goes as UCS-2: 70 UTF-16
units, or 67 per segment when split, and an emoji takes two units. Splits never cut an escape pair or
a surrogate pair. (The one PyPI counter, sms-counter 0.0.1, counts code points rather than UTF-16
units and still uses pydantic 1 validators, so it is not used.)

`for_sms` prepares a reply for SMS in a Latin-script language so that one stray character does not
double its price: typographic punctuation becomes its plain form and letters outside GSM-7 lose their
accent (Turkish ş ğ ı → s g i, as Turkish phones type them). Arabic and Farsi are UCS-2 anyway and are
left as they are.
"""

import re
import unicodedata
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Characters with a plain GSM-7 equivalent (what Twilio's "smart encoding" does, done here so the
# count we report is the count that is billed).
_PLAIN = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u2022": "-", "\u00b7": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
    "\u200e": "", "\u200f": "", "\u2066": "", "\u2067": "", "\u2068": "", "\u2069": "",
    "\u0131": "i", "\u0130": "I", "\u00e7": "c",
})

LATIN_SCRIPT_LANGUAGES = frozenset({"da", "so", "tr", "en"})


@dataclass(frozen=True)
class SmsCost:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def cost(text: str) -> SmsCost:
    if is_gsm7(text):
        widths = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SmsCost("GSM-7", sum(widths), _segments(widths, GSM7_SINGLE, GSM7_PART))
    widths = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SmsCost("UCS-2", sum(widths), _segments(widths, UCS2_SINGLE, UCS2_PART))


def _segments(widths: list[int], single: int, part: int) -> int:
    total = sum(widths)
    if total <= single:
        return 1
    # Fill segments one character at a time so a two-unit character moves whole to the next segment.
    segments, used = 1, 0
    for width in widths:
        if used + width > part:
            segments, used = segments + 1, 0
        used += width
    return segments


def budget(language: str) -> int:
    """Segments one bot message may cost: 2 for Latin-script languages, 4 for Arabic script."""
    return 2 if language in LATIN_SCRIPT_LANGUAGES else 4


def for_sms(text: str, language: str) -> str:
    """The text as it should be sent by SMS in this language (see the module docstring)."""
    if language not in LATIN_SCRIPT_LANGUAGES:
        return text
    text = text.translate(_PLAIN)
    if is_gsm7(text):
        return text
    return "".join(ch if ch in GSM7_BASIC or ch in GSM7_EXTENSION else _base_letter(ch) for ch in text)


def _base_letter(ch: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    return base if base and is_gsm7(base) else ch


# Where a long message may be cut: after a sentence's end (Latin, Arabic "؟" and Urdu/Farsi "۔") or at a
# line break.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?؟۔…])\s+|\s*\n+\s*")


def split(text: str, language: str) -> list[str]:
    """A long message (a counsellor's answer) as SMS parts, each within the language's segment budget.

    Cut after whole sentences where possible, else between words, and only as a last resort inside a
    word; nothing is dropped and no part is empty.
    """
    limit = budget(language)

    def fits(candidate: str) -> bool:
        return cost(candidate).segments <= limit

    text = text.strip()
    if fits(text):
        return [text]
    units: list[str] = []
    for sentence in (s for s in _SENTENCE_BREAK.split(text) if s.strip()):
        if fits(sentence):
            units.append(sentence)
            continue
        for word in sentence.split():
            units.extend([word] if fits(word) else _cut(word, fits))
    return _pack(units, fits)


def _cut(word: str, fits) -> list[str]:
    pieces, piece = [], ""
    for ch in word:
        if piece and not fits(piece + ch):
            pieces.append(piece)
            piece = ""
        piece += ch
    return [*pieces, piece]


def _pack(units: list[str], fits) -> list[str]:
    """Consecutive units joined by spaces into as few parts as fit (each unit fits on its own)."""
    parts: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current} {unit}" if current else unit
        if fits(candidate):
            current = candidate
        else:
            parts.append(current)
            current = unit
    return [*parts, current] if current else parts
