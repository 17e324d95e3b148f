"""Language identification restricted to Brobygger's languages.

The script narrows the choice (Arabic script → ar/fa; Latin → da/so/tr/en, or Farsi and Arabic typed
in Latin letters), spelling cues settle what they can, then a character n-gram naive Bayes model, learnt
from the training examples in nlu/data/<lang>.yml, picks among the remaining languages.
"""

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot import SUPPORTED_LANGUAGES
from nlu.crisis import DEV_DIR as CRISIS_DEV_DIR
from nlu.normalise import unify_arabic_script
from nlu.training_data import read_nlu_yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
ARABIC_SCRIPT = ("ar", "fa")
LATIN_SCRIPT = ("da", "so", "tr", "en")
# Farsi and Arabic speakers often type in Latin letters on phones ("salam khubi?", "ma3a salama"). Their
# Latin-script training examples get an n-gram table of their own ("fa-Latn"), a candidate for Latin
# text: inside the Arabic-script table those few grams are drowned, so Finglish came out Danish or
# Somali. 5-fold cross-validation on our 1–5-word messages with ≥ 8 letters (nlu.evaluation.langid_choice,
# 2026-11-24): Farsi 0.848 → 0.917, Arabic 0.915 → 0.922, Danish, Somali and Turkish unchanged.
ROMANISED = ("ar", "fa")
_ROMANISED_SUFFIX = "-Latn"
_ARABIC_CHARS = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_CHARS = re.compile(r"[a-zA-ZÀ-ɏ]")
# Letters only Persian uses (Arabic has none of them), including the Persian keyboard's own yeh and
# kaf (ی U+06CC, ک U+06A9: an Arabic keyboard types ي and ك) and the zero-width non-joiner of
# "می‌خواهم". The reverse does not hold — Farsi is often typed on an Arabic keyboard — but ta marbuta
# and alef maqsura (ة, ى) are Arabic spelling that Persian does not use. In our training data these
# cues never point the wrong way (0 of ~720 Arabic examples have ی/ک, 0 of ~740 Farsi have ة/ى).
_PERSIAN_ONLY = re.compile("[پچژگیک\u200c]")
_ARABIC_ONLY = re.compile("[ةى]")
_PERSIAN_DIGITS = re.compile("[۰-۹]")
_ARABIC_DIGITS = re.compile("[٠-٩]")
MIN_ARABIC_LETTERS = 3
_TURKISH_ONLY = re.compile(r"[ğşıİ]")
_DANISH_ONLY = re.compile(r"[æøåÆØÅ]")
# Danish words that Somali, Turkish, Arabic and Farsi speakers in Denmark write inside their own
# language ("lægen ma fahmo…", "kommune'den mektup geldi"): with the place names that carry æ/ø/å
# they say where someone lives, not which language they write. Word stems, matched at a word's start.
DANISH_LOANWORDS = ("kommune", "jobcenter", "læge", "laege", "kontanthjælp", "herberg", "socialrådgiv",
                    "hjemmehjælp", "sundhedspleje", "tolk", "pårørende", "boligstøtte", "boligselskab",
                    "sygehus", "hospital", "borger", "skat", "mødregruppe", "krisecenter", "gældsrådgiv")
