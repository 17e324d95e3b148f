"""Deterministic crisis rules: they run before any model, for every language at once.

Rules are data (nlu/crisis/<lang>.yml), shaped like CasePro's tests: an id, a category, a regex
`pattern` and an optional `unless` regex, both searched in the folded text (see nlu.normalise.fold).
Either may be written as a list of regexes, one alternative per line: the rule reads them as one
regex joined by "|", so a long exception stays reviewable one case at a time.
All languages' rules run on every message, so a crisis is caught even when the language is misjudged.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from nlu.normalise import fold

RULES_DIR = Path(__file__).resolve().parent
# Development sets: dev/<lang>.yml (the rules and the classifier learn from them) and
# dev/minimal_pairs/<lang>.yml (the rules only).
DEV_DIR = RULES_DIR / "dev"
MINIMAL_PAIRS_DIR = DEV_DIR / "minimal_pairs"
# The validation set (nothing learns from it; it chooses and checks the classifier's bar) and its ordinary chat.
VALIDATION_DIR = RULES_DIR / "validation"
# The kinds of crisis a rule names; each has an emergency reply of its own (bot.engine.actions).
CATEGORIES = ("suicide", "self_harm", "overdose", "violence", "medical")
# A cry for rescue that names no kind ("save me", "urgent help!", "النجدة"). It gets the reply for a crisis of
# any kind, and gives way to a rule that names one ("imdat, annem bayildi" is medical).
UNSPECIFIED = "unspecified"
RULE_CATEGORIES = (*CATEGORIES, UNSPECIFIED)


@dataclass(frozen=True)
class CrisisRule:
    id: str
    language: str
    category: str
    pattern: re.Pattern
    unless: re.Pattern | None = None

    def fires(self, folded: str) -> bool:
        return bool(self.pattern.search(folded)) and not (self.unless and self.unless.search(folded))


def _regex(value: str | list[str]) -> str:
    """A rule's regex as written: one string, or a list of alternatives (any of them may match)."""
    if isinstance(value, str):
        return value
    if not value or not all(isinstance(part, str) and part for part in value):
        raise ValueError(f"a list of regexes must hold non-empty strings: {value!r}")
    for part in value:
        re.compile(part)  # each alternative stands alone, so an unbalanced one fails here, not in the join
    return "|".join(value)


@dataclass(frozen=True)
class CrisisMatch:
    rule_id: str
    category: str


class CrisisRules:
    def __init__(self, rules: list[CrisisRule]) -> None:
        self.rules = rules

    @classmethod
    def load(cls, rules_dir: Path = RULES_DIR) -> "CrisisRules":
        rules: list[CrisisRule] = []
        seen: set[str] = set()
        for path in sorted(rules_dir.glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            for item in data["rules"]:
                if item["id"] in seen:
                    raise ValueError(f"duplicate crisis rule id {item['id']} in {path.name}")
                if item["category"] not in RULE_CATEGORIES:
                    raise ValueError(f"{item['id']}: unknown category {item['category']!r}")
                seen.add(item["id"])
                try:
                    pattern = re.compile(_regex(item["pattern"]))
                    unless = re.compile(_regex(item["unless"])) if item.get("unless") else None
                except re.error as exc:
                    raise ValueError(f"{item['id']} in {path.name}: {exc}") from exc
                rules.append(CrisisRule(id=item["id"], language=data["language"], category=item["category"],
                                        pattern=pattern, unless=unless))
        return cls(rules)

    def check(self, text: str) -> CrisisMatch | None:
        """The first rule that fires on the text and names a kind, else the first cry of no kind, else None."""
        folded = fold(text)
        unspecified = None
        for rule in self.rules:
            if rule.fires(folded):
                if rule.category != UNSPECIFIED:
                    return CrisisMatch(rule.id, rule.category)
                unspecified = unspecified or CrisisMatch(rule.id, rule.category)
        return unspecified


@lru_cache(maxsize=1)
def default_rules() -> CrisisRules:
    return CrisisRules.load()
