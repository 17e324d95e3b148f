"""Start and stop the two processes — the Rasa engine and the app — as one stack.

Used by `brobygger run`, the end-to-end tests and the benchmarks, so all three run the same thing.
Each process gets its own process group, so stopping the stack leaves no orphans behind.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.engine import process
from bot.settings import REPO_ROOT, Settings


class StackError(RuntimeError):
    pass


@dataclass
class Stack:
    settings: Settings
    rasa_token: str
    action_token: str
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    rasa_ready_s: float = 0.0

    @property
    def app_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def stop(self, timeout_s: float = 15.0) -> None:
        for proc in self.processes.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for proc in self.processes.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(5)

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise StackError(f"{name} exited with code {proc.returncode}; see {self.log_dir / (name + '.log')}")


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass


def start_app(settings: Settings, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "bot.app:create_app", "--factory",
               "--host", settings.host, "--port", str(settings.port), "--no-access-log"]
    log = log_path.open("ab")
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def start_stack(settings: Settings, model: Path, log_dir: Path | None = None,
                extra_env: dict[str, str] | None = None) -> Stack:
    """Start Rasa and the app, wait until both answer, and return the running stack."""
    log_dir = log_dir or Path(settings.var_dir) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(
        settings=settings,
        rasa_token=settings.rasa_token or secrets.token_urlsafe(24),
        action_token=settings.action_token or secrets.token_urlsafe(24),
        log_dir=log_dir,
    )
    app_env = dict(os.environ)
    app_env.update(extra_env or {})
    app_env.update({
        "BROBYGGER_HOST": settings.host,
        "BROBYGGER_PORT": str(settings.port),
        "BROBYGGER_VAR_DIR": str(settings.var_dir),
        "BROBYGGER_RASA_HOST": settings.rasa_host,
        "BROBYGGER_RASA_PORT": str(settings.rasa_port),
        "BROBYGGER_RASA_TOKEN": stack.rasa_token,
        "BROBYGGER_ACTION_TOKEN": stack.action_token,
        "HF_HUB_OFFLINE": "1",
    })
    if settings.database_url:
        app_env["BROBYGGER_DATABASE_URL"] = settings.database_url
    started = time.monotonic()
    try:
        stack.processes["app"] = start_app(settings, app_env, log_dir / "app.log")
        stack.processes["rasa"] = process.start_server(
            settings, model, stack.rasa_token, stack.action_token,
            f"http://{settings.host}:{settings.port}/rasa/actions", log_dir / "rasa.log",
        )
        _wait(stack, f"{stack.app_url}/healthz", {}, settings.rasa_start_timeout_s)
        _wait(stack, f"{settings.rasa_url}/status", {"token": stack.rasa_token}, settings.rasa_start_timeout_s)
        stack.rasa_ready_s = time.monotonic() - started
    except BaseException:
        stack.stop()
        raise
    return stack


def _wait(stack: Stack, url: str, params: dict, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            if httpx.get(url, params=params, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise StackError(f"{url} did not answer within {timeout_s:.0f} s; logs in {stack.log_dir}")
