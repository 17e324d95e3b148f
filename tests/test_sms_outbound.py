"""Messages sent unasked, through the real twilio REST client pointed at a local HTTP recorder.

The recorder stands in for Twilio's servers (the one edge we cannot reach): it records each request
and answers with the status codes a test scripts (201, then 500s, 400, ...).
"""

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.app import create_app
from connectors.sms.models import SmsDelivery, SmsOutbound, SmsSender
from connectors.sms.outbound import OutboundSms
from tests.conftest import make_settings

TOKEN, SECRET, PUBLIC_URL = "test-twilio-auth-token", "test-secret-key", "https://brobygger.example.org"
NUMBER = "+4520304050"


class Recorder:
    """Twilio's Messages API as far as the client needs it: one JSON answer per scripted status."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                recorder.requests.append({"path": self.path, "form": form,
                                          "auth": self.headers.get("Authorization", "")})
                code = recorder.statuses.pop(0) if recorder.statuses else 201
                body = ({"sid": f"SM{len(recorder.requests):032d}", "status": "queued", "to": form.get("To")}
                        if code < 300 else {"code": 21211 if code < 500 else 20500, "message": "scripted",
                                            "status": code})
                payload = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def recorder():
    rec = Recorder()
    yield rec
    rec.server.shutdown()


@pytest.fixture
def app_client(tmp_path: Path, recorder):
    settings = make_settings(tmp_path / "var", rasa_timeout_s=1.0, twilio_auth_token=TOKEN, secret_key=SECRET,
                             public_url=PUBLIC_URL, twilio_account_sid="AC" + "0" * 32,
                             twilio_from_number="+4570000000", twilio_api_base_url=recorder.url)
    with TestClient(create_app(settings)) as client:
        yield client


def write_in(client, sender: str = NUMBER, sid: str = "SM-in-1", body: str = "hej") -> str:
    """The citizen writes first (signed webhook); returns the sender's keyed hash."""
    params = {"MessageSid": sid, "From": sender, "To": "+4570000000", "Body": body, "NumMedia": "0"}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/channels/twilio/sms", params)
    response = client.post("/channels/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    with client.app.state.services.store.session() as session:
        return session.scalar(select(SmsSender.sender))


def outbound(client, sleeps: list | None = None) -> OutboundSms:
    services = client.app.state.services
    return OutboundSms(services.settings, services.store, sleep=(sleeps.append if sleeps is not None else None))


def test_a_message_goes_out_once_to_the_decrypted_number_with_a_status_callback(app_client, recorder, caplog):
    caplog.set_level(logging.DEBUG)
    sender = write_in(app_client)
    result = outbound(app_client).send(sender, "En rådgiver svarer dig i morgen.", key="reply-1")
    assert result.status == "queued" and result.twilio_sid
    [request] = recorder.requests
    assert request["path"].endswith("/Accounts/AC" + "0" * 32 + "/Messages.json")
    assert request["auth"].startswith("Basic ")
    assert request["form"] == {"To": NUMBER, "From": "+4570000000", "Body": "En rådgiver svarer dig i morgen.",
                               "StatusCallback": PUBLIC_URL + "/channels/twilio/status"}
    # The same key again: no second request, the first outcome.
    assert outbound(app_client).send(sender, "En rådgiver svarer dig i morgen.", key="reply-1") == result
    assert len(recorder.requests) == 1
    assert NUMBER[3:] not in "\n".join(record.getMessage() for record in caplog.records)


def test_twilio_5xx_is_retried_with_backoff_and_sent_once(app_client, recorder):
    sender = write_in(app_client)
    recorder.statuses = [500, 503]
    sleeps: list[float] = []
    result = outbound(app_client, sleeps).send(sender, "Hej igen", key="reply-2")
    assert result.status == "queued" and len(recorder.requests) == 3
    assert sleeps == [0.5, 1.0]
    with app_client.app.state.services.store.session() as session:
        row = session.scalar(select(SmsOutbound).where(SmsOutbound.idempotency_key == "reply-2"))
    assert row.attempts == 3 and row.twilio_sid == result.twilio_sid


def test_a_4xx_fails_at_once_and_is_recorded(app_client, recorder):
    sender = write_in(app_client)
    recorder.statuses = [400]
    result = outbound(app_client, []).send(sender, "Hej", key="reply-3")
    assert result.status == "failed" and "400" in result.error and len(recorder.requests) == 1


def test_giving_up_after_the_last_retry(app_client, recorder):
    sender = write_in(app_client)
    recorder.statuses = [500, 500, 500, 500]
    sleeps: list[float] = []
    result = outbound(app_client, sleeps).send(sender, "Hej", key="reply-4")
    assert result.status == "failed" and len(recorder.requests) == 4 and sleeps == [0.5, 1.0, 2.0]


def test_nothing_is_sent_after_stop(app_client, recorder):
    sender = write_in(app_client, sid="SM-stop", body="STOP")
    result = outbound(app_client).send(sender, "Hej", key="reply-5")
    assert result.status == "suppressed" and "STOP" in result.error and recorder.requests == []


def test_whatsapp_outside_the_24_hour_window_is_not_sent(app_client, recorder):
    sender = write_in(app_client, sender="whatsapp:" + NUMBER, sid="SM-wa")
    with app_client.app.state.services.store.session() as session:
        session.get(SmsSender, sender).last_inbound_at = datetime.now(UTC) - timedelta(hours=25)
    result = outbound(app_client).send(sender, "Hej", key="reply-6")
    assert result.status == "suppressed" and "24-hour" in result.error and recorder.requests == []


def test_delivery_statuses_are_recorded_from_signed_callbacks_only(app_client, recorder):
    sender = write_in(app_client)
    result = outbound(app_client).send(sender, "Hej", key="reply-7")
    params = {"MessageSid": result.twilio_sid, "MessageStatus": "delivered"}
    url = PUBLIC_URL + "/channels/twilio/status"
    forged = app_client.post("/channels/twilio/status", data={**params, "MessageStatus": "failed"},
                             headers={"X-Twilio-Signature": "forged"})
    assert forged.status_code == 403
    signed = app_client.post("/channels/twilio/status", data=params,
                             headers={"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params)})
    assert signed.status_code == 204
    with app_client.app.state.services.store.session() as session:
        assert session.scalar(select(SmsOutbound.status).where(SmsOutbound.idempotency_key == "reply-7")) == "delivered"


LONG_DANISH = ("Tak fordi du skrev til os. Jeg har kigget på dine muligheder i Odense. Der er en gruppe for "
               "nybagte mødre i Vollsmose hver tirsdag kl. 10, og du kan bare møde op. Hvis du hellere vil "
               "tale med nogen alene, kan du ringe til Mødrehjælpens rådgivning på hverdage. Du kan også få "
               "en sundhedsplejerske på besøg derhjemme; det bestiller du hos kommunen. Skriv endelig igen, "
               "hvis du har spørgsmål, så hjælper jeg dig videre med det næste skridt.")


def test_a_long_counsellor_answer_goes_in_parts_cut_after_sentences_each_within_budget(app_client, recorder):
    from bot.i18n import sms

    sender = write_in(app_client)
    results = outbound(app_client).send_text(sender, LONG_DANISH, key="answer-7", language="da")
    bodies = [request["form"]["Body"] for request in recorder.requests]
    assert len(bodies) == len(results) >= 2
    assert all(sms.cost(body).segments <= sms.budget("da") for body in bodies)
    assert all(body.rstrip().endswith((".", "!", "?")) for body in bodies[:-1]), bodies
    assert " ".join(bodies).split() == sms.for_sms(LONG_DANISH, "da").split()  # nothing lost, order kept
    # Called again (a retried request): no part goes twice.
    outbound(app_client).send_text(sender, LONG_DANISH, key="answer-7", language="da")
    assert len(recorder.requests) == len(bodies)


def test_splitting_keeps_arabic_within_its_budget_and_cuts_a_giant_word_only_as_a_last_resort():
    from bot.i18n import sms

    arabic = "مرحبا، أنا مستشارة في بروبيغر. " * 30
    parts = sms.split(arabic, "ar")
    assert len(parts) > 1 and all(sms.cost(p).segments <= 4 for p in parts)
    assert " ".join(parts).split() == arabic.split()
    giant = "a" * 500
    parts = sms.split(f"Hej. {giant} farvel.", "da")
    assert all(sms.cost(p).segments <= 2 for p in parts) and "".join(parts).replace(" ", "") == f"Hej.{giant}farvel."
    assert sms.split("Kort besked.", "da") == ["Kort besked."]


def test_a_reply_later_than_twilio_waits_goes_out_through_the_rest_api_once(tmp_path: Path, recorder, caplog):
    # A budget of 0 s makes every turn "too slow" (in production: Rasa loading a new model for ~20 s,
    # longer than the 15 s Twilio waits for TwiML).
    caplog.set_level(logging.INFO)
    settings = make_settings(tmp_path / "var", rasa_timeout_s=1.0, twilio_auth_token=TOKEN, secret_key=SECRET,
                             public_url=PUBLIC_URL, twilio_account_sid="AC" + "0" * 32,
                             twilio_from_number="+4570000000", twilio_api_base_url=recorder.url,
                             sms_reply_budget_s=0.0)
    params = {"MessageSid": "SM-slow-1", "From": NUMBER, "To": "+4570000000",
              "Body": "Waxaan u baahanahay caawimaad xagga deynta", "NumMedia": "0"}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/channels/twilio/sms", params)
    with TestClient(create_app(settings)) as client:
        first = client.post("/channels/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
        assert first.status_code == 200 and "<Message>" not in first.text  # Twilio gets empty TwiML at once
        deadline = time.monotonic() + 20
        while len(recorder.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        renderer = client.app.state.services.renderer
        expected = [renderer.render("privacy_notice", "so", channel="sms").text,
                    renderer.render("technical_problem", "so", channel="sms").text]
        assert [request["form"]["Body"] for request in recorder.requests] == expected
        assert {request["form"]["To"] for request in recorder.requests} == {NUMBER}

        def delivery() -> SmsDelivery:
            with client.app.state.services.store.session() as session:
                return session.scalar(select(SmsDelivery).where(SmsDelivery.message_sid == "SM-slow-1"))

        # The delivery is marked after the last text went out: the recorder can see it a moment before.
        while delivery().status == "processing" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (delivery().status, delivery().reply) == ("sent_later", expected)
        # Twilio delivers the same message again: empty TwiML, nothing sent a second time.
        again = client.post("/channels/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
        assert again.status_code == 200 and "<Message>" not in again.text
        time.sleep(0.5)
        assert len(recorder.requests) == 2
    assert NUMBER[3:] not in "\n".join(record.getMessage() for record in caplog.records)
