"""Generated nonsense: text that means nothing, for fitting what must not take it for meaning.

Two kinds, both reproducible from a seed and never from the nonsense test set (tests/data), which
stays unseen:
- random letters in the scripts citizens use ("qjzv kdoe"): the fallback calibration
  (nlu.evaluation.calibrate) and the gibberish tests;
- word salad, real words strung together without sense ("holbæk koster begyndt"): the crisis
  classifier's negatives. Without them it took word salad for the indirect, unusual sentences crises
  are often written in: of a development list of nonsense (nlu/crisis/dev/nonsense.txt: keyboard
  mashing, salad, lorem ipsum) 20 of 250 raised a crisis alarm at the product bar, 12 with the
  generated negatives (nlu/crisis/classifier.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterable

ALPHABETS = ("abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyzæøå", "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
             "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی", "abcçdefgğhıijklmnoöprsştuüvyz")


def random_letters(count: int, seed: int = 7) -> list[str]:
    """One to four 'words' of two to eight random letters, each text in one script."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        alphabet = rng.choice(ALPHABETS)
        words = [("".join(rng.choice(alphabet) for _ in range(rng.randint(2, 8)))) for _ in range(rng.randint(1, 4))]
        texts.append(" ".join(words))
    return texts


def word_salad(vocabulary: Iterable[str], count: int, seed: int | str = 11,
               min_words: int = 3, max_words: int = 7) -> list[str]:
    """`count` strings of min_words to max_words words drawn from the vocabulary."""
    words = sorted(set(vocabulary))  # sorted: the same vocabulary gives the same salad on every machine
    if not words:
        return []
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(min_words, max_words))) for _ in range(count)]
