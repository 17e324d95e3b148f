"""The Twilio SMS/WhatsApp webhook: signatures, duplicate deliveries, pseudonymous senders, MMS, rate limit.

Requests are signed with twilio's own RequestValidator (Twilio's servers are the one edge we fake). The
engine is not running here, so replies are the localized "technical problem"; conversations through the
real Rasa server are in tests/test_e2e_dialogue.py.
"""

import logging
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.conversations.models import Conversation, Message
from connectors.sms.identity import decrypt_address, sender_hash
from connectors.sms.models import SmsDelivery, SmsSender
from tests.conftest import make_settings

TOKEN = "test-twilio-auth-token"
SECRET = "test-secret-key"
PUBLIC_URL = "https://brobygger.example.org"  # what Twilio signs; the app itself listens elsewhere
PATH = "/channels/twilio/sms"
NUMBER = "+4520304050"


@pytest.fixture
def sms(tmp_path: Path):
    settings = make_settings(tmp_path / "var", rasa_timeout_s=1.0, twilio_auth_token=TOKEN, secret_key=SECRET,
                             public_url=PUBLIC_URL, sms_rate_limit="3/10 minutes")
    with TestClient(create_app(settings)) as client:
        yield client


def form(body: str = "hej", sid: str = "SM0001", sender: str = NUMBER, **extra) -> dict:
    return {"MessageSid": sid, "AccountSid": "AC0001", "From": sender, "To": "+4570000000", "Body": body,
            "NumMedia": "0", **extra}


def post(client, params: dict, url: str = PUBLIC_URL + PATH, token: str = TOKEN):
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(PATH, data=params, headers={"X-Twilio-Signature": signature})


def replies(response) -> list[str]:
    assert response.headers["content-type"].startswith("application/xml")
    return [message.text or "" for message in ET.fromstring(response.text).iter("Message")]


def count(client, model) -> int:
    with client.app.state.services.store.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_signed_message_gets_twiml_in_the_citizens_language(sms):
    renderer = sms.app.state.services.renderer
    response = post(sms, form("Waxaan u baahanahay caawimaad xagga deynta"))
    assert response.status_code == 200
    # First contact: the privacy notice, then (the engine being down here) the technical-problem reply.
    assert replies(response) == [renderer.render("privacy_notice", "so", channel="sms").text,
                                 renderer.render("technical_problem", "so", channel="sms").text]


def test_the_sender_is_a_keyed_hash_and_the_number_is_stored_only_encrypted(sms, tmp_path):
    post(sms, form("hej, jeg har brug for hjælp"))
    with sms.app.state.services.store.session() as session:
        conversation = session.scalar(select(Conversation))
        sender = session.scalar(select(SmsSender))
    assert (conversation.channel, conversation.external_id) == ("sms", sender_hash(SECRET, NUMBER))
    assert decrypt_address(SECRET, sender.address_encrypted) == NUMBER
    stored = b"".join(p.read_bytes() for p in (tmp_path / "var").glob("brobygger.db*"))
    assert NUMBER[3:].encode() not in stored


@pytest.mark.parametrize("case", ["unsigned", "forged", "signed for another URL", "signed with another token"])
def test_unverified_requests_are_refused_and_nothing_is_processed(sms, case):
    params = form("hej")
    if case == "unsigned":
        response = sms.post(PATH, data=params)
    elif case == "forged":
        response = sms.post(PATH, data=params, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    elif case == "signed for another URL":  # what this process sees, not what Twilio was given
        response = post(sms, params, url="http://testserver" + PATH)
    else:
        response = post(sms, params, token="someone-elses-token")
    assert response.status_code == 403
    assert count(sms, SmsDelivery) == 0 and count(sms, Message) == 0


def test_a_retried_delivery_is_answered_once_with_the_same_reply(sms):
    first = post(sms, form("jeg er ensom", sid="SM-retry"))
    again = post(sms, form("jeg er ensom", sid="SM-retry"))
    assert again.status_code == 200 and again.text == first.text
    assert count(sms, SmsDelivery) == 1
    with sms.app.state.services.store.session() as session:
        inbound = session.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
    assert inbound == 1


def test_concurrent_duplicates_are_processed_once(sms):
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: post(sms, form("hjælp til gæld", sid="SM-race")), range(4)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    with sms.app.state.services.store.session() as session:
        inbound = session.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
    assert inbound == 1


def test_first_messages_at_once_from_one_sender_are_all_kept(sms):
    # Three at once (the fixture's rate limit): one conversation and one sender row are created, once.
    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda n: post(sms, form(f"besked {n}", sid=f"SM-first-{n}")), range(3)))
    assert {r.status_code for r in responses} == {200}
    with sms.app.state.services.store.session() as session:
        inbound = session.scalars(select(Message.text).where(Message.direction == "in")).all()
    assert sorted(inbound) == [f"besked {n}" for n in range(3)]
    assert count(sms, SmsSender) == 1 and count(sms, Conversation) == 1


