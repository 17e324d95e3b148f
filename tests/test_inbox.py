"""Hand-off to a person and back, through the real stack (Rasa with the trained model + the app):
the queue order, claiming (and its race), replies on the citizen's channel (web chat live, SMS through
the twilio client pointed at a local recorder), the bot's silence meanwhile, hand-back and close."""

import threading
import uuid
import xml.etree.ElementTree as ET

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.conversations import service
from bot.i18n.bidi import LRM, RLM
from bot.users.service import add_user
from tests.test_sms_outbound import Recorder

pytestmark = pytest.mark.slow


def plain(text: str) -> str:
    return " ".join(text.replace(LRM, "").replace(RLM, "").split())


def counsellor(live, languages: list[str], role: str = "counsellor") -> httpx.Client:
    _, token = add_user(live.services.store, f"{role}-{uuid.uuid4().hex[:8]}", role, languages)
    return httpx.Client(base_url=live.url, timeout=60, headers={"Authorization": f"Bearer {token}"})


def webchat(live, text: str, cid: str | None = None, **body) -> tuple[str, dict]:
    cid = cid or uuid.uuid4().hex
    response = live.http.post("/api/webchat/messages", json={"conversation_id": cid, "text": text, **body})
    assert response.status_code == 200, response.text
    return cid, response.json()


def internal_id(live, channel: str, external_id: str) -> int:
    return service.find(live.services.store, channel, external_id).id


def queue_ids(client: httpx.Client, state: str = "queued") -> list[int]:
    response = client.get("/api/counsellor/conversations", params={"state": state})
    assert response.status_code == 200, response.text
    return [entry["id"] for entry in response.json()]


def rendered(live, key: str, language: str) -> str:
    return plain(live.services.renderer.render(key, language).text)


def test_somali_web_chat_to_a_somali_counsellor_and_back_to_the_bot(live):
    danish, _ = webchat(live, "PERSON", language="da")  # waiting longer, but in Danish
    cid, reply = webchat(live, "waxaan rabaa inaan la hadlo qof", language="so")
    assert reply["escalated"] is True
    assert rendered(live, "human_handoff", "so") in [plain(m["text"]) for m in reply["messages"]]
    conversation_id = internal_id(live, "webchat", cid)
    danish_id = internal_id(live, "webchat", danish)

    somali_counsellor, danish_counsellor = counsellor(live, ["so"]), counsellor(live, ["da"])
    for_somali, for_danish = queue_ids(somali_counsellor), queue_ids(danish_counsellor)
    assert for_somali.index(conversation_id) < for_somali.index(danish_id)
    assert for_danish.index(danish_id) < for_danish.index(conversation_id)

    assert somali_counsellor.post(f"/api/counsellor/conversations/{conversation_id}/claim").json()["state"] == "human"
    assert danish_counsellor.post(f"/api/counsellor/conversations/{conversation_id}/claim").status_code == 409
    assert danish_counsellor.post(f"/api/counsellor/conversations/{conversation_id}/reply",
                                  json={"text": "hej"}).status_code == 403

    last_id = max(m["id"] for m in live.http.get("/api/webchat/messages",
                                                 params={"conversation_id": cid}).json()["messages"])
    answer = "Salaan, waxaan ahay Hodan, la-taliye. Maxaan kaa caawin karaa?"
    with live.http.stream("GET", "/api/webchat/stream", params={"conversation_id": cid, "after": last_id}) as stream:
        sent = somali_counsellor.post(f"/api/counsellor/conversations/{conversation_id}/reply", json={"text": answer})
        assert sent.status_code == 201 and sent.json()["status"] == "sent"
        received = next(line for line in stream.iter_lines() if line.startswith("data:"))
    assert answer in received and '"author":"counsellor"' in received.replace(" ", "")

    # The citizen answers: the bot stays silent, the counsellor sees it.
    _, silent = webchat(live, "Waxaan u baahanahay caawimaad deyn ah", cid)
    assert silent["messages"] == [] and silent["escalated"] is True
    transcript = somali_counsellor.get(f"/api/counsellor/conversations/{conversation_id}/messages").json()
    assert transcript["messages"][-1]["author"] == "citizen"
    assert transcript["messages"][-1]["text"] == "Waxaan u baahanahay caawimaad deyn ah"
    assert all("+45" not in m["text"] for m in transcript["messages"])
    asked = next(m for m in transcript["messages"] if m["text"] == "waxaan rabaa inaan la hadlo qof")
    assert asked["intent"] == "request_human" and asked["confidence"] > 0.5 and asked["language"] == "so"

    assert somali_counsellor.post(f"/api/counsellor/conversations/{conversation_id}/handback").json()["state"] == "bot"
    later = live.http.get("/api/webchat/messages", params={"conversation_id": cid}).json()["messages"]
    assert plain(later[-1]["text"]) == rendered(live, "handback_to_bot", "so")
    _, back = webchat(live, "see tahay", cid)
    assert rendered(live, "welcome", "so") in [plain(m["text"]) for m in back["messages"]], back
    moves = [(t.from_state, t.to_state) for t in service.transitions_of(live.services.store, conversation_id)]
    assert moves == [("bot", "queued"), ("queued", "human"), ("human", "bot")]


