"""Training jobs: one at a time, in a background thread, with progress read from Rasa's training log.

A job trains a candidate on the repository's training data plus the labelled examples
(settings.learned_data_dir) with settings.training_config, evaluates it — and the active model, if
that was never evaluated — on the held-out tests, and stores the gate's verdict. It never promotes:
that is an administrator's decision, made with the verdict in front of them.
"""

import logging
import re
import threading
import uuid
from pathlib import Path

import yaml
from sqlalchemy import select

from bot.conversations.models import utcnow
from bot.engine.process import DIALOGUE_DATA, NLU_DATA, TrainingInputs, ensure_model
from bot.settings import Settings
from bot.store.db import Store
from nlu.evaluation.evaluate import evaluate
from nlu.registry import service as registry
from nlu.registry.models import TrainingJob
from nlu.review.learned import LearnedData

log = logging.getLogger(__name__)

RUNNING = ("queued", "training", "evaluating")
_EPOCHS = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")
_COMPONENT_FINISHED = re.compile(r"Finished training component '(\w+)'")
_COMPONENT_RESTORED = re.compile(r"Restored component '(\w+)'")
_COMPONENT_START = re.compile(r"Starting to train component '(\w+)'")
# Pipeline steps Rasa does not train (no "Finished training component" line is ever logged for them).
_UNTRAINED = ("Tokenizer", "FallbackClassifier", "EntitySynonymMapper")

_lock = threading.Lock()
_thread: threading.Thread | None = None


class JobRefused(RuntimeError):
    """A job is already running (one at a time: training takes both cores)."""


def training_inputs(settings: Settings) -> TrainingInputs:
    learned = Path(settings.learned_data_dir).resolve()
    data: tuple[Path, ...] = (DIALOGUE_DATA, NLU_DATA)
    if not learned.is_relative_to(NLU_DATA.resolve()):
        data += (learned,)  # inside nlu/data Rasa (and the model hash) already read it
    learned.mkdir(parents=True, exist_ok=True)
    return TrainingInputs(name="brobygger", config=Path(settings.training_config), data=data)


def learned_count(settings: Settings) -> int:
    data = LearnedData(settings.learned_data_dir)
    return sum(len(data.examples(p.stem)) for p in Path(settings.learned_data_dir).glob("*.yml"))


def trainable_components(config: Path) -> int:
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    steps = [step["name"] for step in document.get("pipeline", []) + document.get("policies", [])]
    return max(1, sum(not any(part in name for part in _UNTRAINED) for name in steps))


def training_progress(log_text: str, components: int) -> tuple[float, str]:
    """(fraction, stage) from Rasa's training log: components finished, and the epoch of the current one."""
    finished = len(_COMPONENT_FINISHED.findall(log_text))
    done = finished + len(_COMPONENT_RESTORED.findall(log_text))  # restored: unchanged, from Rasa's cache
    started = _COMPONENT_START.findall(log_text)
    current = started[-1] if len(started) > finished else None
    epochs = _EPOCHS.findall(log_text.rsplit("Starting to train component", 1)[-1])
    within = 0.0
    stage = "preparing the training data"
    if done:
        stage = f"{done} of {components} components trained"
    if current and epochs:
        epoch, total = map(int, epochs[-1])
        within = epoch / max(1, total)
        stage = f"training {current}: epoch {epoch} of {total}"
    elif current:
        stage = f"training {current}"
    return min(0.99, (done + within) / components), stage


def start(store: Store, settings: Settings, user_id: int | None) -> TrainingJob:
    """Start a job in the background; JobRefused while another one runs."""
    global _thread
    with _lock:
        with store.session() as session:
            running = session.scalars(select(TrainingJob).where(TrainingJob.state.in_(RUNNING))).first()
            if running is not None and _thread is not None and _thread.is_alive():
                raise JobRefused(f"training job {running.id} is still running ({running.stage})")
            if running is not None:  # the process that ran it is gone (the app was restarted)
                running.state, running.error, running.finished_at = "failed", "the app stopped during the job", utcnow()
            job = TrainingJob(id=uuid.uuid4().hex, state="queued", stage="waiting to start", requested_by=user_id)
            session.add(job)
        _thread = threading.Thread(target=run, args=(store, settings, job.id), name=f"train-{job.id[:8]}",
                                   daemon=True)
        _thread.start()
    return job


def wait(seconds: float) -> None:
    """Sleep while a job runs, waking early when it ends (for the CLI's progress loop)."""
    thread = _thread
    if thread is not None:
        thread.join(seconds)


def get(store: Store, job_id: str) -> TrainingJob | None:
    with store.session() as session:
        return session.get(TrainingJob, job_id)


def jobs(store: Store, limit: int = 20) -> list[TrainingJob]:
    with store.session() as session:
        return list(session.scalars(select(TrainingJob).order_by(TrainingJob.started_at.desc()).limit(limit)))


def _update(store: Store, job_id: str, **values) -> None:
    with store.session() as session:
        job = session.get(TrainingJob, job_id)
        for name, value in values.items():
            setattr(job, name, value)


def run(store: Store, settings: Settings, job_id: str) -> None:
    """The job itself (also called directly by `brobygger models train`)."""
    try:
        _run(store, settings, job_id)
    except Exception as exc:  # noqa: BLE001 — a job records every failure instead of dying silently
        log.exception("training job %s failed", job_id)
        _update(store, job_id, state="failed", error=str(exc)[-4000:], finished_at=utcnow())


def _run(store: Store, settings: Settings, job_id: str) -> None:
    inputs = training_inputs(settings)
    components = trainable_components(inputs.config)
    stop_watching = threading.Event()

    def watch(log_path: Path) -> None:
        _update(store, job_id, state="training", stage="starting Rasa", log_path=str(log_path))
        while not stop_watching.wait(1.0):
            try:
                fraction, stage = training_progress(log_path.read_text(errors="replace"), components)
            except OSError:
                continue
            _update(store, job_id, progress=round(0.8 * fraction, 3), stage=stage)

    watchers: list[threading.Thread] = []

    def on_start(log_path: Path) -> None:
        watchers.append(threading.Thread(target=watch, args=(log_path,), daemon=True))
        watchers[-1].start()

    _update(store, job_id, state="training", stage="checking the training data")
    try:
        trained = ensure_model(settings, on_start=on_start, inputs=inputs)
    finally:
        stop_watching.set()
        for watcher in watchers:
            watcher.join()  # its last progress write must not land after the next stage's
    candidate = registry.register(store, trained.path, "training", job_id, learned_count(settings))
    _update(store, job_id, version_id=candidate.id, state="evaluating", progress=0.8,
            stage="evaluating the candidate on the held-out tests")
    current = registry.active(store)
    if candidate.metrics is None:
        registry.save_evaluation(store, candidate.id, evaluate(settings, trained.path))
    if current is not None and current.id != candidate.id:
        if current.metrics is None:
            _update(store, job_id, progress=0.9, stage="evaluating the active model (first time)")
            registry.save_evaluation(store, current.id, evaluate(settings, Path(current.path)))
        registry.judge(store, candidate.id, registry.get(store, current.id))
    stage = "done: the gate's verdict is ready" if current is not None and current.id != candidate.id else \
        "done: the training data has not changed since the active model"
    _update(store, job_id, state="done", progress=1.0, stage=stage, finished_at=utcnow())
