"""Language identification restricted to Brobygger's languages.

A first version (the NLU issue makes it robust on 1–5-word messages): the script narrows the choice
(Arabic script → ar/fa, Latin → da/so/tr/en), then a character n-gram naive Bayes model, learnt
from the training examples in nlu/data/<lang>.yml, picks among the remaining languages.
"""

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot import SUPPORTED_LANGUAGES
from nlu.normalise import unify_arabic_script
from nlu.training_data import read_nlu_yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
ARABIC_SCRIPT = ("ar", "fa")
LATIN_SCRIPT = ("da", "so", "tr", "en")
_ARABIC_CHARS = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_CHARS = re.compile(r"[a-zA-ZÀ-ɏ]")
# Letters only Persian uses (Arabic has none of them), including the Persian keyboard's own yeh and
# kaf (ی U+06CC, ک U+06A9: an Arabic keyboard types ي and ك) and the zero-width non-joiner of
# "می‌خواهم". The reverse does not hold — Farsi is often typed on an Arabic keyboard — but ta marbuta
# and alef maqsura (ة, ى) are Arabic spelling that Persian does not use. In our training data these
# cues never point the wrong way (0 of ~720 Arabic examples have ی/ک, 0 of ~740 Farsi have ة/ى).
_PERSIAN_ONLY = re.compile("[پچژگیک\u200c]")
_ARABIC_ONLY = re.compile("[ةى]")
_TURKISH_ONLY = re.compile(r"[ğşıİ]")
_DANISH_ONLY = re.compile(r"[æøåÆØÅ]")


# Below this many letters a message ("ok", "tak", "salaam") is too short to switch a conversation's language.
MIN_LETTERS_TO_SWITCH = 8


@dataclass(frozen=True)
class Guess:
    language: str | None  # None when the text carries no language signal ("2200", "👍")
    confidence: float
    letters: int = 0


class LanguageIdentifier:
    # Character 1–4-grams: 4-grams won over 1–3 in 5-fold cross-validation on the training examples of up
    # to five words (Arabic 0.921 → 0.930, Farsi 0.906 → 0.912; Latin-script languages also up).
    def __init__(self, samples: dict[str, list[str]], orders: tuple[int, ...] = (1, 2, 3, 4)) -> None:
        self.orders = orders
        self._counts: dict[str, Counter] = {}
        self._totals: dict[str, int] = {}
        for language, texts in samples.items():
            counts: Counter = Counter()
            for text in texts:
                counts.update(self._grams(text))
            self._counts[language] = counts
            self._totals[language] = sum(counts.values())
        self._vocabulary = len(set().union(*self._counts.values())) or 1

    def _grams(self, text: str) -> list[str]:
        # Letter forms (ي/ی, ك/ک) say more about the keyboard than the language: compare words instead.
        text = " " + unify_arabic_script(unicodedata.normalize("NFKC", text).lower()) + " "
        text = re.sub(r"[\d\W_]+", " ", text)
        return [text[i:i + n] for n in self.orders for i in range(len(text) - n + 1) if text[i:i + n].strip()]

    def identify(self, text: str) -> Guess:
        arabic = len(_ARABIC_CHARS.findall(text))
        latin = len(_LATIN_CHARS.findall(text))
        letters = arabic + latin
        if letters == 0:
            return Guess(None, 0.0)
        candidates = ARABIC_SCRIPT if arabic >= latin else LATIN_SCRIPT
        if candidates == ARABIC_SCRIPT and _PERSIAN_ONLY.search(text):
            return Guess("fa", 0.99, letters)
        if candidates == ARABIC_SCRIPT and _ARABIC_ONLY.search(text):
            return Guess("ar", 0.97, letters)
        if candidates == LATIN_SCRIPT and _TURKISH_ONLY.search(text):
            return Guess("tr", 0.99, letters)
        if candidates == LATIN_SCRIPT and _DANISH_ONLY.search(text):
            return Guess("da", 0.95, letters)
        grams = self._grams(text)
        scores: dict[str, float] = {}
        for language in candidates:
            counts, total = self._counts.get(language), self._totals.get(language, 0)
            if not counts:
                continue
            scores[language] = sum(
                math.log((counts[g] + 0.5) / (total + 0.5 * self._vocabulary)) for g in grams
            )
        if not scores:
            return Guess(None, 0.0, letters)
        best = max(scores, key=scores.__getitem__)
        # Softmax over log-likelihoods, tempered by length so long texts don't look overconfident.
        temperature = max(1.0, len(grams) / 12)
        norm = sum(math.exp((s - scores[best]) / temperature) for s in scores.values())
        return Guess(best, 1.0 / norm, letters)


def choose_language(guess: Guess, current: str | None, default: str) -> str:
    """The conversation keeps its language unless a message is clearly in another one."""
    if guess.language is None:
        return current or default
    if current is None:
        return guess.language if guess.confidence >= 0.5 else default
    if guess.language != current and guess.confidence >= 0.9 and guess.letters >= MIN_LETTERS_TO_SWITCH:
        return guess.language
    return current


def _training_samples(data_dir: Path) -> dict[str, list[str]]:
    return {language: [example.text for example in read_nlu_yaml(path, language)]
            for language in SUPPORTED_LANGUAGES if (path := data_dir / f"{language}.yml").exists()}


@lru_cache(maxsize=1)
def default_identifier() -> LanguageIdentifier:
    return LanguageIdentifier(_training_samples(DATA_DIR))
