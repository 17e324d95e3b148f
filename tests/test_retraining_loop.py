"""The whole review-and-retrain loop against a real Rasa server: messages the live model gets wrong →
the review queue → labels through the admin API → a training job → the gate → promotion into the
running engine → the same messages now parse correctly → a candidate that breaks Somali is refused →
rollback restores the previous model.

Training uses tests/rasa/config-small.yml (sparse features + a linear classifier, ~1 min) so the loop
runs in CI; the product pipeline goes through exactly the same code. The starting model is cached
by the hash of its inputs; every candidate is trained for real in each run.
"""

import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import uvicorn

from bot.app import create_app
from bot.engine import process
from bot.settings import REPO_ROOT, get_settings
from bot.users.service import add_user
from knowledge.embeddings import embedder_for
from nlu.crisis.classifier import classifier_file as crisis_classifier_file
from nlu.registry import jobs
from nlu.registry import service as registry
from nlu.review import service as review
from nlu.training_data import read_nlu_yaml
from tests.conftest import ThreadedServer, _wait_for_rasa, make_settings

pytestmark = pytest.mark.slow

SMALL_CONFIG = REPO_ROOT / "tests" / "rasa" / "config-small.yml"
# Citizen-style Danish messages with an unambiguous intent. The test uses those the starting model gets
# wrong (at least three must be), so it keeps working when the training data improves.
POOL = [
    ("hva så", "greet"),
    ("jeg mangler nogen at gå tur med", "seek_support"),
    ("hvem kan følge mig til lægen på onsdag", "seek_support"),
    ("kan i finde et kor jeg kan synge i", "seek_support"),
    ("hvor kan jeg få hjælp til at læse breve fra kommunen", "seek_support"),
    ("jeg er alene hele dagen", "seek_support"),
    ("findes der en gruppe for enker", "seek_support"),
    ("god weekend", "goodbye"),
    ("snakkes", "goodbye"),
]
# A careless labeller: Somali messages shaped like the training examples, each given a wrong intent.
WRONG_INTENT = dict(zip(
    ["greet", "goodbye", "thank", "affirm", "deny", "help", "bot_challenge", "more_results", "offer_details",
     "opt_out", "delete_data", "request_human", "choose_language"],
    ["goodbye", "thank", "affirm", "deny", "help", "bot_challenge", "more_results", "offer_details", "opt_out",
     "delete_data", "request_human", "choose_language", "greet"], strict=True))


class Loop:
    def __init__(self, settings, app, url: str, admin: str, counsellor: str) -> None:
        self.settings, self.app, self.url = settings, app, url
        self.api = httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {admin}"})
        self.counsellor = httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {counsellor}"})
        self.rasa = httpx.Client(base_url=settings.rasa_url, timeout=60, params={"token": settings.rasa_token})

    @property
    def store(self):
        return self.app.state.services.store

    def parse(self, text: str) -> str:
        response = self.rasa.post("/model/parse", json={"text": text})
        response.raise_for_status()
        return response.json()["intent"]["name"]

    def loaded_model(self) -> str:
        return Path(self.rasa.get("/status").json()["model_file"]).name

    def train(self) -> dict:
        response = self.api.post("/api/admin/models/train")
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        again = self.api.post("/api/admin/models/train")
        assert again.status_code == 409 and "still running" in again.json()["detail"]
        seen, deadline = [], time.monotonic() + 600
        while time.monotonic() < deadline:
            job = self.api.get(f"/api/admin/models/jobs/{job_id}").json()
            seen.append((job["state"], job["progress"]))
            if job["state"] in ("done", "failed"):
                break
            time.sleep(1)
        assert job["state"] == "done", job["error"] or job["log_tail"]
        assert {"training", "evaluating"} <= {state for state, _ in seen}, seen
        progress = [p for _, p in seen]
        assert progress == sorted(progress) and progress[-1] == 1.0
        return job


