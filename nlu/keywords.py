"""Keywords a whole message can be: the words our replies tell citizens to write, and Twilio's.

"Write STOP", "write PERSON", "write MORE": when the citizen does exactly that, no model should have a
chance to get it wrong. Only a message that is nothing but the keyword counts ("stop" is opt-out,
"stop smoking" is a need). Matching is on `answer_key`, so case, æ/ø/å, Turkish İ/ı, Arabic letter
forms and surrounding punctuation do not matter.
"""

from nlu.normalise import fold

_PUNCTUATION = " .,!?¡¿:;\"'«»“”‘’()-–…؟،"

# Twilio's standard opt-out, opt-in and help words (its Advanced Opt-Out defaults) come first in each
# list; then the words our texts name in each language (bot/locales/*/messages.po).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "opt_out": ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
                "stopp", "afmeld", "jooji", "dur", "توقف", "ایست"),
    # START brings a conversation back after STOP: answered like a greeting.
    "greet": ("start", "unstop"),
    "help": ("help", "info", "hjælp", "caawi", "caawin", "caawimaad", "yardım", "مساعدة", "کمک", "راهنما"),
    "delete_data": ("delete", "slet", "tirtir", "sil", "حذف", "احذف"),
    "request_human": ("person", "human", "menneske", "rådgiver", "qof", "insan", "شخص", "مشاور"),
    "more_results": ("more", "flere", "kale", "daha", "المزيد", "بیشتر"),
    "choose_language": ("language", "sprog", "luqad", "luuqad", "dil", "لغة", "زبان"),
}

_BY_KEY = {fold(word): intent for intent, words in KEYWORDS.items() for word in words}


def answer_key(text: str) -> str:
    """The matching key of a short answer: folded, without surrounding punctuation."""
    return fold(text).strip(_PUNCTUATION)


def keyword_intent(text: str) -> str | None:
    return _BY_KEY.get(answer_key(text))