def test_a_picture_without_text_gets_a_polite_text_only_reply(sms):
    renderer = sms.app.state.services.renderer
    response = post(sms, form("", sid="MM0001", NumMedia="1", MediaUrl0="https://api.twilio.com/media/x",
                              MediaContentType0="image/jpeg"))
    assert replies(response) == [renderer.render("text_only", "da", channel="sms").text]
    assert count(sms, Message) == 0


def test_an_empty_message_asks_how_to_help_and_odd_fields_do_not_break(sms):
    ask = sms.app.state.services.renderer.render("how_can_i_help", "da", channel="sms").text
    assert replies(post(sms, form("   ", sid="SM-empty"))) == [ask]
    odd = post(sms, form("", sid="SM-odd", NumMedia="many"))
    assert odd.status_code == 200 and replies(odd) == [ask]
    # Emoji, mixed scripts and a long message are answered and stored intact.
    text = "سلام hej 👋🏽 " + "x" * 1500
    assert post(sms, form(text, sid="SM-long")).status_code == 200
    with sms.app.state.services.store.session() as session:
        stored = session.scalar(select(Message.text).where(Message.direction == "in"))
    assert stored == text


def test_past_the_rate_limit_one_notice_then_silence(sms):
    renderer = sms.app.state.services.renderer
    for n in range(3):
        assert replies(post(sms, form(f"besked {n}", sid=f"SM-rate-{n}")))
    notice = post(sms, form("besked 3", sid="SM-rate-3"))
    assert replies(notice) == [renderer.render("rate_limited", "da", channel="sms").text]
    assert replies(post(sms, form("besked 4", sid="SM-rate-4"))) == []
    # Another sender is not affected.
    assert replies(post(sms, form("hej", sid="SM-other", sender="+4599887766")))


def test_whatsapp_uses_the_same_webhook_as_its_own_channel(sms):
    post(sms, form("merhaba, yardım lazım", sid="SM-wa", sender="whatsapp:" + NUMBER))
    with sms.app.state.services.store.session() as session:
        conversation = session.scalar(select(Conversation))
    assert conversation.channel == "whatsapp" and conversation.language == "tr"
    assert conversation.external_id == sender_hash(SECRET, "whatsapp:" + NUMBER)


def test_a_delivery_without_sender_or_sid_is_a_clear_400(sms):
    params = form("hej")
    del params["From"]
    assert post(sms, params).status_code == 400


def test_no_phone_number_in_any_log_line(sms, caplog):
    caplog.set_level(logging.DEBUG)
    post(sms, form("hej", sid="SM-log-1"))
    post(sms, form("hej", sid="SM-log-1"))  # duplicate
    sms.post(PATH, data=form("hej", sid="SM-log-2"))  # unsigned
    post(sms, form("", sid="SM-log-3", NumMedia="1"))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged  # something was logged, and none of it names the number
    assert NUMBER[3:] not in logged and NUMBER not in logged


def test_without_rest_credentials_even_a_slow_reply_comes_back_as_twiml(tmp_path: Path):
    # Over the reply budget the reply would normally follow through the REST API; without an account
    # to send from, TwiML is the only way back, so the webhook waits for the turn.
    settings = make_settings(tmp_path / "var", rasa_timeout_s=1.0, twilio_auth_token=TOKEN, secret_key=SECRET,
                             public_url=PUBLIC_URL, sms_reply_budget_s=0.0)
    with TestClient(create_app(settings)) as client:
        renderer = client.app.state.services.renderer
        response = post(client, form("Waxaan u baahanahay caawimaad xagga deynta", sid="SM-slow-2"))
        assert replies(response) == [renderer.render("privacy_notice", "so", channel="sms").text,
                                     renderer.render("technical_problem", "so", channel="sms").text]
