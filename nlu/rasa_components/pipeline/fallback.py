"""FallbackClassifier with a confidence threshold per language.

DIET's confidences are not equally calibrated across languages (less data, more spelling variation in
some), so one global threshold either lets gibberish through in one language or rejects good messages
in another. Thresholds are fitted on a validation split by `brobygger calibrate` and read from
thresholds.json next to this file when the model loads; the language comes from the message metadata
the app sends with every turn.

DIET's `crisis` guess never decides (nlu.intent_decision.decide drops it): the app's crisis screen
decides crisis before a message reaches the engine and sends it as the forced intent "/crisis", which
Rasa's RegexMessageHandler sets after this component. The decision itself is nlu.intent_decision,
shared with the app's parse API.
"""

from __future__ import annotations

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
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from nlu.intent_decision import FALLBACK_INTENT, bars_for, decide, load_thresholds


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageFallbackClassifier(FallbackClassifier):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.per_language: dict[str, dict[str, float]] = load_thresholds()

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LanguageFallbackClassifier:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            language = (message.get("metadata") or {}).get("language")
            threshold, ambiguity = bars_for(language, self.per_language, self.component_config[THRESHOLD_KEY],
                                            self.component_config[AMBIGUITY_THRESHOLD_KEY])
            ranking = message.data.get(INTENT_RANKING_KEY) or (
                [message.data[INTENT]] if message.data.get(INTENT) else [])
            intent, ranking = decide(ranking, threshold, ambiguity)
            if intent["name"] == FALLBACK_INTENT:
                intent = _fallback_intent(threshold)
                ranking = [intent, *ranking]
            message.data[INTENT] = intent
            message.data[INTENT_RANKING_KEY] = ranking
        return messages
