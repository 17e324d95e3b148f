"""Readers for training data and the held-out test sets (tests/data/…)."""

from pathlib import Path

import yaml

from bot.settings import REPO_ROOT
from nlu.crisis import DEV_DIR, MINIMAL_PAIRS_DIR, VALIDATION_DIR
from nlu.training_data import Example, read_nlu_yaml

TRAIN_DIR = REPO_ROOT / "nlu" / "data"
TEST_DIR = REPO_ROOT / "tests" / "data"
EVALUATED_LANGUAGES = ("da", "ar", "so", "tr", "fa")


def training_examples(language: str) -> list[Example]:
    return read_nlu_yaml(TRAIN_DIR / f"{language}.yml", language)


def test_examples(language: str) -> list[Example]:
    return read_nlu_yaml(TEST_DIR / "nlu" / f"{language}.yml", language)


def langid_messages(language: str) -> list[str]:
    path = TEST_DIR / "langid" / f"{language}.txt"
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def crisis_set(language: str) -> tuple[list[str], list[str]]:
    """Held-out crisis messages and hard negatives: the first set (tests/data/crisis/<lang>.yml) and the
    later ones (<lang>-<date>.yml), written by people who saw neither the rules nor the earlier sets."""
    folder = TEST_DIR / "crisis"
    crisis, calm = [], []
    for path in [folder / f"{language}.yml", *sorted(folder.glob(f"{language}-*.yml"))]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        crisis += data["crisis"]
        calm += data["not_crisis"]
    return crisis, calm


def crisis_development_set(language: str) -> tuple[list[str], list[str]]:
    """The crisis rules' development set, tuning data unlike tests/data/crisis: nlu/crisis/dev/<lang>.yml
    (which the classifier also learns from) and the minimal pairs of round 8 and later
    (nlu/crisis/dev/minimal_pairs/<lang>.yml, for the rules only; English has had one since round 11)."""
    crises, calm = [], []
    for path in (DEV_DIR / f"{language}.yml", MINIMAL_PAIRS_DIR / f"{language}.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        crises += data["crisis"]
        calm += data["not_crisis"]
    return crises, calm


def crisis_validation_set(language: str) -> tuple[list[str], list[str]]:
    """The crisis screen's validation set (nlu/crisis/validation): checks the classifier's bar; neither the
    rules nor the classifier learn from it, and it is not a test set either."""
    data = yaml.safe_load((VALIDATION_DIR / f"{language}.yml").read_text(encoding="utf-8"))
    return list(data["crisis"]), list(data["not_crisis"])


def crisis_validation_chat(language: str) -> list[str]:
    """Ordinary chat messages of three words or more (nlu/crisis/validation/chat): goodbyes, thanks, yes and no,
    questions about an offer. Nothing learns from them; they count how often the screen reads everyday chat
    as a crisis."""
    data = yaml.safe_load((VALIDATION_DIR / "chat" / f"{language}.yml").read_text(encoding="utf-8"))
    return list(data["ordinary"])


def crisis_validation_kinds(language: str) -> dict[str, list[str]]:
    """Crises labelled by kind (nlu/crisis/validation/kinds: suicide, self_harm, overdose, violence, medical), to
    count whether the emergency reply fits. Nothing learns from them."""
    from nlu.crisis import CATEGORIES

    data = yaml.safe_load((VALIDATION_DIR / "kinds" / f"{language}.yml").read_text(encoding="utf-8"))
    return {kind: list(data[kind]) for kind in CATEGORIES}


def nonsense_messages() -> list[str]:
    path = TEST_DIR / "nonsense.txt"
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_nlu_yaml(path: Path, examples: list[Example]) -> None:
    """Write examples in Rasa's NLU YAML format, intents in first-seen order."""
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example.text)
    blocks = [{"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
              for intent, texts in by_intent.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True, sort_keys=False,
                                   width=10_000), encoding="utf-8")
