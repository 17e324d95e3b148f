"""Text normalisation shared by language id, crisis rules and place matching.

`clean` keeps the citizen's text readable (it is what we store and send on); `fold` is a lossy key for
matching only: case-folded, digits in ASCII, Danish/Turkish letters and Arabic-script variants unified.
"""

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")

# Arabic-Indic (٠-٩) and Persian (۰-۹) digits to ASCII.
_DIGITS = {ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")} | {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
# Arabic-script letter variants people type interchangeably (matching only).
_ARABIC_FOLD = str.maketrans({
    "ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ؤ": "و", "ئ": "ی",
    "ـ": None,  # tatweel
})
_HARAKAT = re.compile(r"[\u064b-\u065f\u0670\u06d6-\u06ed]")
# Latin letters folded to what people type on a phone without them.
_LATIN_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ı": "i", "ş": "s", "ğ": "g", "ç": "c",
                             "ö": "o", "ü": "u", "é": "e", "ä": "ae"})


def clean(text: str) -> str:
    """NFC, no control or zero-width characters, single spaces; newlines kept."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def ascii_digits(text: str) -> str:
    """Arabic-Indic and Persian digits as 0-9; nothing else changes."""
    return text.translate(_DIGITS)


def fold(text: str) -> str:
    """Matching key: NFKC, Turkish-aware lower case, ASCII digits, unified letters, no harakat."""
    text = unicodedata.normalize("NFKC", text)
    # Python lower-cases "İ" to "i̇" (with a combining dot); Turkish users mean plain i.
    text = text.replace("İ", "i").lower().replace("\u0307", "")
    text = text.translate(_DIGITS)
    text = unify_arabic_script(text)
    # Decompose to drop remaining accents after the explicit Danish/Turkish folds.
    text = text.translate(_LATIN_FOLD)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return _SPACES.sub(" ", text).strip()


def unify_arabic_script(text: str) -> str:
    """Arabic/Persian letter variants (ي/ی, ك/ک, ة/ه, hamza forms), tatweel and harakat unified."""
    return _HARAKAT.sub("", text).translate(_ARABIC_FOLD)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", fold(text))
