"""Keyboard mashing and other text that is not language: fallback before the model sees it.

DIET happily gives "jjjjjjjjjjjj" or "fgh dfg sdf" a confident intent. A message is gibberish here
when none of its words (two letters or more) occurs in our training examples and its letter trigrams
are less likely, in the likeliest language of its script, than in 99.5 % of real messages.
The threshold was fitted by 5-fold cross-validation over the training examples (0.5 % quantile of
held-out-fold scores): −10.8, which flags 0.38 % of real training messages in that setting (mostly
unseen chat abbreviations such as "jzk", "tmm") and 88 % of generated random strings. Messages without
letters (emoji, digits, punctuation) are left to the model: "👍" is an answer.
"""

from functools import lru_cache

from nlu.language import LanguageIdentifier, default_identifier, training_samples
from nlu.normalise import words

PLAUSIBILITY_THRESHOLD = -10.8


class GibberishDetector:
    def __init__(self, identifier: LanguageIdentifier, vocabulary: set[str],
                 threshold: float = PLAUSIBILITY_THRESHOLD) -> None:
        self.identifier = identifier
        self.vocabulary = vocabulary
        self.threshold = threshold

    def is_gibberish(self, text: str) -> bool:
        if any(len(word) >= 2 and word in self.vocabulary for word in words(text)):
            return False
        score = self.identifier.plausibility(text)
        return score is not None and score < self.threshold


@lru_cache(maxsize=1)
def default_detector() -> GibberishDetector:
    vocabulary = {word for texts in training_samples().values() for text in texts for word in words(text)}
    return GibberishDetector(default_identifier(), vocabulary)
