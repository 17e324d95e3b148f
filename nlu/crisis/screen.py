"""The crisis screen citizen messages pass before any dialogue model: the rules, then the classifier
for what they miss (nlu/crisis/classifier.py). A hit forces the crisis reply and an urgent hand-off,
even when the dialogue engine is down; DIET's own `crisis` guess no longer decides
(nlu.intent_decision).

The rules read every message. The classifier reads free text of at least MIN_WORDS words: an answer
the bot asked for (a button, "1", a keyword such as STOP, a place name) is taken as that answer
(bot/turns/pipeline.py), and one- or two-word messages ("hej", "ok tak", "vil dø") are left to the
rules, and skipping them spares greetings and thanks an e5 forward pass (~25–40 ms on this 2-core
machine). Measured on round 5 of the development messages before they trained anything: of 33 crises
of one or two words the rules of the time caught 16, and reading them too would have caught 4 more;
but out of fold the classifier raises an alarm on 7 of 748 ordinary two-word messages, among them
"ma rabo" (no), "i caawi" (help me) and "زنده باشی" (thanks): replies too common to answer with
emergency numbers. Short crises are the rules' to catch.

The classifier reads a message with back-to-back repeats said once ("hej hej hej …" → "hej"), and
counts its words after that. Repetition adds no meaning, but on 2,000 characters of "hej " the e5
vector lands where the classifier has seen nothing, and it read a crisis (0.58; 0.89 for 300 × "asdf").
Of the 16,283 training, development and validation messages 97 contain such a repeat; removing it
changed one verdict, "wadnaha, wadnaha" (two words, which the classifier never read and a rule catches).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import numpy as np

from nlu.crisis import CrisisMatch, CrisisRules
from nlu.crisis.classifier import CrisisClassifier

log = logging.getLogger(__name__)

CLASSIFIER_ID = "crisis-classifier"
CLASSIFIER_MATCH = CrisisMatch(CLASSIFIER_ID, "classifier")
MIN_WORDS = 3
# A word or a phrase of up to five words, said again right after itself, once or more.
REPEAT = re.compile(r"\b(\w+(?:\W+\w+){0,4}?)(?:\W+\1\b)+")


def without_repeats(text: str) -> str:
    """The text with every back-to-back repeat of a word or short phrase said once: what the classifier reads."""
    return REPEAT.sub(r"\1", text)


def long_enough(text: str) -> bool:
    """Whether the classifier reads a text at all (shorter ones are left to the rules)."""
    return _enough_words(without_repeats(text))


def _enough_words(read: str) -> bool:
    return len(read.split()) >= MIN_WORDS


class CrisisScreen:
    def __init__(self, rules: CrisisRules, classifier: CrisisClassifier | None = None,
                 embed_queries: Callable[[list[str]], np.ndarray] | None = None) -> None:
        if classifier is not None and embed_queries is None:
            raise ValueError("the crisis classifier needs the embedding model")
        self.rules, self.classifier, self.embed_queries = rules, classifier, embed_queries

    def rules_match(self, text: str) -> CrisisMatch | None:
        return self.rules.check(text)

    def classifier_match(self, text: str) -> CrisisMatch | None:
        return self.classifier_matches([text])[0]

    def classifier_matches(self, texts: list[str]) -> list[CrisisMatch | None]:
        """The classifier's verdict per text (one batch through the embedding model)."""
        return [CLASSIFIER_MATCH if probability is not None and probability >= self.classifier.bar else None
                for probability in self.classifier_probabilities(texts)]

    def classifier_probabilities(self, texts: list[str]) -> list[float | None]:
        """P(crisis) per text, None for a text the classifier does not read (too short, or no classifier)."""
        found: list[float | None] = [None] * len(texts)
        if self.classifier is None:
            return found
        read = {i: once for i, text in enumerate(texts) if _enough_words(once := without_repeats(text))}
        if not read:
            return found
        vectors = self.embed_queries(list(read.values()))
        probabilities = self.classifier.probabilities(list(read.values()), vectors)
        for i, probability in zip(read, probabilities, strict=True):
            found[i] = float(probability)
        return found

    def check(self, text: str) -> CrisisMatch | None:
        """The rule that fired, else the classifier's verdict, else None."""
        return self.rules_match(text) or self.classifier_match(text)

    def check_all(self, texts: list[str]) -> list[CrisisMatch | None]:
        """check() per text, the texts no rule catches in one batch through the embedding model."""
        matches = [self.rules_match(text) for text in texts]
        free = [i for i, match in enumerate(matches) if match is None]
        for i, match in zip(free, self.classifier_matches([texts[i] for i in free]), strict=True):
            matches[i] = match
        return matches


def screen_for(settings) -> CrisisScreen:
    """Rules, then the crisis classifier (fitted once per training data and embedding model, cached like
    the Rasa model in the settings' model folders). Without the embedding model the rules screen alone."""
    from knowledge.embeddings import EmbeddingModelError, embedder_for
    from nlu.crisis import default_rules
    from nlu.crisis.classifier import load_or_fit

    try:
        embedder = embedder_for(settings)
        classifier = load_or_fit(embedder, [settings.models_dir, settings.model_cache_dir])
    except EmbeddingModelError as exc:
        log.error("crisis classifier unavailable, screening with the rules alone: %s", exc)
        return CrisisScreen(default_rules())
    return CrisisScreen(default_rules(), classifier, embedder.queries)
