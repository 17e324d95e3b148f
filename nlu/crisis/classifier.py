"""The crisis second net: a classifier for the crises the rules miss.

The rules (nlu/crisis/<lang>.yml) are exact and explainable, but they only know the phrasings someone
has written down: on a second held-out set, from writers who saw neither the rules nor their
development sets, they caught 0.68–0.80 of the crises. Behind them, a logistic regression reads the
message's e5 vector and character n-grams (knowledge.text_classifier), crisis against everything
else, trained on every language at once: the NLU training examples, the crisis development sets
(nlu/crisis/dev: crises and hard negatives — grief, idioms, courses, films) and generated nonsense
(nlu.nonsense: word salad of our own words, random letters), which it otherwise took for the odd,
indirect sentences crises are often written in.

It replaced DIET's `crisis` intent as the second net, measured on a development batch nobody had
tuned on (round 3 of nlu/crisis/dev: 556 crises, 321 hard negatives, rules as before that round; the
classifier trained without that batch): rules + DIET caught 0.879 with 64 alarms on the hard
negatives; rules + this classifier (probability ≥ BAR) caught 0.935 with 62. The bar was chosen
there as the highest recall without more alarms than DIET raised (`python -m
nlu.evaluation.crisis_second_net` shows the out-of-fold trade-off; README "Understanding").

Round 4 (2026-11-24; 770 crises, 507 hard negatives from new writers asked for indirect phrasings and
crises hidden in ordinary requests) showed how far that generalised: before it trained anything, the
screen caught 0.69 of its crises (rules alone 0.46; da 0.72, ar 0.66, so 0.73, tr 0.71, fa 0.64) with
41 alarms. With half of round 4 among its training messages and generated nonsense among the negatives,
the classifier alone caught 0.83 of the other half's crises at BAR (0.80 at 0.60, 0.88 at 0.40) with 54
alarms (45, 81), and 12 of 250 development nonsense strings raised one (two-fold, both ways; without
the generated negatives 0.81, 50 alarms and 20 nonsense alarms). The bar stayed where it was chosen
before round 4: at 0.40 it would catch 41 more of the 770 crises for 27 more alarms on the 507 hard
negatives — a trade for the counsellors to make, not for this measurement.

Round 8 (2026-11-24; minimal pairs: a crisis and a calm twin sharing most words, "he hit me, he is
still here" and "he hit me years ago, I am safe now") is not among its training messages: it tunes
the rules only (nlu/crisis/dev/minimal_pairs). Measured on a validation set nothing learns from
(nlu/crisis/validation: 384 crises, 399 hard negatives from new writers; `python -m
nlu.evaluation.crisis_second_net --validation`), with round 8's rules in front, this classifier at BAR
missed 3 crises with 51 alarms; refitted with round 8 it missed 5 with 43 at BAR and 2 with 51 at 0.45,
but 0.45 also read 117 instead of 86 of 2,637 ordinary training messages as crises (out of fold; the
refit alone at BAR: 88). Learning the twins works like moving the bar, because a linear model over
words and a sentence vector cannot see what tells them apart (when, who, whether it is over); the
rules' exceptions can. BAR stays 0.55.

Round 9 (2026-11-25; 376 crises, 397 hard negatives from new writers, now in nlu/crisis/dev) is among
its training messages. On the validation set, behind round 9's rules, it misses 3 crises with 44 alarms
at BAR (51 before it learnt round 9) and 1 with 52 at 0.45; BAR stays, because out of fold 0.45 reads
127 instead of 90 of 2,637 ordinary training messages as crises.

Round 10 (2026-11-25) tried teaching it help requests: 800 calm ones from new writers (heavy words, safe
situations: "I drink every night and can't stop", "nowhere to sleep tonight") plus round 9's 400, and 100
crises asked as a request for help. It then read 61 instead of 75 of the search's 550 development queries
(ordinary help requests, never learnt) as crises, and on the validation set missed as many (4 of 484) with
41 alarms instead of 45; held-out it missed one crisis more (4 of 400) and raised 24 alarms instead of 21
on 300 hard negatives. Not kept then: those messages tuned the rules only (nlu/crisis/dev/minimal_pairs).

Round 13 (2026-11-25) measured that choice again, on more than the held-out sets can show: new writers wrote
393 crises (about half hidden in an ordinary request) and 549 ordinary help requests in heavy words, and
before anything learnt from them, together with the validation set (591 crises, 509 hard negatives), this
classifier as it stood missed 38 crises with 95 alarms behind the rules. Refitted with rounds 10-12 and
parts 5-6 of the minimal pairs (3,953 messages: the help requests, plain phrasings, violence told plainly
and their twins), it missed as many at C=32 with 74 alarms (C=16: 40 with 77); it read 78 instead of 79 of
the search's 550 help requests as crises, 15 instead of 27 of 250 development nonsense strings, 126 instead
of 164 of the catalogue's sentences, but 103 instead of 91 of 2,629 ordinary training messages out of fold.
Those sections moved to nlu/crisis/dev (the round-8 pairs and their red teams stay rules only), C went
from 16 to 32, and round 13's own messages (without the part in the validation set) joined them. With
round 13's rules in front, on the validation set (then 677 crises, 619 calm) the screen went from 19
missed and 65 alarms with the classifier of round 9 to 15 and 61 with this one.

Round 14 (2026-11-25) taught it goodbyes: the screen read "I have to go now, take care" as a crisis about
once in thirty ordinary chat messages, and missed farewells before suicide written as a goodbye. Five new
writers wrote 225 such farewells and 450 ordinary goodbyes and closing messages (nlu/crisis/dev, "Round 14",
with the rule writers' own 228); a fresh set from five more writers (150 farewells, 300 goodbyes, measured
before anything learnt from it, then put into the validation set) decided, with the validation set and its
392 chat messages. Behind round 14's rules, refitted without those messages: fresh 14 missed · 35 alarms,
validation 18 · 61, chat 14 of 392; with them, at C=32: 11 · 13, 15 · 56, chat 8 (C=16: 10 · 20, 17 · 62, 12;
C=64: 10 · 13, 13 · 56, 11). Kept at C=32. The cost: out of fold 95 instead of 89 of 2,629 ordinary training
messages read as crises; help requests 76 instead of 78, development nonsense 19 instead of 21.

The fitted model is cached by a hash of everything it learns from, like the Rasa model:
`crisis-<hash>.npz` in the checkout's models folder and in the cache outside it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

from knowledge.text_classifier import Rows, VectorNgramClassifier
from nlu.crisis import DEV_DIR
from nlu.nonsense import random_letters, word_salad
from nlu.normalise import fold, words
from nlu.training_data import read_nlu_yaml

log = logging.getLogger(__name__)

NLU_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
NONSENSE_SOURCE = Path(__file__).resolve().parents[1] / "nonsense.py"
LANGUAGES = ("da", "ar", "so", "tr", "fa", "en")
BAR = 0.55
C = 32.0  # round 13: 16 -> 32 (see above)
NGRAM_WEIGHT = 1.0
FILE_FORMAT = 2  # 2: generated nonsense among the negatives
# Generated negatives (nlu.nonsense): word salad per language and random letters.
SALAD_PER_LANGUAGE = 150
RANDOM_LETTERS = 300


def training_messages(data_dir: Path = NLU_DATA_DIR, dev_dir: Path = DEV_DIR
                      ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(texts, is_crisis, language, from the development sets), each folded text once: the crisis
    development sets first (their label wins), then the NLU training examples (`crisis` or not), then
    generated nonsense (language "generated"), which is never a crisis."""
    texts, crisis, languages, development, seen = [], [], [], [], set()

    def add(text: str, is_crisis: bool, language: str, from_development: bool) -> None:
        if (key := fold(text)) not in seen:
            seen.add(key)
            texts.append(text)
            crisis.append(is_crisis)
            languages.append(language)
            development.append(from_development)

    examples, developed = read_inputs(data_dir, dev_dir)
    for language in LANGUAGES:
        for text in developed[language]["crisis"]:
            add(text, True, language, True)
        for text in developed[language]["not_crisis"]:
            add(text, False, language, True)
        for example in examples[language]:
            add(example.text, example.intent == "crisis", language, False)
    for text in generated_negatives(examples, developed):
        add(text, False, "generated", False)
    return texts, np.array(crisis), np.array(languages), np.array(development)


