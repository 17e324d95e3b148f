"""Which offer does the citizen mean? Ordinals and numbers in the five languages ("nummer 2", "٢",
"labaad", "ikincisi", "دومی", "the last one").

Digits in any script become ASCII through `fold`. Words are matched on folded tokens; Arabic tokens
also without the proclitics people glue on (و, ب, ل, ف), and Turkish ones without the possessive
and accusative endings ("ikincisi" = "the second of them", "ikinciyi" = "the second", as object).
"""

import re

from nlu.normalise import fold, words

LAST = -1  # "the last one": the caller maps it to the last offer shown

_ORDINALS: dict[int, tuple[str, ...]] = {
    1: ("first", "1st", "foerste", "forste", "første", "den foerste", "awal", "kowaad", "koowaad", "kobaad", "birinci",
        "ilk", "ilki", "الاول", "الاولى", "اول", "الأول", "اولی", "اولین", "یکم", "یکمی", "نخست", "نخستین"),
    2: ("second", "2nd", "anden", "andet", "labaad", "labbaad", "ikinci", "الثاني", "الثانيه", "التاني", "التانيه",
        "ثاني", "تاني", "دوم", "دومی", "دومین"),
    3: ("third", "3rd", "tredje", "saddexaad", "sadexaad", "ucuncu", "üçüncü", "الثالث", "الثالثه", "التالت",
        "التالته", "ثالث", "سوم", "سومی", "سومین"),
    4: ("fourth", "4th", "fjerde", "afraad", "dorduncu", "dördüncü", "الرابع", "الرابعه", "رابع", "چهارم", "چهارمی"),
    5: ("fifth", "5th", "femte", "shanaad", "besinci", "beşinci", "الخامس", "الخامسه", "خامس", "پنجم", "پنجمی"),
    # Not "son" (Turkish "last", English "son") nor "آخر" (Arabic "another" as often as "last").
    LAST: ("last", "sidste", "ugu dambeeya", "dambeeya", "sonuncu", "en son", "الاخير", "الاخيره", "آخری", "اخری"),
}
# Cardinal words count only after a "number" word ("nummer to", "number two", "رقم اثنين", "shaqada 2").
_CARDINALS: dict[int, tuple[str, ...]] = {
    1: ("en", "et", "one", "hal", "kow", "bir", "واحد", "یک"),
    2: ("to", "two", "laba", "iki", "اثنين", "اتنين", "اثنان", "دو"),
    3: ("tre", "three", "saddex", "uc", "üç", "ثلاثه", "تلاته", "سه"),
    4: ("fire", "four", "afar", "dort", "dört", "اربعه", "چهار"),
    5: ("fem", "five", "shan", "bes", "beş", "خمسه", "پنج"),
}
_NUMBER_WORDS = {"nummer", "nr", "number", "no", "lambar", "lambarka", "numara", "numarali", "rakam", "رقم", "شماره",
                 "nomre", "نمره"}
_ARABIC_PROCLITICS = ("و", "ب", "ل", "ف")
# Possessive and accusative endings, folded (ı→i, ü→u), longest first: "ikincisini" (the second of
# them, as object), "ikinciyi" (the second, as object), "ikincisi" (the second of them).
_TURKISH_POSSESSIVE = ("sini", "sunu", "si", "su", "yi", "yu", "i", "u")


def _table(entries: dict[int, tuple[str, ...]]) -> dict[str, int]:
    return {" ".join(words(name)): number for number, names in entries.items() for name in names}


_ORDINAL_WORDS = _table(_ORDINALS)
_CARDINAL_WORDS = _table(_CARDINALS)
_DIGITS = re.compile(r"(?<!\d)(\d{1,2})(?!\d)")
# A message that is only a list number: "2", "2.", " ٢ ", "۲)".
_BARE_NUMBER = re.compile(r"\s*\d{1,2}\s*[.)]?\s*")


def _forms(token: str) -> list[str]:
    found = [token]
    if token[:1] in _ARABIC_PROCLITICS and len(token) > 3:
        found.append(token[1:])
    found += [token[:-len(end)] for end in _TURKISH_POSSESSIVE if token.endswith(end) and len(token) > len(end) + 3]
    return found


def offer_number(text: str) -> int | None:
    """1-based position the text points at, LAST for "the last one", or None."""
    folded = fold(text)
    digits = _DIGITS.search(folded)
    if digits:
        return int(digits.group(1))
    tokens = words(text)
    for size in (3, 2):  # multi-word forms first ("ugu dambeeya", "den foerste")
        for start in range(len(tokens) - size + 1):
            number = _ORDINAL_WORDS.get(" ".join(tokens[start:start + size]))
            if number is not None:
                return number
    for i, token in enumerate(tokens):
        for form in _forms(token):
            if form in _ORDINAL_WORDS:
                return _ORDINAL_WORDS[form]
        if i and tokens[i - 1] in _NUMBER_WORDS:
            for form in _forms(token):
                if form in _CARDINAL_WORDS:
                    return _CARDINAL_WORDS[form]
    return None


def is_bare_number(text: str) -> bool:
    """True when the message is nothing but a one- or two-digit number (in any script)."""
    return _BARE_NUMBER.fullmatch(fold(text)) is not None
