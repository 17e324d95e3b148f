"""Fit the per-language fallback thresholds on a validation split of the training data.

Held-out test data is never touched here. A calibration model is trained on ~80 % of each language's
training examples; the other ~20 % (chosen by a stable hash of the text) plus generated nonsense are
parsed, and for each language the threshold that maximises macro-F1 — with nonsense expected to fall
back — among those that send at least NONSENSE_REJECTION of the generated nonsense to fallback or
out_of_scope, is written to nlu/rasa_components/pipeline/thresholds.json, which the product model reads.
(Unconstrained, macro-F1 over 18 classes barely notices the one class nonsense is: it chose thresholds
that let a quarter of the nonsense through as confident intents.)

Crisis is not the model's to decide (the app's crisis screen decides it before the engine; see
nlu.intent_decision), so crisis examples are left out of the validation and a `crisis` guess is
skipped, as the product skips it.

The calibration model parses with no thresholds installed (an empty thresholds file), so the bars
being fitted do not depend on the ones fitted last time.
"""

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sklearn.metrics import f1_score

from bot import SUPPORTED_LANGUAGES
from bot.engine.process import (
    DIALOGUE_DATA,
    PIPELINE_COMPONENTS,
    PRODUCT,
    TrainedModel,
    TrainingInputs,
    ensure_model,
    parse_batch,
)
from bot.settings import Settings
from nlu.evaluation.datasets import Example, training_examples, write_nlu_yaml
from nlu.gibberish import default_detector
from nlu.intent_decision import CRISIS_INTENT, THRESHOLDS_ENV
from nlu.language import default_identifier
from nlu.nonsense import random_letters

THRESHOLDS_FILE = PIPELINE_COMPONENTS / "thresholds.json"
FALLBACK = "nlu_fallback"
VALIDATION_SHARE = 5  # one in five
CANDIDATES = [round(0.05 * i, 2) for i in range(0, 19)]  # 0.00 … 0.90
NONSENSE_REJECTION = 0.90
NONSENSE_PER_LANGUAGE = 200  # generated strings per language before the gibberish gate (most stop there)
OUT_OF_SCOPE = "out_of_scope"


def is_validation(example: Example) -> bool:
    digest = hashlib.sha256(f"{example.language}:{example.text}".encode()).digest()
    return digest[0] % VALIDATION_SHARE == 0


def predictions(ranked: list[tuple[str, float]], threshold: float) -> list[str]:
    """The intent acted on at a threshold: the top intent, or fallback under the threshold."""
    return [intent if confidence >= threshold else FALLBACK for intent, confidence in ranked]


def nonsense_rejected(truth: list[str], predicted: list[str]) -> int:
    """Nonsense (truth: fallback) that went to fallback or out_of_scope."""
    return sum(t == FALLBACK and p in (FALLBACK, OUT_OF_SCOPE) for t, p in zip(truth, predicted, strict=True))


def best_threshold(truth: list[str], ranked: list[tuple[str, float]]) -> tuple[float, float]:
    """The threshold with the highest macro-F1 among those that reject at least NONSENSE_REJECTION of the
    nonsense (ties: the lowest); if none does, the one that rejects the most."""
    labels = sorted(set(truth) | {FALLBACK})
    nonsense = sum(t == FALLBACK for t in truth)
    scored = []
    for threshold in CANDIDATES:
        predicted = predictions(ranked, threshold)
        score = f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)
        scored.append((threshold, score, nonsense_rejected(truth, predicted) / nonsense if nonsense else 1.0))
    allowed = [entry for entry in scored if entry[2] >= NONSENSE_REJECTION]
    if not allowed:
        most = max(entry[2] for entry in scored)
        allowed = [entry for entry in scored if entry[2] == most]
    best = max(allowed, key=lambda entry: (round(entry[1], 9), -entry[0]))
    return best[0], best[1]


def calibrate(settings: Settings, on_start=None, model_path: Path | None = None) -> dict:
    work = Path(settings.var_dir) / "calibration"
    validation: list[Example] = []
    for language in SUPPORTED_LANGUAGES:
        examples = training_examples(language)
        write_nlu_yaml(work / "data" / f"{language}.yml", [e for e in examples if not is_validation(e)])
        validation += [e for e in examples if is_validation(e) and e.intent != CRISIS_INTENT]
    inputs = TrainingInputs(name="calibration", config=PRODUCT.config, data=(DIALOGUE_DATA, work / "data"))
    # A calibration model trained earlier on (nearly) this split can be reused: the validation share is
    # chosen by a hash of each text, so a validation example is never in any calibration model's data.
    model = (TrainedModel(model_path, trained=False, seconds=0.0) if model_path
             else ensure_model(settings, on_start=on_start, inputs=inputs))

    identifier = default_identifier()
    # Gibberish the app's gate stops never reaches the model's thresholds: fit them on what gets through.
    gate = default_detector()
    nonsense = [text for text in random_letters(NONSENSE_PER_LANGUAGE * len(SUPPORTED_LANGUAGES))
                if not gate.is_gibberish(text)]
    items = [(e.text, e.intent) for e in validation] + [(text, FALLBACK) for text in nonsense]
    languages = [identifier.identify(text).language or settings.default_language for text, _ in items]
    no_thresholds = work / "no-thresholds.json"
    no_thresholds.write_text(json.dumps({"languages": {}}))
    parsed = parse_batch(settings, model.path, [{"text": t, "language": lang}
                                                for (t, _), lang in zip(items, languages, strict=True)],
                         env={THRESHOLDS_ENV: str(no_thresholds)})

    per_language: dict[str, dict] = {}
    for language in SUPPORTED_LANGUAGES:
        intent_truth, intent_ranked = [], []
        for (_text, intent), detected, result in zip(items, languages, parsed, strict=True):
            if detected != language:
                continue
            # Raw DIET ranking without crisis (as the product reads it) and without a fallback the
            # currently installed thresholds may have inserted.
            top = next((r for r in result["ranking"] if r[0] not in (FALLBACK, CRISIS_INTENT)), [FALLBACK, 0.0])
            intent_truth.append(intent)
            intent_ranked.append((top[0], top[1]))
        threshold, score = best_threshold(intent_truth, intent_ranked)
        predicted = predictions(intent_ranked, threshold)
        # The commonest mistakes at the chosen threshold, to read next to the F1.
        mistakes = Counter(f"{t} -> {p}" for t, p in zip(intent_truth, predicted, strict=True) if p != t)
        per_language[language] = {"threshold": threshold,
                                  "validation_macro_f1": round(score, 4), "n": len(intent_truth),
                                  "nonsense_n": intent_truth.count(FALLBACK),
                                  "nonsense_rejected": nonsense_rejected(intent_truth, predicted),
                                  "commonest_mistakes": dict(mistakes.most_common(8))}

    document = {
        "fitted": datetime.now(UTC).date().isoformat(),
        "calibration_model": model.path.name,
        "for_training_data": PRODUCT.digest(),
        "languages": {lang: {"threshold": v["threshold"]} for lang, v in per_language.items()},
        "validation": per_language,
    }
    THRESHOLDS_FILE.write_text(json.dumps(document, indent=2) + "\n")
    return document
