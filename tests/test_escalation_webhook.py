"""The signed webhook connector against a local helpdesk receiver (the edge we stand in for): events
delivered exactly once through failures, in order, signed; dead letters; signed replies back."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from bot.app import create_app
from bot.conversations import service
from connectors.escalation.models import DeadLetter, OutboxEvent
from connectors.escalation.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify
from tests.conftest import ThreadedServer, make_settings

SECRET = "helpdesk-shared-secret"


class Helpdesk:
    """Answers with the scripted statuses (then 200) and records every request it gets."""

    def __init__(self, statuses: list[int]) -> None:
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        helpdesk = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                code = helpdesk.statuses.pop(0) if helpdesk.statuses else 200
                helpdesk.requests.append({
                    "key": self.headers.get("Idempotency-Key"), "body": json.loads(body), "status": code,
                    "signed": verify(SECRET, self.headers.get(TIMESTAMP_HEADER), self.headers.get(SIGNATURE_HEADER),
                                     body)})
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tickets"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self) -> list[dict]:
        return [r for r in self.requests if r["status"] < 300]


@pytest.fixture
def stack(tmp_path):
    def start(helpdesk: Helpdesk, max_attempts: int = 8):
        settings = make_settings(tmp_path / "var", rasa_timeout_s=1.0, escalation_webhook_url=helpdesk.url,
                                 escalation_webhook_secret=SECRET, escalation_retry_base_s=0.05,
                                 escalation_poll_s=0.05, escalation_max_attempts=max_attempts)
        app = create_app(settings)
        server = ThreadedServer(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning"))
        return app, server, f"http://{settings.host}:{settings.port}"
    return start


def wait_until(condition, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def escalated_conversation(store, text: str = "Jeg har brug for at tale med nogen") -> int:
    conversation = service.get_or_create(store, "webchat", uuid.uuid4().hex, "da")
    service.add_message(store, conversation.id, "in", "citizen", text, "da", "processed")
    service.escalate(store, conversation.id, "urgent", "crisis")
    return conversation.id


def test_a_helpdesk_that_fails_twice_gets_each_event_exactly_once_in_order_and_signed(stack):
    helpdesk = Helpdesk([500, 503])
    app, server, _ = stack(helpdesk)
    with server.running():
        store = app.state.services.store
        conversation_id = escalated_conversation(store)
        service.add_message(store, conversation_id, "in", "citizen", "Er der nogen?", "da", "for_counsellor")
        assert wait_until(lambda: len(helpdesk.accepted()) == 2), helpdesk.requests
    opened, message = helpdesk.accepted()
    assert opened["body"]["type"] == "ticket.opened" and opened["body"]["priority"] == "urgent"
    assert opened["body"]["transcript"][0]["text"] == "Jeg har brug for at tale med nogen"
    assert message["body"] == {**message["body"], "type": "message.created", "text": "Er der nogen?"}
    assert [r["key"] for r in helpdesk.requests] == [opened["key"]] * 3 + [message["key"]]
    assert all(r["signed"] for r in helpdesk.requests)
    with store.session() as session:
        assert all(e.delivered_at is not None for e in session.scalars(select(OutboxEvent)))


def test_a_crisis_ticket_names_its_kind_and_so_does_a_crisis_written_while_waiting(stack):
    """The helpdesk learns what kind of crisis a ticket is (violence at home needs the hotline, a medical
    one the ambulance): found by the app's crisis rules, with the engine down as here."""
    helpdesk = Helpdesk([])
    app, server, url = stack(helpdesk)
    with server.running(), httpx.Client(base_url=url, timeout=30) as http:
        cid = uuid.uuid4().hex
        for text in ("min mand slår mig, og jeg tør ikke gå hjem i aften", "er der nogen?",
                     "nu er min far faldet om og trækker ikke vejret"):
            assert http.post("/api/webchat/messages", json={"conversation_id": cid, "text": text,
                                                            "language": "da"}).status_code == 200
        assert wait_until(lambda: len(helpdesk.accepted()) == 3), helpdesk.requests
    opened, waiting, collapsed = (r["body"] for r in helpdesk.accepted())
    assert (opened["type"], opened["priority"], opened["crisis_kind"]) == ("ticket.opened", "urgent", "violence")
    assert (waiting["type"], waiting["crisis_kind"]) == ("message.created", None)
    assert (collapsed["type"], collapsed["crisis_kind"]) == ("message.created", "medical")


