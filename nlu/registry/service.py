"""The model registry: which versions exist, which one is live, and the history rollback walks.

The engine is changed first and the registry second: a model the engine could not load never
becomes "active" here.
"""

from pathlib import Path

from sqlalchemy import select

from bot.store.db import Store
from nlu.registry.gate import verdict
from nlu.registry.models import ACTIVE, CANDIDATE, RETIRED, ROLLED_BACK, Activation, ModelVersion


class RegistryError(ValueError):
    """Refused: unknown version, a gate that did not pass, nothing to roll back to. Says why."""


def model_name(path: Path) -> str:
    return Path(path).name.removesuffix(".tar.gz")


def register(store: Store, path: Path, source: str, job_id: str | None = None,
             learned_examples: int | None = None) -> ModelVersion:
    """The version for this model file, created on first sight (a retrain of unchanged data is the same model)."""
    with store.session() as session:
        found = session.scalars(select(ModelVersion).where(ModelVersion.name == model_name(path))).first()
        if found is None:
            found = ModelVersion(name=model_name(path), path=str(path), source=source, state=CANDIDATE,
                                 job_id=job_id, learned_examples=learned_examples)
            session.add(found)
        elif not Path(found.path).exists():
            found.path = str(path)
        return found


def get(store: Store, version_id: int) -> ModelVersion:
    with store.session() as session:
        version = session.get(ModelVersion, version_id)
        if version is None:
            raise RegistryError(f"no model version {version_id}")
        return version


def versions(store: Store) -> list[ModelVersion]:
    with store.session() as session:
        return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id)))


def active(store: Store) -> ModelVersion | None:
    with store.session() as session:
        return session.scalars(select(ModelVersion).where(ModelVersion.state == ACTIVE)).first()


def history(store: Store) -> list[Activation]:
    with store.session() as session:
        return list(session.scalars(select(Activation).order_by(Activation.id)))


def save_evaluation(store: Store, version_id: int, metrics: dict) -> None:
    with store.session() as session:
        session.get(ModelVersion, version_id).metrics = metrics


def judge(store: Store, version_id: int, baseline: ModelVersion) -> dict:
    """Store and return the gate's verdict for a candidate against the active model."""
    with store.session() as session:
        version = session.get(ModelVersion, version_id)
        result = verdict(version.metrics, baseline.metrics)
        result["baseline"] = baseline.name
        version.gate = result
        return result


def check_promotable(version: ModelVersion, current: ModelVersion | None, override_reason: str | None) -> str | None:
    """Refuse (RegistryError) unless the version may go live; returns the override reason to record,
    which is kept only when it overrode something."""
    if current is not None and version.id == current.id:
        raise RegistryError(f"{version.name} is already the active model")
    if current is None:
        return None  # nothing live to protect (the first model of a fresh install)
    gate = version.gate
    if not gate or gate.get("baseline") != current.name:
        raise RegistryError(f"{version.name} has not been evaluated against the active model {current.name}; "
                            "train or evaluate it first")
    if not gate["crisis_ok"]:
        raise RegistryError("the gate refuses it: crisis recall would fall (" + "; ".join(
            r for r in gate["reasons"] if "crisis" in r) + "). Crisis cannot be overridden.")
    if gate["f1_ok"]:
        return None
    if not (override_reason or "").strip():
        raise RegistryError("the gate refuses it: " + "; ".join(gate["reasons"])
                            + ". An administrator may override the F1 rule with a written reason.")
    return override_reason


def activate(store: Store, version_id: int, action: str, user_id: int | None = None,
             reason: str | None = None) -> ModelVersion:
    """Record that the engine now runs this version (call after the engine has loaded it)."""
    with store.session() as session:
        version = session.get(ModelVersion, version_id)
        for previous in session.scalars(select(ModelVersion).where(ModelVersion.state == ACTIVE)):
            previous.state = ROLLED_BACK if action == "rollback" else RETIRED
        version.state = ACTIVE
        session.add(Activation(version_id=version.id, action=action, user_id=user_id, reason=reason))
        return version


def rollback_target(store: Store) -> ModelVersion:
    """The version that was live before the current one (skipping versions already rolled back from)."""
    current = active(store)
    if current is None:
        raise RegistryError("no model is active")
    with store.session() as session:
        for activation in session.scalars(select(Activation).order_by(Activation.id.desc())):
            version = session.get(ModelVersion, activation.version_id)
            if version.id != current.id and version.state != ROLLED_BACK and Path(version.path).exists():
                return version
    raise RegistryError("there is no earlier model to roll back to")


def startup_model(store: Store, deployed: Path) -> Path:
    """The model the engine starts with.

    A model trained from the repository's data that the registry has never seen is a deployment and
    goes live (it passed CI). One it has seen goes live only if it is the active one: a candidate the
    gate refused, or a version rolled back from, is not brought back by a restart. Otherwise the
    registry's active model starts.
    """
    version = register(store, deployed, "deployment")
    current = active(store)
    if current is None or (version.state == CANDIDATE and version.source == "deployment" and version.gate is None):
        activate(store, version.id, "deployment")
        return deployed
    if Path(current.path).exists():
        return Path(current.path)
    activate(store, version.id, "deployment")  # the active model's file is gone: the deployed one it is
    return deployed
