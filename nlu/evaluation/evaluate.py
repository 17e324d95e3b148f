"""Evaluate a trained model on the held-out sets: intents, language id, crisis, nonsense — per language."""

from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import classification_report, confusion_matrix, f1_score

from bot.engine.process import parse_batch
from bot.settings import Settings
from nlu.crisis.screen import CLASSIFIER_ID, CrisisScreen, screen_for
from nlu.evaluation.datasets import (
    EVALUATED_LANGUAGES,
    crisis_set,
    langid_messages,
    nonsense_messages,
    test_examples,
    training_examples,
)
from nlu.gibberish import default_detector
from nlu.language import LanguageIdentifier, default_identifier
from nlu.review.learned import LearnedData, key

FALLBACK = "nlu_fallback"
# A nonsense message is handled well when it lands in fallback or out_of_scope.
REJECTED = {FALLBACK, "out_of_scope"}


@dataclass
class Understanding:
    """How the product reads one text: language, intent after fallback, and the crisis decision."""

    text: str
    language: str
    intent: str
    confidence: float
    crisis_rule: str | None

    @property
    def crisis(self) -> bool:
        return self.crisis_rule is not None


def understand(settings: Settings, model: Path, texts: list[str], default_language: str = "da",
               identifier: LanguageIdentifier | None = None, screen: CrisisScreen | None = None) -> list[Understanding]:
    """Run texts through the same steps as a turn: language id, crisis rules, the gibberish gate, the
    crisis classifier, then the model. A crisis hit makes the intent `crisis`, as the bot treats it."""
    identifier = identifier or default_identifier()
    screen = screen or screen_for(settings)
    gibberish = default_detector()
    languages = [identifier.identify(text).language or default_language for text in texts]
    parsed = parse_batch(settings, model, [{"text": t, "language": lang} for t, lang in zip(texts, languages,
                                                                                           strict=True)])
    matches = [screen.rules_match(text) for text in texts]
    garbled = [match is None and gibberish.is_gibberish(text) for text, match in zip(texts, matches, strict=True)]
    free = [i for i, text in enumerate(texts) if matches[i] is None and not garbled[i]]
    for i, match in zip(free, _classifier_verdicts(screen, [texts[i] for i in free]), strict=True):
        matches[i] = match
    results = []
    for text, language, result, match, is_garbled in zip(texts, languages, parsed, matches, garbled, strict=True):
        intent = "crisis" if match else (FALLBACK if is_garbled else result["intent"] or FALLBACK)
        results.append(Understanding(text, language, intent, result["confidence"], match.rule_id if match else None))
    return results


_verdicts: dict[tuple[str, tuple[str, ...]], list] = {}


def _classifier_verdicts(screen: CrisisScreen, texts: list[str]) -> list:
    """The crisis classifier's verdicts, kept for the last set of texts: every candidate of a retraining
    job is evaluated on the same held-out texts, and the screen does not depend on the dialogue model."""
    name = getattr(screen.classifier, "name", None)
    if name is None:
        return screen.classifier_matches(texts)
    key = (name, tuple(texts))
    if key not in _verdicts:
        _verdicts.clear()
        _verdicts[key] = screen.classifier_matches(texts)
    return _verdicts[key]


def evaluate(settings: Settings, model: Path, languages: tuple[str, ...] = EVALUATED_LANGUAGES) -> dict:
    """All metrics for one model, per language. One batch parse for everything (model loads once)."""
    identifier, screen = default_identifier(), screen_for(settings)
    plan: list[tuple[str, str, str]] = []  # (language, kind, text)
    truths: dict[str, list[str]] = {}
    for language in languages:
        examples = test_examples(language)
        truths[language] = [example.intent for example in examples]
        plan += [(language, "intent", example.text) for example in examples]
        crisis, not_crisis = crisis_set(language)
        plan += [(language, "crisis", text) for text in crisis]
        plan += [(language, "not_crisis", text) for text in not_crisis]
    plan += [("any", "nonsense", text) for text in nonsense_messages()]

    understood = understand(settings, model, [text for _, _, text in plan], identifier=identifier, screen=screen)
    by: dict[tuple[str, str], list[Understanding]] = {}
    for (language, kind, _), result in zip(plan, understood, strict=True):
        by.setdefault((language, kind), []).append(result)

    report: dict = {"languages": {}}
    for language in languages:
        truth = truths[language]
        predicted = [u.intent for u in by[(language, "intent")]]
        labels = sorted(set(truth))
        per_intent = classification_report(truth, predicted, labels=labels, output_dict=True, zero_division=0)
        # Some held-out messages are training examples word for word, mostly short ones ("hej", "er du en
        # robot"): the score on the messages the model never saw shows how much of the whole is memory.
        trained_on = {key(e.text) for e in training_examples(language) + LearnedData(settings.learned_data_dir)
                      .examples(language)}
        unseen = [i for i, u in enumerate(by[(language, "intent")]) if key(u.text) not in trained_on]
        unseen_truth, unseen_predicted = [truth[i] for i in unseen], [predicted[i] for i in unseen]
        langid = langid_messages(language)
        crisis = by[(language, "crisis")]
        calm = by[(language, "not_crisis")]
        report["languages"][language] = {
            "n": len(truth),
            "macro_f1": round(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0), 4),
            "accuracy": round(sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth), 4),
            "fallback_rate": round(sum(p == FALLBACK for p in predicted) / len(truth), 4),
            "seen_in_training": len(truth) - len(unseen),
            "unseen_macro_f1": round(f1_score(unseen_truth, unseen_predicted, labels=sorted(set(unseen_truth)),
                                              average="macro", zero_division=0), 4),
            "per_intent": {label: {k: round(v, 4) for k, v in per_intent[label].items()} for label in labels},
            "confusion": {"labels": labels + [FALLBACK],
                          "matrix": confusion_matrix(truth, predicted, labels=labels + [FALLBACK]).tolist()},
            "errors": [{"text": u.text, "expected": t, "predicted": u.intent, "confidence": round(u.confidence, 3)}
                       for u, t in zip(by[(language, "intent")], truth, strict=True) if u.intent != t],
            "langid_accuracy": round(sum(identifier.identify(m).language == language for m in langid) / len(langid), 4),
            "langid_n": len(langid),
            "crisis_recall": round(sum(u.crisis for u in crisis) / len(crisis), 4),
            "crisis_recall_rules_only": round(sum(u.crisis_rule not in (None, CLASSIFIER_ID) for u in crisis)
                                              / len(crisis), 4),
            "crisis_missed": [u.text for u in crisis if not u.crisis],
            "crisis_false_alarms": [u.text for u in calm if u.crisis],
            "crisis_n": [len(crisis), len(calm)],
        }
    nonsense = by[("any", "nonsense")]
    report["nonsense"] = {
        "n": len(nonsense),
        "rejected_rate": round(sum(u.intent in REJECTED for u in nonsense) / len(nonsense), 4),
        "accepted": [{"text": u.text, "intent": u.intent, "confidence": round(u.confidence, 3)}
                     for u in nonsense if u.intent not in REJECTED],
    }
    return report
