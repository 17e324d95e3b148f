"""Deterministic crisis rules: they run before any model, for every language at once.

Rules are data (nlu/crisis/<lang>.yml), shaped like CasePro's tests: an id, a category, a regex
`pattern` and an optional `unless` regex, both searched in the folded text (see nlu.normalise.fold).
Either may be written as a list of regexes, one alternative per line: the rule reads them as one
regex joined by "|", so a long exception stays reviewable one case at a time. A file may name regex
fragments once (`fragments:`, name → regex or list of alternatives) and use them as `{name}` in its rules'
patterns, exceptions and later fragments: the text is put in as written, so a vocabulary shared by a rule's
alternatives is written and reviewed in one place.
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


# A fragment's name in braces; a regex quantifier ({2}, {0,40}) holds digits only, so the two never meet.
FRAGMENT = re.compile(r"\{([a-z_]+)\}")


def _expand(regex: str, fragments: dict[str, str]) -> str:
    """The regex with each `{name}` replaced by that fragment's text."""
    def fragment(match: re.Match) -> str:
        if match.group(1) not in fragments:
            raise ValueError(f"unknown fragment {match.group(0)}")
        return fragments[match.group(1)]
    return FRAGMENT.sub(fragment, regex)


def _regex(value: str | list[str], fragments: dict[str, str] | None = None) -> str:
    """A rule's regex as written: one string, or a list of alternatives (any of them may match), with the
    file's fragments put in."""
    if isinstance(value, str):
        return _expand(value, fragments or {})
    if not value or not all(isinstance(part, str) and part for part in value):
        raise ValueError(f"a list of regexes must hold non-empty strings: {value!r}")
    parts = [_expand(part, fragments or {}) for part in value]
    for part in parts:
        re.compile(part)  # each alternative stands alone, so an unbalanced one fails here, not in the join
    return "|".join(parts)


def _fragments(defined: dict[str, str | list[str]] | None) -> dict[str, str]:
    """A file's named fragments, in order; each may use the ones named before it."""
    fragments: dict[str, str] = {}
    for name, value in (defined or {}).items():
        if not FRAGMENT.fullmatch(f"{{{name}}}"):
            raise ValueError(f"a fragment's name is lower-case letters and _: {name!r}")
        fragments[name] = _regex(value, fragments)
    return fragments


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
            try:
                fragments = _fragments(data.get("fragments"))
            except (re.error, ValueError) as exc:
                raise ValueError(f"fragments in {path.name}: {exc}") from exc
            for item in data["rules"]:
                if item["id"] in seen:
                    raise ValueError(f"duplicate crisis rule id {item['id']} in {path.name}")
                if item["category"] not in RULE_CATEGORIES:
                    raise ValueError(f"{item['id']}: unknown category {item['category']!r}")
                seen.add(item["id"])
                try:
                    pattern = re.compile(_regex(item["pattern"], fragments))
                    unless = re.compile(_regex(item["unless"], fragments)) if item.get("unless") else None
                except (re.error, ValueError) as exc:
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