def test_a_ticket_made_after_later_crises_keeps_the_kind_it_was_opened_for(tmp_path):
    """The worker may turn the hand-off into a ticket only after the citizen wrote again: the ticket's kind
    is the crisis it was opened for, the later one comes as its own message."""
    from bot.store.db import Store
    from connectors.escalation.webhook import produce

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.create_schema()
    conversation = service.get_or_create(store, "webchat", uuid.uuid4().hex, "da")
    service.add_message(store, conversation.id, "in", "citizen", "min mand slår mig", "da", "processed",
                        {"crisis_rule": "da-violence-now", "crisis_kind": "violence"})
    service.escalate(store, conversation.id, "urgent", "crisis")
    service.add_message(store, conversation.id, "in", "citizen", "min far trækker ikke vejret", "da",
                        "for_counsellor", {"crisis_rule": "da-medical-breathing", "crisis_kind": "medical"})
    assert produce(store) == 2
    with store.session() as session:
        events = {e.event_type: e.payload for e in session.scalars(select(OutboxEvent))}
    assert events["ticket.opened"]["crisis_kind"] == "violence"
    assert events["message.created"]["crisis_kind"] == "medical"


def test_events_the_helpdesk_never_takes_go_to_the_dead_letters(stack):
    helpdesk = Helpdesk([500] * 100)
    app, server, _ = stack(helpdesk, max_attempts=3)
    with server.running():
        store = app.state.services.store
        escalated_conversation(store)
        assert wait_until(lambda: len(helpdesk.requests) >= 3)
        time.sleep(0.3)
    with store.session() as session:
        [dead] = session.scalars(select(DeadLetter)).all()
        assert dead.event_type == "ticket.opened" and dead.attempts == 3 and "500" in dead.last_error
        assert session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "ticket.opened")).all() == []
    assert len(helpdesk.requests) == 3


def signed_post(http: httpx.Client, event: dict, secret: str = SECRET, timestamp: int | None = None):
    body = json.dumps(event).encode()
    stamp = str(timestamp or int(time.time()))
    return http.post("/api/escalation/webhook", content=body,
                     headers={"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                              SIGNATURE_HEADER: sign(secret, stamp, body)})


def test_helpdesk_replies_reach_the_citizen_once_and_forged_ones_nothing(stack):
    helpdesk = Helpdesk([])
    app, server, url = stack(helpdesk)
    with server.running(), httpx.Client(base_url=url, timeout=30) as http:
        store = app.state.services.store
        conversation_id = escalated_conversation(store)
        reply = {"id": "zendesk-1", "type": "reply", "conversation_id": conversation_id,
                 "text": "Hej, jeg hedder Mette fra rådgivningen."}
        assert signed_post(http, reply, secret="wrong").status_code == 401
        assert signed_post(http, reply, timestamp=int(time.time()) - 3600).status_code == 401
        assert http.post("/api/escalation/webhook", json=reply).status_code == 401
        assert signed_post(http, reply).json() == {"status": "applied"}
        assert signed_post(http, reply).json() == {"status": "duplicate"}
        sent = [m for m in service.messages_of(store, conversation_id) if m.author == "counsellor"]
        assert [m.text for m in sent] == ["Hej, jeg hedder Mette fra rådgivningen."]
        with store.session() as session:
            from bot.conversations.models import Conversation
            assert session.get(Conversation, conversation_id).state == "human"
        assert signed_post(http, {"id": "zendesk-2", "type": "close", "conversation_id": conversation_id}
                           ).status_code == 200
        assert signed_post(http, {"id": "zendesk-3", "type": "reply", "conversation_id": conversation_id,
                                  "text": "Er du der?"}).status_code == 409
        assert signed_post(http, {"id": "zendesk-4", "type": "reply", "conversation_id": 999999,
                                  "text": "x"}).status_code == 404
        assert signed_post(http, {"id": "zendesk-5", "type": "reply", "conversation_id": conversation_id}
                           ).status_code == 422
