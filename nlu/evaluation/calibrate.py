"""Fit the per-language fallback thresholds on a validation split of the training data.

Held-out test data is never touched here. A calibration model is trained on ~80 % of each language's
training examples; the other ~20 % (chosen by a stable hash of the text) plus generated nonsense are
parsed, and for each language the threshold that maximises macro-F1 — with nonsense expected to fall
back — is written to nlu/rasa_components/pipeline/thresholds.json, which the product model reads.

The `crisis` intent gets its own bar per language: the lowest confidence at which the calibration
model raises no false alarm on the non-crisis validation examples and the crisis development set's
hard negatives (nlu/crisis/dev). The rules stay the first net; this keeps the second one from
answering grief or jokes with an emergency reply while leaving it as sensitive as the data allows.
"""

import hashlib
import json
import random
from datetime import UTC, datetime
from pathlib import Path

from sklearn.metrics import f1_score

from bot import SUPPORTED_LANGUAGES
from bot.engine.process import DIALOGUE_DATA, PIPELINE_COMPONENTS, PRODUCT, TrainingInputs, ensure_model, parse_batch
from bot.settings import Settings
from nlu.evaluation.datasets import Example, crisis_development_set, training_examples, write_nlu_yaml
from nlu.language import default_identifier

THRESHOLDS_FILE = PIPELINE_COMPONENTS / "thresholds.json"
FALLBACK = "nlu_fallback"
VALIDATION_SHARE = 5  # one in five
CANDIDATES = [round(0.05 * i, 2) for i in range(0, 19)]  # 0.00 … 0.90
CRISIS_CANDIDATES = [round(0.05 * i, 2) for i in range(0, 20)] + [0.97, 0.99, 1.01]  # 1.01: never on its own
CRISIS = "crisis"
NOT_CRISIS = "not_crisis"


def is_validation(example: Example) -> bool:
    digest = hashlib.sha256(f"{example.language}:{example.text}".encode()).digest()
    return digest[0] % VALIDATION_SHARE == 0


def generated_nonsense(count: int, seed: int = 7) -> list[str]:
    """Random strings in the scripts citizens use (not the nonsense test set, which stays unseen)."""
    alphabets = ["abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyzæøå", "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
                 "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی", "abcçdefgğhıijklmnoöprsştuüvyz"]
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        alphabet = rng.choice(alphabets)
        words = [("".join(rng.choice(alphabet) for _ in range(rng.randint(2, 8)))) for _ in range(rng.randint(1, 4))]
        texts.append(" ".join(words))
    return texts


def best_threshold(truth: list[str], ranked: list[tuple[str, float]]) -> tuple[float, float]:
    """The candidate threshold with the highest macro-F1 (ties: the lowest threshold)."""
    labels = sorted(set(truth) | {FALLBACK})
    best = (0.0, -1.0)
    for threshold in CANDIDATES:
        predicted = [intent if confidence >= threshold else FALLBACK for intent, confidence in ranked]
        score = f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)
        if score > best[1] + 1e-9:
            best = (threshold, score)
    return best


def crisis_threshold(truth: list[str], ranked: list[tuple[str, float]]) -> tuple[float, dict]:
    """The lowest crisis bar with no false alarm, and the model-alone crisis recall it leaves."""
    for threshold in CRISIS_CANDIDATES:
        alarms = [t for t, (intent, conf) in zip(truth, ranked, strict=True)
                  if t != CRISIS and intent == CRISIS and conf >= threshold]
        if not alarms:
            break
    caught = [intent == CRISIS and conf >= threshold for t, (intent, conf) in zip(truth, ranked, strict=True)
              if t == CRISIS]
    return threshold, {"model_crisis_recall": round(sum(caught) / max(1, len(caught)), 4),
                       "crisis_n": len(caught), "negatives_n": sum(t != CRISIS for t in truth)}


def calibrate(settings: Settings, on_start=None) -> dict:
    work = Path(settings.var_dir) / "calibration"
    validation: list[Example] = []
    for language in SUPPORTED_LANGUAGES:
        examples = training_examples(language)
        write_nlu_yaml(work / "data" / f"{language}.yml", [e for e in examples if not is_validation(e)])
        validation += [e for e in examples if is_validation(e)]
    inputs = TrainingInputs(name="calibration", config=PRODUCT.config, data=(DIALOGUE_DATA, work / "data"))
    model = ensure_model(settings, on_start=on_start, inputs=inputs)

    identifier = default_identifier()
    nonsense = generated_nonsense(40 * len(SUPPORTED_LANGUAGES))
    items = [(e.text, e.intent) for e in validation] + [(text, FALLBACK) for text in nonsense]
    languages = [identifier.identify(text).language or settings.default_language for text, _ in items]
    # Crisis development sets, parsed in their own language (they only inform the crisis bar).
    for language in SUPPORTED_LANGUAGES:
        crisis, calm = crisis_development_set(language)
        items += [(text, CRISIS) for text in crisis] + [(text, NOT_CRISIS) for text in calm]
        languages += [language] * (len(crisis) + len(calm))
    parsed = parse_batch(settings, model.path, [{"text": t, "language": lang}
                                                for (t, _), lang in zip(items, languages, strict=True)])

    per_language: dict[str, dict] = {}
    for language in SUPPORTED_LANGUAGES:
        truth, ranked = [], []
        for (_text, intent), detected, result in zip(items, languages, parsed, strict=True):
            if detected != language:
                continue
            # Raw DIET ranking: skip a fallback the currently installed thresholds may have inserted.
            top = next((r for r in result["ranking"] if r[0] != FALLBACK), [FALLBACK, 0.0])
            truth.append(intent)
            ranked.append((top[0], top[1]))
        intents_only = [(t, r) for t, r in zip(truth, ranked, strict=True) if t != NOT_CRISIS]
        threshold, score = best_threshold([t for t, _ in intents_only], [r for _, r in intents_only])
        bar, crisis_report = crisis_threshold(truth, ranked)
        per_language[language] = {"threshold": threshold, "crisis_threshold": bar,
                                  "validation_macro_f1": round(score, 4), "n": len(intents_only), **crisis_report}

    document = {
        "fitted": datetime.now(UTC).date().isoformat(),
        "calibration_model": model.path.name,
        "for_training_data": PRODUCT.digest(),
        "languages": {lang: {"threshold": v["threshold"], "crisis_threshold": v["crisis_threshold"]}
                      for lang, v in per_language.items()},
        "validation": per_language,
    }
    THRESHOLDS_FILE.write_text(json.dumps(document, indent=2) + "\n")
    return document
