"""Direction marks for Arabic and Farsi replies, so numbers and Latin names do not scramble.

In a right-to-left line, "70 201 201" is shown as "201 201 70" and "Røgfri Sammen (Nyborg)" loses its
brackets: digits and spaces take their direction from the Arabic around them. A left-to-right mark
(U+200E) on each side of such a run makes it one left-to-right island; a right-to-left mark (U+200F)
at the start of each line keeps the line right-to-left even when it begins with a number or a Latin
name. Plain marks, not the newer isolates (U+2066–2069), because old phones show those as boxes.
"""

import re

RTL_LANGUAGES = frozenset({"ar", "fa"})
LRM, RLM = "\u200e", "\u200f"

_LATIN = "A-Za-z\u00c0-\u024f"
_INNER = rf"[{_LATIN}0-9.,:/@+&'()_\-–]"
# Runs of Latin letters, digits and the punctuation inside names, addresses and web addresses. Only a
# run with a Latin letter or a number in several groups (a phone number) is marked: a single number
# ("112", "3.") already shows the right way round.
_RUN = re.compile(rf"[{_LATIN}0-9@]{_INNER}*(?: {_INNER}+)*")
_LATIN_LETTER = re.compile(rf"[{_LATIN}]")
_NUMBER_GROUPS = re.compile(r"\d+(?:[ \-]\d+)+")
_TRAILING = ".,:;!?-–( "


def protect(text: str, language: str) -> str:
    if language not in RTL_LANGUAGES:
        return text
    return "\n".join(RLM + _RUN.sub(_wrap, line.lstrip(RLM)) if line.strip() else line
                     for line in text.split("\n"))


def _wrap(match: re.Match) -> str:
    run = match.group(0)
    if not (_LATIN_LETTER.search(run) or _NUMBER_GROUPS.search(run)):
        return run
    core = run.rstrip(_TRAILING)
    # A closing bracket without its opening one belongs to the right-to-left text around it.
    while core.endswith(")") and core.count(")") > core.count("("):
        core = core[:-1].rstrip(_TRAILING)
    if not core:
        return run
    return f"{LRM}{core}{LRM}{run[len(core):]}"