def test_a_crisis_in_farsi_is_urgent_at_the_top_and_stays_answered_while_waiting(live):
    webchat(live, "PERSON", language="fa")
    cid, reply = webchat(live, "دیگر نمی‌خواهم زنده باشم", language="fa")
    assert "112" in plain(reply["messages"][0]["text"])
    conversation_id = internal_id(live, "webchat", cid)
    listed = counsellor(live, ["da"]).get("/api/counsellor/conversations", params={"state": "queued"}).json()
    urgent = [entry["id"] for entry in listed if entry["priority"] == "urgent"]
    assert conversation_id in urgent
    assert [entry["priority"] for entry in listed] == sorted((e["priority"] for e in listed),
                                                            key=lambda p: p != "urgent")
    # Still waiting: another crisis message gets the emergency reply again (the only thing the bot says).
    _, again = webchat(live, "میخواهم خودم را بکشم", cid)
    assert "112" in plain(again["messages"][0]["text"])
    _, silent = webchat(live, "کسی هست؟", cid)
    assert silent["messages"] == []


def test_two_counsellors_claiming_at_once_exactly_one_gets_it(live):
    cid, _ = webchat(live, "PERSON", language="tr")
    conversation_id = internal_id(live, "webchat", cid)
    clients = [counsellor(live, ["tr"]) for _ in range(4)]
    codes: list[int] = []
    start = threading.Barrier(len(clients))

    def grab(client):
        start.wait()
        codes.append(client.post(f"/api/counsellor/conversations/{conversation_id}/claim").status_code)

    threads = [threading.Thread(target=grab, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409, 409, 409]


def test_sms_citizen_gets_the_counsellor_by_sms_and_the_bot_back(live):
    settings = live.services.settings
    recorder = Recorder()
    settings.twilio_auth_token, settings.secret_key = "e2e-twilio-token", "e2e-secret"
    settings.twilio_account_sid, settings.twilio_from_number = "AC" + "1" * 32, "+4570000000"
    settings.twilio_api_base_url = recorder.url
    number = f"+45{uuid.uuid4().int % 10**8:08d}"
    url = settings.app_url + "/channels/twilio/sms"

    def text_message(body: str) -> list[str]:
        params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": number, "To": "+4570000000", "Body": body,
                  "NumMedia": "0"}
        signature = RequestValidator(settings.twilio_auth_token).compute_signature(url, params)
        response = live.http.post("/channels/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, response.text
        return [plain(m.text or "") for m in ET.fromstring(response.text).iter("Message")]

    try:
        assert rendered(live, "human_handoff", "da") in text_message("jeg vil gerne tale med et menneske")
        queued = [e for e in counsellor(live, ["da"]).get("/api/counsellor/conversations").json()
                  if e["channel"] == "sms" and e["state"] == "queued"]
        assert queued
        conversation_id = queued[-1]["id"]
        person = counsellor(live, ["da"])
        assert person.post(f"/api/counsellor/conversations/{conversation_id}/claim").status_code == 200
        answer = "Hej, jeg hedder Sara og er rådgiver. Hvad kan jeg hjælpe dig med?"
        assert person.post(f"/api/counsellor/conversations/{conversation_id}/reply",
                           json={"text": answer}).json()["status"] == "sent"
        assert [(r["form"]["To"], r["form"]["Body"]) for r in recorder.requests] == [(number, answer)]
        assert text_message("Jeg har brug for hjælp til min gæld") == []  # to the counsellor, not the bot
        assert person.post(f"/api/counsellor/conversations/{conversation_id}/handback").status_code == 200
        assert plain(recorder.requests[-1]["form"]["Body"]) == plain(
            live.services.renderer.render("handback_to_bot", "da", channel="sms").text)
        assert rendered(live, "welcome", "da") in text_message("hej")
    finally:
        recorder.server.shutdown()
        settings.twilio_api_base_url = None


def test_closing_tells_the_citizen_and_a_new_message_reopens_to_the_bot(live):
    cid, _ = webchat(live, "PERSON", language="ar")
    conversation_id = internal_id(live, "webchat", cid)
    person = counsellor(live, ["ar"])
    assert person.post(f"/api/counsellor/conversations/{conversation_id}/claim").status_code == 200
    assert person.post(f"/api/counsellor/conversations/{conversation_id}/close").json()["state"] == "closed"
    messages = live.http.get("/api/webchat/messages", params={"conversation_id": cid}).json()["messages"]
    assert plain(messages[-1]["text"]) == rendered(live, "conversation_closed", "ar")
    assert conversation_id not in queue_ids(person, "all")
    assert person.get(f"/api/counsellor/conversations/{conversation_id}/messages").json()["assigned_to"] is None
    _, reply = webchat(live, "مرحبا", cid)
    assert rendered(live, "welcome", "ar") in [plain(m["text"]) for m in reply["messages"]]


def test_counsellor_routes_need_a_counsellor_or_admin_token(live):
    cid, _ = webchat(live, "PERSON", language="da")
    conversation_id = internal_id(live, "webchat", cid)
    routes = [("GET", "/api/counsellor/conversations", None),
              ("POST", f"/api/counsellor/conversations/{conversation_id}/claim", None),
              ("GET", f"/api/counsellor/conversations/{conversation_id}/messages", None),
              ("POST", f"/api/counsellor/conversations/{conversation_id}/reply", {"text": "hej"}),
              ("POST", f"/api/counsellor/conversations/{conversation_id}/handback", None),
              ("POST", f"/api/counsellor/conversations/{conversation_id}/close", None)]
    for method, path, body in routes:
        assert live.http.request(method, path, json=body).status_code == 401, path
        assert live.http.request(method, path, json=body,
                                 headers={"Authorization": "Bearer not-a-token"}).status_code == 401, path
    admin = counsellor(live, [], role="admin")
    assert admin.get(f"/api/counsellor/conversations/{conversation_id}/messages").status_code == 200
    assert admin.get("/api/counsellor/conversations/999999/messages").status_code == 404
    assert admin.post(f"/api/counsellor/conversations/{conversation_id}/reply", json={"text": ""}).status_code == 422


def test_a_need_searched_in_aarhus_puts_the_conversation_first_for_a_counsellor_covering_midtjylland(live):
    store = live.services.store
    elsewhere, _ = webchat(live, "jeg føler mig meget ensom, jeg bor i København", language="da")
    webchat(live, "PERSON", elsewhere)
    cid, reply = webchat(live, "jeg føler mig meget ensom, jeg bor i Aarhus", language="da")
    assert any(m.get("offers") for m in reply["messages"]), reply
    webchat(live, "PERSON", cid)
    aarhus, copenhagen = internal_id(live, "webchat", cid), internal_id(live, "webchat", elsewhere)

    _, token = add_user(store, f"midt-{uuid.uuid4().hex[:6]}", "counsellor", ["da"], "Røde Kors Aarhus",
                        ["Region Midtjylland"])
    listed = httpx.get(f"{live.url}/api/counsellor/conversations", params={"state": "queued"},
                       headers={"Authorization": f"Bearer {token}"}).json()
    by_id = {entry["id"]: entry for entry in listed}
    assert by_id[aarhus]["region"] == "Midtjylland" and by_id[copenhagen]["region"] == "Hovedstaden"
    order = [entry["id"] for entry in listed]
    assert order.index(aarhus) < order.index(copenhagen)  # waited less, but in the counsellor's region
    assert [e["id"] for e in counsellor(live, ["da"]).get("/api/counsellor/conversations",
                                                         params={"state": "queued"}).json()
            if e["id"] in (aarhus, copenhagen)] == [copenhagen, aarhus]  # no regions: the longest waiting first


def test_unknown_regions_are_refused_when_adding_a_counsellor(live):
    from bot.users.service import UserError

    with pytest.raises(UserError, match="unknown region"):
        add_user(live.services.store, f"x-{uuid.uuid4().hex[:6]}", "counsellor", ["da"], None, ["Jylland"])


def test_the_delete_word_while_waiting_ends_the_handoff_and_starts_the_delete_flow(live):
    cid, _ = webchat(live, "PERSON", language="so")
    conversation_id = internal_id(live, "webchat", cid)
    _, asked = webchat(live, "TIRTIR", cid)
    assert asked["escalated"] is False
    assert plain(asked["messages"][-1]["text"]) == rendered(live, "delete_data_ask", "so"), asked
    _, done = webchat(live, "haa", cid)
    assert plain(done["messages"][-1]["text"]) == rendered(live, "delete_data_done", "so")
    assert conversation_id not in queue_ids(counsellor(live, ["so"]), "all")
    assert ("queued", "closed") in [(t.from_state, t.to_state)
                                    for t in service.transitions_of(live.services.store, conversation_id)]
