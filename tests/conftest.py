"""Shared fixtures. End-to-end fixtures start the real Rasa server with the cached trained model."""

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.app import create_app  # noqa: E402
from bot.settings import REPO_ROOT, Settings  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_settings(var_dir: Path, **overrides) -> Settings:
    values = {
        "var_dir": var_dir,
        "host": "127.0.0.1",
        "port": free_port(),
        "rasa_port": free_port(),
        "rasa_token": "test-rasa-token",
        "action_token": "test-action-token",
        "rasa_timeout_s": 20.0,
        # The converted embedding model and the offer index are built once per checkout (`make index`),
        # not per test: the catalogue is the bundled one.
        "embedding_dir": REPO_ROOT / "var" / "models",
        "index_dir": REPO_ROOT / "var" / "index",
        # Labels from the review queue are written here, never into the repository's nlu/data/learned.
        "learned_data_dir": var_dir / "learned",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an app whose engine is NOT running (nothing listens on rasa_port)."""
    return make_settings(tmp_path / "var", rasa_timeout_s=2.0)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


class ThreadedServer(uvicorn.Server):
    """The real app on a real port, in this process, so tests can look at its store."""

    @contextmanager
    def running(self) -> Iterator["ThreadedServer"]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not self.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("app did not start")
            time.sleep(0.05)
        try:
            yield self
        finally:
            self.should_exit = True
            thread.join(10)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (tests/browser.py). One per test module: while
    Playwright's sync API runs, an event loop runs in this thread, and async tests elsewhere need it gone."""
    from tests.browser import launched_chromium

    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def trained_model():
    from bot.engine.process import ensure_model
    from bot.settings import get_settings

    return ensure_model(get_settings()).path


@pytest.fixture(scope="session")
def live(tmp_path_factory, trained_model) -> Iterator["Live"]:
    """The real stack: Rasa (trained model, SQL tracker store) + the app, talking over HTTP."""
    from bot.engine import process

    var_dir = tmp_path_factory.mktemp("live") / "var"
    live_settings = make_settings(var_dir)
    app = create_app(live_settings)
    server = ThreadedServer(uvicorn.Config(app, host=live_settings.host, port=live_settings.port,
                                           log_level="warning", access_log=False))
    log_path = var_dir / "logs" / "rasa.log"
    with server.running():
        rasa = process.start_server(
            live_settings, trained_model, live_settings.rasa_token, live_settings.action_token,
            f"http://{live_settings.host}:{live_settings.port}/rasa/actions", log_path,
        )
        try:
            _wait_for_rasa(live_settings, rasa, log_path)
            yield Live(live_settings, app, f"http://{live_settings.host}:{live_settings.port}", log_path)
        finally:
            os.killpg(rasa.pid, 15)
            rasa.wait(30)


class Live:
    def __init__(self, settings: Settings, app, url: str, rasa_log: Path) -> None:
        self.settings, self.app, self.url, self.rasa_log = settings, app, url, rasa_log
        self.http = httpx.Client(base_url=url, timeout=60)

    @property
    def services(self):
        return self.app.state.services

    def say(self, conversation_id: str, text: str, language: str | None = None) -> httpx.Response:
        body = {"conversation_id": conversation_id, "text": text}
        if language:
            body["language"] = language
        return self.http.post("/api/webchat/messages", json=body)


def tap_find_help_if_offered(live: "Live", conversation_id: str, reply: dict) -> tuple[dict, list[str]]:
    """A sentence the model was unsure of gets two likely meanings as buttons, "find help for this" always
    one of them (bot/i18n/render.py); a citizen with a need taps it and the search is for what they wrote.
    Retraining moves a few messages in and out of that zone from one model to the next, so flow tests go
    on the way a citizen would; a confident misreading still fails them. Returns the reply to go on from
    and the texts sent."""
    find_help = live.services.renderer.text("choice_seek_support", reply["language"])
    if find_help in (reply["messages"][-1].get("quick_replies") or []):
        return live.say(conversation_id, find_help).json(), [find_help]
    return reply, []


def _wait_for_rasa(settings: Settings, proc, log_path: Path) -> None:
    deadline = time.monotonic() + settings.rasa_start_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"rasa exited: {log_path.read_text()[-3000:]}")
        try:
            response = httpx.get(f"{settings.rasa_url}/status", params={"token": settings.rasa_token}, timeout=2)
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("rasa did not start in time")
