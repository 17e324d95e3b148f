"""Pipeline variants trained only to compare against the product pipeline."""

from pathlib import Path

import yaml

from bot.engine.process import PRODUCT, TrainingInputs
from bot.settings import Settings

DENSE_COMPONENT = "nlu.rasa_components.pipeline.e5_featurizer.E5SentenceFeaturizer"


def sparse_only(settings: Settings) -> TrainingInputs:
    """The product pipeline without the dense e5 sentence features."""
    config = yaml.safe_load(PRODUCT.config.read_text(encoding="utf-8"))
    config["pipeline"] = [step for step in config["pipeline"] if step["name"] != DENSE_COMPONENT]
    path = Path(settings.var_dir) / "evaluation" / "config-sparse.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return TrainingInputs(name="sparse", config=path, data=PRODUCT.data)