_WORD_EDGE = re.compile(r"^\W+|\W+$")


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
            if language in ROMANISED:
                latin_counts: Counter = Counter()
                for text in texts:
                    if len(_LATIN_CHARS.findall(text)) > len(_ARABIC_CHARS.findall(text)):
                        latin_counts.update(self._grams(text))
                if latin_counts:
                    self._counts[language + _ROMANISED_SUFFIX] = latin_counts
                    self._totals[language + _ROMANISED_SUFFIX] = sum(latin_counts.values())
        self._latin_candidates = LATIN_SCRIPT + tuple(
            language + _ROMANISED_SUFFIX for language in ROMANISED if language + _ROMANISED_SUFFIX in self._counts)
        self._vocabulary = len(set().union(*self._counts.values())) or 1

    def _grams(self, text: str) -> list[str]:
        # Letter forms (ي/ی, ك/ک) say more about the keyboard than the language: compare words instead.
        text = " " + unify_arabic_script(unicodedata.normalize("NFKC", text).lower()) + " "
        text = re.sub(r"[\d\W_]+", " ", text)
        return [text[i:i + n] for n in self.orders for i in range(len(text) - n + 1) if text[i:i + n].strip()]

    @staticmethod
    def _candidates(arabic: int, latin: int) -> tuple[str, ...]:
        return ARABIC_SCRIPT if arabic >= min(latin, MIN_ARABIC_LETTERS) else LATIN_SCRIPT

    def plausibility(self, text: str) -> float | None:
        """Mean log-probability of the text's letter trigrams in the likeliest language of its script:
        how much it looks like anything people write to us. None for text without letters."""
        arabic, latin = len(_ARABIC_CHARS.findall(text)), len(_LATIN_CHARS.findall(text))
        if arabic + latin == 0:
            return None
        grams = [g for g in self._grams(text) if len(g) == 3] or self._grams(text)
        if not grams:
            return None
        return max(
            sum(math.log((self._counts[lang][g] + 0.5) / (self._totals[lang] + 0.5 * self._vocabulary))
                for g in grams) / len(grams)
            for lang in self._candidates(arabic, latin) if lang in self._counts
        )

    def identify(self, text: str) -> Guess:
        arabic = len(_ARABIC_CHARS.findall(text))
        latin = len(_LATIN_CHARS.findall(text))
        letters = arabic + latin
        if letters == 0:
            # Persian (۰-۹) and Arabic-Indic (٠-٩) digits hint at the keyboard: enough to start a new
            # conversation in that language, never to switch one (no letters).
            if _PERSIAN_DIGITS.search(text):
                return Guess("fa", 0.6)
            if _ARABIC_DIGITS.search(text):
                return Guess("ar", 0.6)
            return Guess(None, 0.0)
        # Arabic and Farsi speakers write Danish names and words in Latin letters ("انا في Aalborg
        # kommune"); a Danish, Somali or Turkish message with Arabic letters in it is rare. So a few
        # Arabic-script letters are enough to make it an Arabic-script message.
        candidates = self._candidates(arabic, latin)
        if candidates == ARABIC_SCRIPT and _PERSIAN_ONLY.search(text):
            return Guess("fa", 0.99, letters)
        if candidates == ARABIC_SCRIPT and _ARABIC_ONLY.search(text):
            return Guess("ar", 0.97, letters)
        if candidates == LATIN_SCRIPT and _TURKISH_ONLY.search(text):
            return Guess("tr", 0.99, letters)
        if candidates == LATIN_SCRIPT:
            # The words around embedded Danish words and place names decide, when there are enough
            # of them and they clearly point elsewhere; otherwise æ/ø/å mean Danish.
            candidates = self._latin_candidates
            rest = without_danish_words(text)
            if rest != text and len(_LATIN_CHARS.findall(rest)) >= MIN_LETTERS_TO_SWITCH:
                guess = _language_of(self._naive_bayes(rest, candidates, letters))
                if guess.language not in (None, "da") and guess.confidence >= 0.9:
                    return guess
            if _DANISH_ONLY.search(text):
                return Guess("da", 0.95, letters)
        return _language_of(self._naive_bayes(text, candidates, letters))

    def log_likelihoods(self, text: str, candidates: tuple[str, ...]) -> dict[str, float]:
        """log P(text's n-grams | language) for the candidates the model knows (add-½ smoothing)."""
        return self._log_likelihoods(self._grams(text), candidates)

    def _log_likelihoods(self, grams: list[str], candidates: tuple[str, ...]) -> dict[str, float]:
        scores: dict[str, float] = {}
        for language in candidates:
            counts, total = self._counts.get(language), self._totals.get(language, 0)
            if not counts:
                continue
            scores[language] = sum(
                math.log((counts[g] + 0.5) / (total + 0.5 * self._vocabulary)) for g in grams
            )
        return scores

    def _naive_bayes(self, text: str, candidates: tuple[str, ...], letters: int) -> Guess:
        grams = self._grams(text)
        scores = self._log_likelihoods(grams, candidates)
        if not scores:
            return Guess(None, 0.0, letters)
        best = max(scores, key=scores.__getitem__)
        # Softmax over log-likelihoods, tempered by length so long texts don't look overconfident.
        temperature = max(1.0, len(grams) / 12)
        norm = sum(math.exp((s - scores[best]) / temperature) for s in scores.values())
        return Guess(best, 1.0 / norm, letters)


def _language_of(guess: Guess) -> Guess:
    """Farsi in Latin letters is Farsi: the reply comes in the script the language is read in."""
    if guess.language and guess.language.endswith(_ROMANISED_SUFFIX):
        return Guess(guess.language.removesuffix(_ROMANISED_SUFFIX), guess.confidence, guess.letters)
    return guess


def without_danish_words(text: str) -> str:
    """The text without words that have æ/ø/å or start like a common Danish loanword."""
    kept = []
    for word in text.split():
        bare = _WORD_EDGE.sub("", word).lower()
        if _DANISH_ONLY.search(bare) or bare.startswith(DANISH_LOANWORDS):
            continue
        kept.append(word)
    return " ".join(kept)


def choose_language(guess: Guess, current: str | None, default: str) -> str:
    """The conversation keeps its language unless a message is clearly in another one."""
    if guess.language is None:
        return current or default
    if current is None:
        return guess.language if guess.confidence >= 0.5 else default
    if guess.language != current and guess.confidence >= 0.9 and guess.letters >= MIN_LETTERS_TO_SWITCH:
        return guess.language
    return current


def _training_samples(data_dir: Path, crisis_dev_dir: Path | None = None) -> dict[str, list[str]]:
    """Text per language: the NLU training examples, plus the crisis rules' development sets (real
    sentences in each language, and the hard emotional vocabulary short messages are written in)."""
    samples = {language: [example.text for example in read_nlu_yaml(path, language)]
               for language in SUPPORTED_LANGUAGES if (path := data_dir / f"{language}.yml").exists()}
    for language in samples:
        path = (crisis_dev_dir or CRISIS_DEV_DIR) / f"{language}.yml"
        if path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            samples[language] += [*data.get("crisis", []), *data.get("not_crisis", [])]
    return samples


@lru_cache(maxsize=1)
def training_samples() -> dict[str, list[str]]:
    return _training_samples(DATA_DIR)


@lru_cache(maxsize=1)
def default_identifier() -> LanguageIdentifier:
    return LanguageIdentifier(training_samples())
