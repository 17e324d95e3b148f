"""The web chat's reading side without a browser: transcript and later messages (GET), the live stream
(SSE on a real server), the page and widget responses, and the page texts in every language. The
engine is not running; a turn then stores the citizen's message and a localized technical problem."""

import json
import re
import threading
import time
import uuid

import httpx
import pytest
import uvicorn

from bot import SUPPORTED_LANGUAGES
from bot.app import create_app
from bot.conversations import service
from bot.i18n.render import Renderer
from bot.i18n.samples import PAGE_TEXT_PREFIX, message_keys
from connectors.webchat.page import PAGE_TEXTS, WIDGET_TEXTS
from tests.conftest import ThreadedServer, make_settings


def new_id() -> str:
    return uuid.uuid4().hex


def start(client, text="hej", **body) -> str:
    cid = body.pop("conversation_id", new_id())
    response = client.post("/api/webchat/messages", json={"conversation_id": cid, "text": text, **body})
    assert response.status_code == 200, response.text
    return cid


def conversation(client, cid):
    return service.find(client.app.state.services.store, "webchat", cid)


def test_the_transcript_has_both_sides_in_order_with_ids_and_after_gives_only_later_ones(client):
    cid = start(client, "Jeg føler mig ensom 😔")
    transcript = client.get("/api/webchat/messages", params={"conversation_id": cid}).json()
    authors = [m["author"] for m in transcript["messages"]]
    assert authors[0] == "citizen" and "bot" in authors
    assert transcript["messages"][0]["text"] == "Jeg føler mig ensom 😔"
    ids = [m["id"] for m in transcript["messages"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert transcript["language"] == "da" and transcript["escalated"] is False

    store = client.app.state.services.store
    service.add_message(store, conversation(client, cid).id, "out", "counsellor", "Hej, jeg hedder Sara.", "da", "sent")
    later = client.get("/api/webchat/messages", params={"conversation_id": cid, "after": ids[-1]}).json()
    assert [(m["author"], m["text"]) for m in later["messages"]] == [("counsellor", "Hej, jeg hedder Sara.")]
    assert client.get("/api/webchat/messages",
                      params={"conversation_id": cid, "after": later["messages"][0]["id"]}).json()["messages"] == []


def test_a_reply_carries_the_stored_ids_of_its_messages(client):
    cid = new_id()
    reply = client.post("/api/webchat/messages", json={"conversation_id": cid, "text": "hej"}).json()
    transcript = client.get("/api/webchat/messages", params={"conversation_id": cid}).json()
    bot_ids = [m["id"] for m in transcript["messages"] if m["author"] == "bot"]
    assert [m["id"] for m in reply["messages"]] == bot_ids
    assert all(m["author"] == "bot" for m in reply["messages"])


def test_reading_back_needs_a_long_id_and_an_existing_web_chat_conversation(client):
    start(client, conversation_id="short-1")
    assert client.get("/api/webchat/messages", params={"conversation_id": "short-1"}).status_code == 422
    assert client.get("/api/webchat/messages", params={"conversation_id": new_id()}).status_code == 404
    for bad in ("<script>alert(1)</script>" + "x" * 20, "a" * 65):
        assert client.get("/api/webchat/messages", params={"conversation_id": bad}).status_code == 422
    cid = start(client)
    for after in ("-1", "abc", "1e9"):
        assert client.get("/api/webchat/messages", params={"conversation_id": cid, "after": after}).status_code == 422


def test_an_sms_conversation_cannot_be_read_through_the_web_chat(client):
    store = client.app.state.services.store
    sms = service.get_or_create(store, "sms", "f" * 40, "da")
    service.add_message(store, sms.id, "in", "citizen", "hemmeligt", "da")
    assert client.get("/api/webchat/messages", params={"conversation_id": "f" * 40}).status_code == 404


def test_the_button_for_a_person_is_an_action_not_words_and_crisis_words_still_come_first(client):
    assert client.post("/api/webchat/messages", json={"conversation_id": new_id(), "text": "x",
                                                      "action": "crisis"}).status_code == 422
    cid = new_id()
    reply = client.post("/api/webchat/messages", json={
        "conversation_id": cid, "text": "jeg vil tage mit eget liv", "action": "request_human"}).json()
    assert conversation(client, cid).priority == "urgent"  # the crisis rules answered, not the button
    assert "112" in reply["messages"][0]["text"]


@pytest.fixture
def server(tmp_path):
    settings = make_settings(tmp_path / "var", rasa_timeout_s=2.0)
    app = create_app(settings)
    server = ThreadedServer(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning"))
    with server.running():
        yield app, f"http://{settings.host}:{settings.port}"


def read_events(response, wanted: int, timeout_s: float) -> list[dict]:
    events, current = [], {}
    deadline = time.monotonic() + timeout_s
    for line in response.iter_lines():
        if line.startswith("id:"):
            current["id"] = line[3:].strip()
        elif line.startswith("data:"):
            current["data"] = json.loads(line[5:])
        elif line == "" and "data" in current:
            events.append(current)
            current = {}
            if len(events) >= wanted:
                break
        if time.monotonic() > deadline:
            break
    return events


def test_the_stream_sends_later_messages_as_they_are_stored_and_resumes_after_the_last_event(server):
    app, url = server
    cid = new_id()
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.post("/api/webchat/messages", json={"conversation_id": cid, "text": "hej"}).status_code == 200
        store = app.state.services.store
        internal = service.find(store, "webchat", cid).id
        last = service.messages_of(store, internal)[-1].id
        with http.stream("GET", "/api/webchat/stream", params={"conversation_id": cid, "after": last}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            # Stored by another thread a moment later, as a counsellor's reply would be.
            threading.Timer(0.5, service.add_message,
                            (store, internal, "out", "counsellor", "Hej! Jeg er rådgiver.", "da", "sent")).start()
            started = time.monotonic()
            events = read_events(stream, 1, timeout_s=8)
            waited = time.monotonic() - started
        assert [(e["data"]["author"], e["data"]["text"]) for e in events] == [("counsellor", "Hej! Jeg er rådgiver.")]
        assert waited < 5, "woken by the store, not by the periodic re-read"
        service.add_message(store, internal, "out", "counsellor", "Er du der stadig?", "da", "sent")
        with http.stream("GET", "/api/webchat/stream", params={"conversation_id": cid},
                         headers={"Last-Event-ID": events[0]["id"]}) as stream:
            resumed = read_events(stream, 1, timeout_s=8)
        assert [e["data"]["text"] for e in resumed] == ["Er du der stadig?"]
        assert http.get("/api/webchat/stream", params={"conversation_id": new_id()}).status_code == 404


def test_the_page_speaks_the_browsers_language_or_the_chosen_one_and_loads_only_its_own_files(client):
    page = client.get("/", headers={"accept-language": "fa-IR,fa;q=0.9,en;q=0.5"})
    assert page.status_code == 200
    assert '<html lang="fa" dir="rtl">' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert re.findall(r'(?:src|href)="([^"]+)"', page.text) == [
        "data:,", *[u for u in re.findall(r'(?:src|href)="([^"]+)"', page.text) if u.startswith("/webchat/static/")]]
    assert '<html lang="so" dir="ltr">' in client.get("/?lang=so", headers={"accept-language": "fa"}).text
    assert '<html lang="da"' in client.get("/?lang=xx", headers={"accept-language": "de-DE"}).text
    config = json.loads(re.search(r'id="brobygger-config">(.*?)</script>', page.text, re.S).group(1))
    assert [c["name"] for c in config["languages"]] == ["Dansk", "العربية", "Soomaali", "Türkçe", "فارسی", "English"]
    for asset in re.findall(r'"(/webchat/static/[^"]+)"', page.text):
        response = client.get(asset)
        assert response.status_code == 200 and "immutable" in response.headers["cache-control"]


def test_the_page_and_its_files_are_compressed_for_slow_connections(client):
    response = client.get("/webchat/static/chat.js", headers={"accept-encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"


def test_the_widget_script_names_the_chat_in_every_language(client):
    script = client.get("/widget.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    texts = json.loads(re.search(r"var texts = (\{.*?\});", script.text).group(1))
    renderer = client.app.state.services.renderer
    assert texts["so"]["open_chat"] == renderer.text("web_open_chat", "so")
    assert set(texts) == set(SUPPORTED_LANGUAGES)


def test_every_page_text_is_translated_in_every_language_with_the_same_placeholders():
    renderer = Renderer()
    keys = [k for k in message_keys() if k.startswith(PAGE_TEXT_PREFIX)]
    assert {f"{PAGE_TEXT_PREFIX}{name}" for name in PAGE_TEXTS + WIDGET_TEXTS} <= set(keys)
    for key in keys:
        english = renderer._translations["en"].gettext(key)
        assert english != key, key
        for language in SUPPORTED_LANGUAGES:
            text = renderer._translations[language].gettext(key)
            assert text != key and text.strip(), (language, key)
            assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", english)), (language, key)
