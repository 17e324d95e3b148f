"""The engine's files and process: train a model (cached by a hash of its inputs) and start the server.

Training takes minutes, so models are cached by the hash of everything that shapes them, in the
checkout (`models/`) and outside it (`~/.cache/brobygger/models/`), so a fresh clone on the same
machine — which is what CI is — reuses the model instead of training again.
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from bot.settings import REPO_ROOT, Settings

CONFIG = REPO_ROOT / "config.yml"
DOMAIN = REPO_ROOT / "bot" / "domain.yml"
CREDENTIALS = REPO_ROOT / "bot" / "credentials.yml"
ENDPOINTS = REPO_ROOT / "bot" / "endpoints.yml"
DIALOGUE_DATA = REPO_ROOT / "bot" / "data"
NLU_DATA = REPO_ROOT / "nlu" / "data"
PIPELINE_COMPONENTS = REPO_ROOT / "nlu" / "rasa_components" / "pipeline"
RASA_REQUIREMENTS = REPO_ROOT / "nlu" / "rasa_components" / "requirements.txt"


@cache
def domain_intents() -> tuple[str, ...]:
    """The intents the domain declares, in its order (what a label or a correction may name)."""
    return tuple(yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["intents"])


@dataclass(frozen=True)
class TrainingInputs:
    """What a model is trained from. The default is the product model; evaluation trains variants."""

    name: str = "brobygger"
    config: Path = CONFIG
    data: tuple[Path, ...] = (DIALOGUE_DATA, NLU_DATA)
    domain: Path = DOMAIN

    def files(self) -> list[tuple[str, Path]]:
        """(label, path) of every file that shapes the model, in a stable order."""
        found = [("config", self.config), ("domain", self.domain), ("requirements", RASA_REQUIREMENTS)]
        for index, folder in enumerate(self.data):
            found += [(f"data{index}/{p.relative_to(folder)}", p) for p in sorted(folder.rglob("*.yml"))]
        found += [(f"components/{p.name}", p) for p in sorted(PIPELINE_COMPONENTS.glob("*.py"))]
        return found

    def digest(self) -> str:
        digest = hashlib.sha256()
        for label, path in self.files():
            digest.update(label.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()[:16]

    def model_name(self) -> str:
        return f"{self.name}-{self.digest()}"


PRODUCT = TrainingInputs()


def engine_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        RASA_TELEMETRY_ENABLED="false",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        HF_HUB_OFFLINE="1",
        # The engine must not grab every core: the app shares this machine.
        OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "2"),
    )
    env.update(extra or {})
    return env


def rasa_command(settings: Settings, module: str, *args: str) -> list[str]:
    """A command that runs `module` (under nlu.rasa_components) in Rasa's environment."""
    if not Path(settings.rasa_python).exists():
        raise FileNotFoundError(f"Rasa's environment is missing ({settings.rasa_python}); run `make run` to set it up")
    return [str(settings.rasa_python), "-m", f"nlu.rasa_components.{module}", *args]


@dataclass
class TrainedModel:
    path: Path
    trained: bool  # False when it came from a cache
    seconds: float
    inputs: TrainingInputs = field(default=PRODUCT)


def ensure_model(settings: Settings, on_start: Callable[[Path], None] | None = None,
                 force: bool = False, inputs: TrainingInputs = PRODUCT) -> TrainedModel:
    """Return the model for the given inputs, training it only when no cache has it."""
    name = inputs.model_name()
    local = Path(settings.models_dir) / f"{name}.tar.gz"
    cached = Path(settings.model_cache_dir) / f"{name}.tar.gz"
    Path(settings.models_dir).mkdir(parents=True, exist_ok=True)
    Path(settings.model_cache_dir).mkdir(parents=True, exist_ok=True)

    # One training at a time per machine: a second caller waits and then finds the cache filled.
    with open(Path(settings.model_cache_dir) / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and local.exists():
            return TrainedModel(local, False, 0.0, inputs)
        if not force and cached.exists():
            _atomic_copy(cached, local)
            return TrainedModel(local, False, 0.0, inputs)

        log_path = Path(settings.var_dir) / "logs" / f"rasa-train-{inputs.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        if on_start:
            on_start(log_path)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="brobygger-train-") as out, log_path.open("w") as log:
            command = rasa_command(
                settings, "launcher", "train", "--config", str(inputs.config), "--domain", str(inputs.domain),
                "--data", *map(str, inputs.data), "--out", out, "--fixed-model-name", name,
            )
            # Rasa keeps a training cache in the working directory; give it one under var/.
            env = engine_env(settings, {"RASA_CACHE_DIRECTORY": str(Path(settings.var_dir) / "rasa-cache")})
            result = subprocess.run(command, cwd=REPO_ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            produced = Path(out) / f"{name}.tar.gz"
            if result.returncode != 0 or not produced.exists():
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"rasa train failed (log: {log_path}):\n{tail}")
            seconds = time.monotonic() - started
            _atomic_copy(produced, cached)
            _atomic_copy(produced, local)
            _meta_path(cached).write_text(json.dumps({"training_s": round(seconds, 1)}))
        return TrainedModel(local, True, seconds, inputs)


def _meta_path(model: Path) -> Path:
    return model.with_name(model.name.removesuffix(".tar.gz") + ".json")


def training_seconds(settings: Settings, model: Path) -> float | None:
    """How long the cached model took to train (recorded when it was trained on this machine)."""
    meta = _meta_path(Path(settings.model_cache_dir) / model.name)
    return json.loads(meta.read_text())["training_s"] if meta.exists() else None


def _atomic_copy(source: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".part")
    shutil.copyfile(source, tmp)
    tmp.replace(target)


def start_server(settings: Settings, model: Path, token: str, action_token: str,
                 action_url: str, log_path: Path) -> subprocess.Popen:
    """Start `rasa run` on loopback with an auth token; the caller owns (and must stop) the process."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    Path(settings.rasa_tracker_db).parent.mkdir(parents=True, exist_ok=True)
    command = rasa_command(
        settings, "launcher", "run", "--model", str(model), "--endpoints", str(ENDPOINTS),
        "--credentials", str(CREDENTIALS), "--enable-api", "--auth-token", token,
        "--interface", settings.rasa_host, "--port", str(settings.rasa_port),
    )
    env = engine_env(settings, {
        "BROBYGGER_ACTION_URL": action_url,
        "BROBYGGER_ACTION_TOKEN": action_token,
        "BROBYGGER_RASA_TRACKER_DB": str(Path(settings.rasa_tracker_db).resolve()),
    })
    log = log_path.open("ab")
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def parse_batch(settings: Settings, model: Path, items: list[dict], env: dict[str, str] | None = None) -> list[dict]:
    """Parse many {"text", "language"} items with a model, in Rasa's environment, without a server."""
    with tempfile.TemporaryDirectory(prefix="brobygger-parse-") as tmp:
        source, target = Path(tmp) / "in.json", Path(tmp) / "out.json"
        source.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
        result = subprocess.run(rasa_command(settings, "batch_parse", str(model), str(source), str(target)),
                                cwd=REPO_ROOT, env=engine_env(settings, env), capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"batch parse failed:\n{result.stderr[-3000:]}")
        return json.loads(target.read_text(encoding="utf-8"))
