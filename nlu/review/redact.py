"""Personal details masked before a citizen's words are logged or become training data.

A training example needs the shape of a sentence, not who wrote it: phone numbers, e-mail addresses
and CPR numbers are replaced by placeholders. Names and addresses cannot be found reliably by a
pattern; that is what the administrator's redact step is for.
"""

import re

from nlu.normalise import ascii_digits

PHONE, EMAIL, CPR = "<telefon>", "<email>", "<cpr>"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# CPR: ddmmyy-nnnn (the dash optional) — checked before phone numbers, which it would also match.
_CPR = re.compile(r"(?<!\d)[0-3]\d[01]\d\d\d[- ]?\d{4}(?!\d)")
# Danish numbers (8 digits, grouped in 2s or 4s, +45 / 0045 optional) and foreign ones (+ and 7-14 digits).
_PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)\d{1,3}[ .-]?)?(?:\d[ .-]?){7,13}\d(?!\w)")


def mask(text: str) -> str:
    """The text with phone numbers, e-mail addresses and CPR numbers replaced by placeholders."""
    plain = ascii_digits(text)  # ٢٢٣٤… are digits too
    masked = _EMAIL.sub(EMAIL, plain)
    masked = _CPR.sub(CPR, masked)
    masked = _PHONE.sub(PHONE, masked)
    # Only change the text where something was masked, so Arabic-Indic digits elsewhere stay as written.
    return text if masked == plain else masked