def read_inputs(data_dir: Path = NLU_DATA_DIR, dev_dir: Path = DEV_DIR) -> tuple[dict[str, list], dict[str, dict]]:
    """Per language, the NLU training examples and the crisis development set ({"crisis", "not_crisis"})."""
    examples = {language: read_nlu_yaml(data_dir / f"{language}.yml", language) for language in LANGUAGES}
    developed = {language: yaml.safe_load((dev_dir / f"{language}.yml").read_text(encoding="utf-8"))
                 for language in LANGUAGES}
    return examples, developed


def generated_negatives(examples: dict[str, list], developed: dict[str, dict]) -> list[str]:
    """Word salad per language (nlu.nonsense) from salad_vocabularies, plus random letters."""
    salad = [text for language, vocabulary in salad_vocabularies(examples, developed).items()
             for text in word_salad(vocabulary, SALAD_PER_LANGUAGE, seed=language)]
    return salad + random_letters(RANDOM_LETTERS, seed=3)


def salad_vocabularies(examples: dict[str, list], developed: dict[str, dict]) -> dict[str, set[str]]:
    """Per language, the words (three letters or more, as written) of the ordinary training examples,
    without those in a larger share of the crisis messages than of the others (folded, counted once per
    message, all languages): salad made of them teaches that nonsense is not a crisis without teaching
    that "selvmord" or "ihjel" is harmless, and keeps everyday words like "kommune" or "gruppe"."""
    in_crisis: Counter[str] = Counter()
    elsewhere: Counter[str] = Counter()
    for language in LANGUAGES:
        for text in developed[language]["crisis"]:
            in_crisis.update(set(words(text)))
            in_crisis[""] += 1  # the number of messages, under a key no word has
        for text in developed[language]["not_crisis"]:
            elsewhere.update(set(words(text)))
            elsewhere[""] += 1
        for example in examples[language]:
            counter = in_crisis if example.intent == "crisis" else elsewhere
            counter.update(set(words(example.text)))
            counter[""] += 1

    def ordinary(word: str) -> bool:
        return in_crisis[fold(word)] / in_crisis[""] < elsewhere[fold(word)] / elsewhere[""]

    return {language: {word for example in examples[language] if example.intent != "crisis"
                       for word in re.findall(r"\w+", example.text.lower())
                       if len(word) > 2 and not word.isdigit() and ordinary(word)}
            for language in LANGUAGES}


