"""FallbackClassifier with a confidence threshold per language.

DIET's confidences are not equally calibrated across languages (less data, more spelling variation in
some), so one global threshold either lets gibberish through in one language or rejects good messages
in another. Thresholds are fitted on a validation split by `brobygger calibrate` and read from
thresholds.json next to this file when the model loads; the language comes from the message metadata
the app sends with every turn.

The `crisis` intent is a second net behind the app's crisis rules, and a false alarm is costly (an
emergency reply and an urgent hand-off for someone grieving or joking). So `crisis` gets its own,
higher per-language bar (`crisis` in thresholds.json): below it, the next intent in the ranking is
taken instead, under the ordinary threshold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.fallback_classifier import (
    AMBIGUITY_THRESHOLD_KEY,
    THRESHOLD_KEY,
    FallbackClassifier,
    _fallback_intent,
)
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.json"
CRISIS_INTENT = "crisis"
CRISIS_KEY = "crisis_threshold"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageFallbackClassifier(FallbackClassifier):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.per_language: dict[str, dict[str, float]] = {}
        if THRESHOLDS_FILE.exists():
            self.per_language = json.loads(THRESHOLDS_FILE.read_text())["languages"]

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LanguageFallbackClassifier:
        return cls(config)

    def _settings_for(self, message: Message) -> tuple[float, float, float]:
        language = (message.get("metadata") or {}).get("language")
        chosen = self.per_language.get(language or "", {})
        threshold = chosen.get(THRESHOLD_KEY, self.component_config[THRESHOLD_KEY])
        return (threshold,
                chosen.get(AMBIGUITY_THRESHOLD_KEY, self.component_config[AMBIGUITY_THRESHOLD_KEY]),
                max(threshold, chosen.get(CRISIS_KEY, self.component_config[CRISIS_KEY])))

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**FallbackClassifier.get_default_config(), CRISIS_KEY: 0.0}

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            threshold, ambiguity, crisis_threshold = self._settings_for(message)
            intent = message.data.get(INTENT) or {}
            ranking = message.data.get(INTENT_RANKING_KEY, [])
            if intent.get("name") == CRISIS_INTENT and (intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0) < crisis_threshold:
                ranking = [r for r in ranking if r.get("name") != CRISIS_INTENT]
                message.data[INTENT_RANKING_KEY] = ranking
                intent = dict(ranking[0]) if ranking else {}
                message.data[INTENT] = intent
            confidence = intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0
            ambiguous = len(ranking) >= 2 and (
                ranking[0].get(PREDICTED_CONFIDENCE_KEY, 1.0) - ranking[1].get(PREDICTED_CONFIDENCE_KEY, 1.0)
            ) < ambiguity
            if confidence < threshold or ambiguous:
                message.data[INTENT] = _fallback_intent(threshold)
                message.data.setdefault(INTENT_RANKING_KEY, [])
                message.data[INTENT_RANKING_KEY].insert(0, _fallback_intent(threshold))
        return messages
