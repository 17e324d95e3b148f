"""Labelled examples written as Rasa training data: `<learned dir>/<lang>.yml`, one file per language.

A new example is refused, with the reason, when it would repeat or contradict what the model already
learns from (the hand-written `nlu/data/<lang>.yml` or earlier labels), or when it is a held-out test
message — of the intent, crisis or nonsense test sets (training on the test set would make every later
evaluation a lie). Texts are compared by
their matching key (nlu.normalise.fold), so "Hej!" and "hej" are the same example. Files are written
sorted by intent and text, so a diff shows exactly what was labelled.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nlu.evaluation.datasets import (
    EVALUATED_LANGUAGES,
    TEST_DIR,
    TRAIN_DIR,
    crisis_set,
    crisis_validation_set,
    nonsense_messages,
)
from nlu.normalise import fold
from nlu.training_data import Example, read_nlu_yaml

HEADER = ("# Examples labelled by administrators in the review queue (brobygger review / the admin console).\n"
          "# Written by nlu.review.learned, sorted by intent and text; edit through the review queue.\n")
_PUNCTUATION = " .,!?¡¿:;\"'«»“”‘’()…؟،"


class _BlockDumper(yaml.SafeDumper):
    """Rasa's own layout: `examples: |` followed by one `- text` line per example."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_BlockDumper.add_representer(str, _text)


def one_line(text: str) -> str:
    """How an example is written: one line in Rasa's YAML, single spaces."""
    return " ".join(text.split())


def key(text: str) -> str:
    return " ".join(fold(text).strip(_PUNCTUATION).split())


@dataclass(frozen=True)
class Refusal:
    text: str
    reason: str


@dataclass
class _Known:
    examples: dict[str, tuple[str, str, bool, str]] = field(default_factory=dict)  # (source, file, held out, intent)
    held_out_sets: dict[str, str] = field(default_factory=dict)  # key -> "the held-out crisis test set", …

    def reason(self, text: str, intent: str) -> str | None:
        wanted = key(text)
        if not wanted:
            return "the text is empty"
        if wanted in self.examples:
            name, filename, held_out, known_intent = self.examples[wanted]
            if held_out:
                return f"it is in {name} ({filename}); test messages are never trained on"
            if known_intent == intent:
                return f"already in {name} as {intent}"
            return f"conflicts with {name}, where it is {known_intent}"
        if wanted in self.held_out_sets:
            return f"it is in {self.held_out_sets[wanted]}; test and validation messages are never trained on"
        return None


class LearnedData:
    def __init__(self, directory: Path, train_dir: Path = TRAIN_DIR, test_dir: Path = TEST_DIR / "nlu") -> None:
        self.directory, self.train_dir, self.test_dir = Path(directory), Path(train_dir), Path(test_dir)

    def path(self, language: str) -> Path:
        return self.directory / f"{language}.yml"

    def examples(self, language: str) -> list[Example]:
        path = self.path(language)
        return read_nlu_yaml(path, language) if path.exists() else []

    def add(self, language: str, examples: list[tuple[str, str]]) -> list[Refusal]:
        """Add (text, intent) pairs; returns those refused. Nothing is written when all are refused."""
        known = self._known(language)  # read once per batch: an administrator labels hundreds at a time
        refused, accepted, seen = [], [], {}
        for text, intent in examples:
            text = one_line(text)
            reason = known.reason(text, intent)
            if reason is None and key(text) in seen and seen[key(text)] != intent:
                reason = f"labelled {seen[key(text)]} in the same batch"
            if reason is None and key(text) in seen:
                continue  # the same text twice in one batch: once is enough
            if reason:
                refused.append(Refusal(text, reason))
            else:
                seen[key(text)] = intent
                accepted.append(Example(text, intent, language))
        if accepted:
            self._write(language, self.examples(language) + accepted)
        return refused

    def _known(self, language: str) -> "_Known":
        """Every text the model learns from or is tested on in this language, by matching key; the first
        source that has a key wins, in the order the reasons are checked."""
        known = _Known()
        for name, path, held_out in (("the training data", self.train_dir / f"{language}.yml", False),
                                     ("the labelled examples", self.path(language), False),
                                     ("the held-out test set", self.test_dir / f"{language}.yml", True)):
            if path.exists():
                for example in read_nlu_yaml(path, language):
                    known.examples.setdefault(key(example.text), (name, path.name, held_out, example.intent))
        # The crisis and nonsense test sets measure the crisis screen and the fallback: a crisis test
        # message labelled `crisis`, or a nonsense string labelled `out_of_scope`, would leak them too.
        # The crisis validation set checks the crisis classifier's bar, and the classifier learns from
        # the training data: a validation message labelled there would flatter it the same way.
        crisis, calm = crisis_set(language) if language in EVALUATED_LANGUAGES else ([], [])
        checking, checking_calm = crisis_validation_set(language) if language in EVALUATED_LANGUAGES else ([], [])
        for name, texts in (("the held-out crisis test set", crisis + calm),
                            ("the held-out nonsense test set", nonsense_messages()),
                            ("the crisis validation set", checking + checking_calm)):
            for held_out in texts:
                known.held_out_sets.setdefault(key(held_out), name)
        return known

    def _write(self, language: str, examples: list[Example]) -> None:
        by_intent: dict[str, list[str]] = {}
        for example in sorted(examples, key=lambda e: (e.intent, key(e.text), e.text)):
            by_intent.setdefault(example.intent, []).append(example.text)
        blocks = [{"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
                  for intent, texts in by_intent.items()]
        body = yaml.dump({"version": "3.1", "nlu": blocks}, Dumper=_BlockDumper, allow_unicode=True,
                         sort_keys=False, width=10_000)
        path = self.path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(HEADER + body, encoding="utf-8")
        os.replace(tmp, path)  # training never reads a half-written file