@pytest.fixture(scope="module")
def loop(tmp_path_factory) -> Loop:
    root = tmp_path_factory.mktemp("retrain")
    settings = make_settings(
        root / "var", learned_data_dir=root / "learned", training_config=SMALL_CONFIG,
        models_dir=root / "models", model_cache_dir=root / "model-cache", rasa_timeout_s=60.0)
    # The starting model comes from the machine's cache (same inputs, same model); candidates do not.
    starting = process.ensure_model(get_settings(), inputs=jobs.training_inputs(settings)).path
    (root / "models").mkdir()
    shutil.copy(starting, root / "models" / starting.name)
    starting = root / "models" / starting.name
    # So is the crisis classifier (`make model` fits it; it does not depend on the dialogue model).
    crisis = crisis_classifier_file(embedder_for(settings))
    shutil.copy(next(Path(folder) / crisis for folder in (get_settings().models_dir, get_settings().model_cache_dir)
                     if (Path(folder) / crisis).exists()), root / "models" / crisis)

    app = create_app(settings)
    server = ThreadedServer(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                                           access_log=False))
    log_path = root / "var" / "logs" / "rasa.log"
    with server.running():
        store = app.state.services.store
        assert registry.startup_model(store, starting) == starting
        _, admin = add_user(store, f"admin-{uuid.uuid4().hex[:6]}", "admin", [])
        _, counsellor = add_user(store, f"counsellor-{uuid.uuid4().hex[:6]}", "counsellor", ["da"])
        rasa = process.start_server(settings, starting, settings.rasa_token, settings.action_token,
                                    f"http://{settings.host}:{settings.port}/rasa/actions", log_path)
        try:
            _wait_for_rasa(settings, rasa, log_path)
            yield Loop(settings, app, f"http://{settings.host}:{settings.port}", admin, counsellor)
        finally:
            os.killpg(rasa.pid, 15)
            rasa.wait(30)