def inputs_digest(embedding_model: str, data_dir: Path = NLU_DATA_DIR, dev_dir: Path = DEV_DIR) -> str:
    settings = f"{FILE_FORMAT}|{C}|{NGRAM_WEIGHT}|{SALAD_PER_LANGUAGE}|{RANDOM_LETTERS}|{embedding_model}"
    digest = hashlib.sha256(settings.encode())
    digest.update(NONSENSE_SOURCE.read_bytes())  # the generated negatives are made by this code
    for language in LANGUAGES:
        for path in (data_dir / f"{language}.yml", dev_dir / f"{language}.yml"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class CrisisClassifier:
    def __init__(self, classifier: VectorNgramClassifier, bar: float = BAR, name: str | None = None) -> None:
        self.classifier = classifier
        self.bar = bar
        self.name = name  # the cached file's name: it names the inputs, so equal names mean equal verdicts

    @classmethod
    def fit(cls, embed_queries) -> CrisisClassifier:
        """`embed_queries(texts)` gives the e5 query vectors (knowledge.embeddings.Embedder.queries)."""
        texts, crisis, _, _ = training_messages()
        rows = Rows(embed_queries(texts), crisis.astype(np.float32)[:, None], 1.0, texts)
        return cls(VectorNgramClassifier.fit([rows], c=C, ngram_weight=NGRAM_WEIGHT, min_df=1,
                                             class_weight="balanced", max_iter=3000))

    def probabilities(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """P(crisis) per text, from the texts and their e5 query vectors."""
        return self.classifier.probabilities(vectors, texts)[:, 0]

    def save(self, path: Path) -> None:
        self.classifier.save(path)

    @classmethod
    def load(cls, path: Path) -> CrisisClassifier:
        return cls(VectorNgramClassifier.load(path, NGRAM_WEIGHT), name=Path(path).name)


_lock = threading.Lock()


def classifier_file(embedder) -> str:
    return f"crisis-{inputs_digest(embedder.name)}.npz"


def load_or_fit(embedder, folders: list[Path], on_fit=None) -> CrisisClassifier:
    """The classifier for the current training data and embedding model: from the first folder that
    has it, else fitted (about a minute: every message is embedded) and saved into every folder.
    `on_fit()` is called just before fitting, e.g. to tell a waiting person why."""
    name = classifier_file(embedder)
    with _lock:
        for folder in folders:
            if (Path(folder) / name).exists():
                try:
                    return CrisisClassifier.load(Path(folder) / name)
                except (OSError, KeyError, ValueError) as exc:
                    log.warning("crisis classifier %s unreadable (%s): fitting it again", name, exc)
        log.info("fitting the crisis classifier %s", name)
        if on_fit is not None:
            on_fit()
        classifier = CrisisClassifier.fit(embedder.queries)
        classifier.name = name
        for folder in folders:
            Path(folder).mkdir(parents=True, exist_ok=True)
            partial = Path(folder) / f".{name}.partial.npz"
            classifier.save(partial)
            partial.replace(Path(folder) / name)  # whole files only: a reader never sees half a model
        return classifier
