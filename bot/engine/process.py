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
from dataclasses import dataclass
from pathlib import Path

from bot.settings import REPO_ROOT, Settings

CONFIG = Path("config.yml")
DOMAIN = Path("bot/domain.yml")
CREDENTIALS = Path("bot/credentials.yml")
ENDPOINTS = Path("bot/endpoints.yml")
DIALOGUE_DATA = Path("bot/data")
NLU_DATA = Path("nlu/data")
COMPONENTS = Path("nlu/rasa_components")


def model_inputs(root: Path = REPO_ROOT) -> list[Path]:
    """Every file that shapes a trained model, relative to the repository root, in a stable order."""
    files = [CONFIG, DOMAIN]
    for folder, pattern in ((DIALOGUE_DATA, "*.yml"), (NLU_DATA, "*.yml"), (COMPONENTS, "*.py"),
                            (COMPONENTS, "requirements.txt")):
        files += [path.relative_to(root) for path in (root / folder).rglob(pattern)]
    return sorted(set(files))


def model_hash(root: Path = REPO_ROOT) -> str:
    digest = hashlib.sha256()
    for relative in model_inputs(root):
        digest.update(str(relative).encode() + b"\0")
        digest.update((root / relative).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_name(root: Path = REPO_ROOT) -> str:
    return f"brobygger-{model_hash(root)}"


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


def _rasa(settings: Settings, *args: str) -> list[str]:
    if not Path(settings.rasa_python).exists():
        raise FileNotFoundError(f"Rasa's environment is missing ({settings.rasa_python}); run `make run` to set it up")
    return [str(settings.rasa_python), "-m", "nlu.rasa_components.launcher", *args]


@dataclass
class TrainedModel:
    path: Path
    trained: bool  # False when it came from a cache
    seconds: float


def ensure_model(settings: Settings, on_start: Callable[[Path], None] | None = None,
                 force: bool = False) -> TrainedModel:
    """Return the model for the current inputs, training it only when no cache has it."""
    name = model_name()
    local = Path(settings.models_dir) / f"{name}.tar.gz"
    cached = Path(settings.model_cache_dir) / f"{name}.tar.gz"
    Path(settings.models_dir).mkdir(parents=True, exist_ok=True)
    Path(settings.model_cache_dir).mkdir(parents=True, exist_ok=True)

    # One training at a time per machine: a second caller waits and then finds the cache filled.
    with open(Path(settings.model_cache_dir) / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and local.exists():
            return TrainedModel(local, False, 0.0)
        if not force and cached.exists():
            _atomic_copy(cached, local)
            return TrainedModel(local, False, 0.0)

        log_path = Path(settings.var_dir) / "logs" / "rasa-train.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        if on_start:
            on_start(log_path)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="brobygger-train-") as out, log_path.open("w") as log:
            command = _rasa(
                settings, "train", "--config", str(CONFIG), "--domain", str(DOMAIN),
                "--data", str(DIALOGUE_DATA), str(NLU_DATA), "--out", out, "--fixed-model-name", name,
            )
            result = subprocess.run(command, cwd=REPO_ROOT, env=engine_env(settings), stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            produced = Path(out) / f"{name}.tar.gz"
            if result.returncode != 0 or not produced.exists():
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"rasa train failed (log: {log_path}):\n{tail}")
            seconds = time.monotonic() - started
            _atomic_copy(produced, cached)
            _atomic_copy(produced, local)
            cached.with_suffix("").with_suffix(".json").write_text(json.dumps({"training_s": round(seconds, 1)}))
        return TrainedModel(local, True, seconds)


def training_seconds(settings: Settings, model: Path) -> float | None:
    """How long the cached model took to train (recorded when it was trained on this machine)."""
    meta = Path(settings.model_cache_dir) / (model.name.removesuffix(".tar.gz") + ".json")
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
    command = _rasa(
        settings, "run", "--model", str(model), "--endpoints", str(ENDPOINTS),
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