def _queued(loop: Loop, texts: set[str], language: str, timeout_s: float = 20,
            until: Callable[[dict[str, dict]], bool] | None = None) -> dict[str, dict]:
    """The open review items with these texts, once `until` holds of them (understanding is logged off the
    reply's path, so the queue catches up a moment after the reply)."""
    deadline = time.monotonic() + timeout_s
    while True:
        queue = loop.api.get("/api/admin/review", params={"language": language})
        assert queue.status_code == 200, queue.text
        found = {item["text"]: item for cluster in queue.json()["clusters"] for item in cluster["items"]
                 if item["text"] in texts}
        if (len(found) == len(texts) and (until is None or until(found))) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def test_labelled_messages_are_learned_promoted_and_rolled_back(loop: Loop) -> None:
    starting_model = loop.loaded_model()
    wrong = [(text, intent) for text, intent in POOL if loop.parse(text) != intent]
    assert len(wrong) >= 3, f"the starting model gets almost all of the pool right; add harder messages: {POOL}"

    # Citizens write them in the web chat; each lands in the queue with a reason.
    conversations = {}
    for text, _ in wrong:
        conversations[text] = f"retrain-{uuid.uuid4().hex}"
        reply = httpx.post(f"{loop.url}/api/webchat/messages", timeout=60,
                           json={"conversation_id": conversations[text], "text": text, "language": "da"})
        assert reply.status_code == 200, reply.text
    # One citizen also says the bot got it wrong — after the first message is logged (off the reply's
    # path), as a person typing would be.
    assert len(_queued(loop, {text for text, _ in wrong}, "da")) == len(wrong)
    said_wrong_text = wrong[0][0]
    httpx.post(f"{loop.url}/api/webchat/messages", timeout=60,
               json={"conversation_id": conversations[said_wrong_text], "text": "det var ikke det jeg mente",
                     "language": "da"})
    queued = _queued(loop, {text for text, _ in wrong}, "da",
                     until=lambda found: "citizen_said_wrong" in found[said_wrong_text]["reasons"])
    assert set(queued) == {text for text, _ in wrong}
    assert all(item["reasons"] for item in queued.values())
    assert "citizen_said_wrong" in queued[said_wrong_text]["reasons"]

    # Counsellors cannot see or change the queue or the models.
    assert loop.counsellor.get("/api/admin/review").status_code == 403
    assert loop.counsellor.post("/api/admin/models/train").status_code == 403
    assert loop.counsellor.post("/api/admin/models/rollback").status_code == 403
    assert httpx.get(f"{loop.url}/api/admin/models").status_code == 401

    # Label them through the API, one call per intent.
    for intent in {intent for _, intent in wrong}:
        ids = [queued[text]["id"] for text, wanted in wrong if wanted == intent]
        labelled = loop.api.post("/api/admin/review/label", json={"ids": ids, "intent": intent, "language": "da"})
        assert labelled.status_code == 200 and labelled.json()["labelled"] == len(ids), labelled.text
    learned = {e.text: e.intent for e in read_nlu_yaml(loop.settings.learned_data_dir / "da.yml", "da")}
    assert learned == dict(wrong)
    assert not {text for text, _ in wrong} & set(_queued(loop, {text for text, _ in wrong}, "da", timeout_s=0))

    # Train a candidate; the gate compares it with the live model on the held-out tests.
    job = loop.train()
    assert job["gate"]["passed"], job["gate"]["reasons"]
    assert set(job["gate"]["languages"]) == {"da", "ar", "so", "tr", "fa"}
    candidate = job["version_id"]
    versions = loop.api.get("/api/admin/models").json()
    assert versions["versions"][0]["id"] == candidate and versions["versions"][0]["learned_examples"] == len(wrong)

    # Promotion swaps the model inside the running Rasa; conversations go on.
    promoted = loop.api.post(f"/api/admin/models/{candidate}/promote")
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["state"] == "active"
    assert loop.loaded_model() != starting_model
    assert {text: loop.parse(text) for text, _ in wrong} == dict(wrong)
    later = httpx.post(f"{loop.url}/api/webchat/messages", timeout=60,
                       json={"conversation_id": conversations[wrong[-1][0]], "text": "tak for hjælpen"})
    assert later.status_code == 200 and later.json()["messages"], later.text
    assert "teknisk" not in later.json()["messages"][0]["text"].lower()

    # A careless labeller: Somali variants of training examples under wrong intents.
    examples = [e for e in read_nlu_yaml(REPO_ROOT / "nlu" / "data" / "so.yml", "so") if e.intent in WRONG_INTENT]
    by_intent: dict[str, list[int]] = {}
    for example in examples:
        for variant in (example.text[:-1], example.text + example.text[-1]):
            if len(variant) > 3:
                entry = review.log(loop.store, conversation_key="careless-labeller", message_id=None,
                                   channel="webchat", language="so", text=variant,
                                   understood={"intent": "nlu_fallback", "confidence": 0.3, "source": "model"})
                by_intent.setdefault(WRONG_INTENT[example.intent], []).append(entry.id)
    for intent, ids in by_intent.items():
        for start in range(0, len(ids), 200):
            response = loop.api.post("/api/admin/review/label",
                                     json={"ids": ids[start:start + 200], "intent": intent, "language": "so"})
            assert response.status_code == 200, response.text
    broken = loop.train()
    assert not broken["gate"]["passed"]
    assert not broken["gate"]["languages"]["so"]["f1_ok"]
    assert broken["gate"]["languages"]["so"]["drop"] > 0.01
    assert any(reason.startswith("so:") for reason in broken["gate"]["reasons"])
    refused = loop.api.post(f"/api/admin/models/{broken['version_id']}/promote")
    assert refused.status_code == 409 and "so: macro-F1" in refused.json()["detail"]
    assert {text: loop.parse(text) for text, _ in wrong} == dict(wrong)  # the live model did not change

    # One click back to the model that was live before.
    rolled = loop.api.post("/api/admin/models/rollback")
    assert rolled.status_code == 200, rolled.text
    assert loop.loaded_model() == starting_model
    assert [loop.parse(text) for text, intent in wrong] != [intent for _, intent in wrong]
    history = loop.api.get("/api/admin/models").json()["history"]
    assert [entry["action"] for entry in history[:3]] == ["rollback", "promote", "deployment"]

    # `brobygger models promote` only changes the registry; the running app brings its engine along.
    registry.activate(loop.store, candidate, "promote")
    deadline = time.monotonic() + 60
    while loop.loaded_model() == starting_model and time.monotonic() < deadline:
        time.sleep(1)
    assert loop.loaded_model() == registry.get(loop.store, candidate).name + ".tar.gz"
    assert {text: loop.parse(text) for text, _ in wrong} == dict(wrong)
