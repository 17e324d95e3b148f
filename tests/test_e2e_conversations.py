"""End to end through the real Rasa server (trained model) and the real app, in every language."""

import uuid

import pytest
from sqlalchemy import select

from bot.conversations import service
from bot.conversations.models import Conversation
from bot.i18n.bidi import protect
from bot.users.service import add_user
from tests.conftest import tap_find_help_if_offered

pytestmark = pytest.mark.slow

# Written for these tests, not taken from the training data.
CONVERSATIONS = {
    "da": ("hej med dig", "jeg er så ensom efter min kone døde, findes der en gruppe?", "jeg bor i Aarhus"),
    "ar": ("السلام عليكم", "أنا حامل وأبحث عن مجموعة للأمهات", "أسكن في أودنسه"),
    "so": ("salaan", "waxaan rabaa in aan joojiyo sigaarka, ma jiraa caawimaad", "waxaan degenahay Odense"),
    "tr": ("merhaba", "borçlarım çok fazla, para konusunda yardım istiyorum", "Aarhus'ta oturuyorum, 8220"),
    "fa": ("سلام", "شوهرم مریض است و من خیلی خسته هستم", "من در کپنهاگ زندگی میکنم"),
}
MUNICIPALITIES = {"da": "Aarhus", "ar": "Odense", "so": "Odense", "tr": "Aarhus", "fa": "København"}


@pytest.fixture(scope="module")
def admin_token(live) -> str:
    return add_user(live.services.store, f"admin-{uuid.uuid4().hex[:6]}", "admin", [])[1]


def conversation_of(live, external_id: str) -> Conversation:
    with live.services.store.session() as session:
        return session.scalar(select(Conversation).where(Conversation.external_id == external_id))


@pytest.mark.parametrize("language", ["da", "ar", "so", "tr", "fa"])
def test_greeting_need_and_place_lead_to_offers_in_the_citizens_language(live, language):
    renderer = live.services.renderer
    conversation_id = f"e2e-{language}-{uuid.uuid4().hex[:8]}"
    greet, need, place = CONVERSATIONS[language]

    welcome = live.say(conversation_id, greet, language).json()
    assert welcome["language"] == language
    assert welcome["messages"][0]["text"] == renderer.render("welcome", language).text

    asked, tapped = tap_find_help_if_offered(live, conversation_id, live.say(conversation_id, need, language).json())
    said = [greet, need, *tapped]
    assert asked["messages"][-1]["text"] == renderer.render("ask_municipality", language).text

    offers = live.say(conversation_id, place, language).json()
    message = offers["messages"][-1]
    # The ordinary heading when an offer is in the citizen's own municipality; otherwise the reply says
    # there is nothing there and what it shows instead.
    municipality = MUNICIPALITIES[language]
    local = any(o["scope"] == "local" and municipality in (o["municipality"] or "").split(", ")
                for o in message["offers"])
    heading = (renderer.plural("offers_found", "offers_found_plural", len(message["offers"]), language) if local
               else renderer.text("offers_none_in_place", language, municipality=municipality))
    assert message["text"].startswith(protect(heading, language)), message["text"]
    assert 1 <= len(message["offers"]) <= 3
    assert renderer.render("offers_next_steps", language).text in message["text"]
    for offer in message["offers"]:
        assert offer["title"] in message["text"].replace("\u200e", "")
        assert offer["municipality"] is None or offer["scope"] == "local"  # the key is always there

    conversation = conversation_of(live, conversation_id)
    stored = service.messages_of(live.services.store, conversation.id)
    inbound = [m for m in stored if m.direction == "in"]
    outbound = [m for m in stored if m.direction == "out"]
    assert [m.text for m in inbound] == [*said, place]
    assert all(m.status == "processed" and m.language == language for m in inbound)
    assert len(outbound) >= 3 and all(m.language == language for m in outbound)
    assert outbound[-1].payload["offer_ids"] == [offer["id"] for offer in message["offers"]]


def test_language_is_detected_without_a_hint_and_details_follow_a_list(live):
    conversation_id = f"e2e-detect-{uuid.uuid4().hex[:8]}"
    renderer = live.services.renderer
    first = live.say(conversation_id, "waxaan ahay hooyo cusub, waxaan raadinayaa koox hooyooyin").json()
    assert first["language"] == "so"
    first, _ = tap_find_help_if_offered(live, conversation_id, first)
    assert first["messages"][-1]["text"] == renderer.render("ask_municipality", "so").text
    listed = live.say(conversation_id, "Odense").json()
    offers = listed["messages"][-1]["offers"]
    assert listed["language"] == "so" and offers
    details = live.say(conversation_id, "1").json()
    text = details["messages"][-1]["text"]
    assert text.startswith(offers[0]["title"])
    how_to_join = next(line for line in renderer.text("offer_details", "so").splitlines() if "{how_to_join}" in line)
    assert how_to_join.split("{")[0].strip() in text


def test_asking_for_a_person_escalates(live):
    conversation_id = f"e2e-human-{uuid.uuid4().hex[:8]}"
    reply = live.say(conversation_id, "I want to talk to a real person please", "en").json()
    assert reply["escalated"] is True
    assert reply["messages"][-1]["text"] == live.services.renderer.render("human_handoff", "en").text
    assert conversation_of(live, conversation_id).state == "queued"


def test_a_crisis_message_gets_the_emergency_reply_and_urgent_escalation(live):
    conversation_id = f"e2e-crisis-{uuid.uuid4().hex[:8]}"
    reply = live.say(conversation_id, "jeg vil ikke leve mere, jeg tænker på at tage mit liv", "da").json()
    text = reply["messages"][0]["text"]  # the emergency numbers first; the privacy notice follows
    assert "112" in text and "70 201 201" in text
    assert reply["escalated"] is True
    assert conversation_of(live, conversation_id).priority == "urgent"


def test_choosing_a_language_switches_and_confirms_in_the_new_language(live):
    conversation_id = f"e2e-lang-{uuid.uuid4().hex[:8]}"
    live.say(conversation_id, "hej", "da")
    reply = live.say(conversation_id, "kan du skrive på tyrkisk?").json()
    assert reply["language"] == "tr"
    assert reply["messages"][-1]["text"] == live.services.renderer.render("language_changed", "tr").text


def test_an_action_server_failure_gives_a_technical_problem_reply_not_silence(live):
    settings = live.services.settings
    conversation_id = f"e2e-broken-{uuid.uuid4().hex[:8]}"
    good_token = settings.action_token
    settings.action_token = "rotated-so-rasa-is-refused"  # Rasa's calls to our actions now fail
    try:
        reply = live.say(conversation_id, "jeg føler mig ensom", "da")
    finally:
        settings.action_token = good_token
    assert reply.status_code == 200
    assert reply.json()["messages"][-1]["text"] == live.services.renderer.render("technical_problem", "da").text
    stored = service.messages_of(live.services.store, conversation_of(live, conversation_id).id)
    assert stored[0].text == "jeg føler mig ensom" and stored[0].status == "failed"


def test_deleting_data_erases_the_conversation_after_confirmation(live):
    conversation_id = f"e2e-delete-{uuid.uuid4().hex[:8]}"
    renderer = live.services.renderer
    live.say(conversation_id, "jeg føler mig ensom", "da")
    asked = live.say(conversation_id, "slet mine data", "da").json()
    assert asked["messages"][-1]["text"] == renderer.render("delete_data_ask", "da").text
    done = live.say(conversation_id, "ja", "da").json()
    assert done["messages"][-1]["text"] == renderer.render("delete_data_done", "da").text
    assert service.messages_of(live.services.store, conversation_of(live, conversation_id).id) == []


def test_health_is_ok_with_the_engine_running(live):
    assert live.http.get("/healthz").json() == {"status": "ok", "rasa": "ok", "database": "ok"}


def test_admin_parse_uses_the_running_model(live):
    _, token = add_user(live.services.store, f"admin-{uuid.uuid4().hex[:6]}", "admin", [])
    response = live.http.post("/api/nlu/parse", json={"text": "mange tak for hjælpen"},
                              headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "da"
    assert body["intent"]["name"] == "thank" and body["crisis"] is False


ODD_MESSAGES = {
    "emoji only": "😀😀🙏",
    "one character": "x",
    "2,000 characters of repetition": ("hej " * 500)[:2000],
    "mixed scripts": "hej مرحبا selam سلام salaan",
    "RTL marks": "\u200fمرحبا\u200e \u200fکمک\u200f",
    "zero-width joiners": "👨\u200d👩\u200d👧 hjælp\u200d",
    "control characters": "hej\x07\x1b med\x00 dig",
}


@pytest.mark.parametrize("label", list(ODD_MESSAGES))
def test_odd_messages_get_a_defined_reply_and_are_stored(live, label):
    conversation_id = f"e2e-odd-{uuid.uuid4().hex[:8]}"
    reply = live.say(conversation_id, ODD_MESSAGES[label], "da")
    assert reply.status_code == 200, reply.text
    messages = reply.json()["messages"]
    assert messages and all(m["text"].strip() for m in messages)
    stored = service.messages_of(live.services.store, conversation_of(live, conversation_id).id)
    assert stored[0].direction == "in" and stored[0].status == "processed"


@pytest.mark.parametrize("label", list(ODD_MESSAGES))
def test_odd_messages_parse_to_a_defined_intent(live, admin_token, label):
    response = live.http.post("/api/nlu/parse", json={"text": ODD_MESSAGES[label]},
                              headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["intent"]["name"] and body["crisis"] is False


def test_parse_refuses_invalid_utf8_and_empty_text(live, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}", "content-type": "application/json"}
    assert live.http.post("/api/nlu/parse", content=b'{"text": "h\xe6"}', headers=headers).status_code in (400, 422)
    assert live.http.post("/api/nlu/parse", json={"text": "   "}, headers=headers).status_code == 422


def test_parse_reports_places_numbers_and_the_crisis_rule(live, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}"}
    place = live.http.post("/api/nlu/parse", json={"text": "Kopenhag'da oturuyorum"}, headers=headers).json()
    assert {"entity": "municipality", "value": "København"}.items() <= place["entities"][-1].items()
    number = live.http.post("/api/nlu/parse", json={"text": "ikincisi"}, headers=headers).json()
    assert any(e["entity"] == "offer_number" and e["value"] == 2 for e in number["entities"])
    crisis = live.http.post("/api/nlu/parse", json={"text": "jeg vil ikke leve mere"}, headers=headers).json()
    assert crisis["crisis"] is True and crisis["crisis_rule"].startswith("da-")
    # A goodbye no rule knows: the crisis classifier, the second net, decides; DIET's guess never does.
    goodbye = "anneme son mesajımı yazdım, her şeyi ayarladım, bu gece gidiyorum"
    farewell = live.http.post("/api/nlu/parse", json={"text": goodbye}, headers=headers).json()
    assert farewell["crisis"] is True and farewell["crisis_rule"] == "crisis-classifier"
    assert "crisis" not in [r["name"] for r in farewell["intent_ranking"]]


def test_the_search_form_resolves_a_place_in_another_script(live):
    """A need without a place starts the form; an answer in Persian script is resolved by the validation
    action, confirmed, and the search runs for the remembered need."""
    renderer = live.services.renderer
    conversation_id = f"e2e-form-{uuid.uuid4().hex[:8]}"
    asked = live.say(conversation_id, "من سیگار میکشم و میخواهم ترک کنم", "fa").json()
    assert asked["messages"][-1]["text"] == renderer.render("ask_municipality", "fa").text
    listed = live.say(conversation_id, "کپنهاگ", "fa").json()
    texts = [m["text"] for m in listed["messages"]]
    assert renderer.render("municipality_noted", "fa", {"municipality": "København"}).text in texts
    assert listed["messages"][-1].get("offers")


def test_the_search_form_asks_again_then_searches_the_whole_country(live):
    renderer = live.services.renderer
    conversation_id = f"e2e-form-x-{uuid.uuid4().hex[:8]}"
    live.say(conversation_id, "jeg har mange penge problemer og gæld", "da")
    again = live.say(conversation_id, "blaaargh", "da").json()
    assert renderer.render("place_unknown", "da").text in [m["text"] for m in again["messages"]]
    assert again["messages"][-1]["text"] == renderer.render("ask_municipality", "da").text
    national = live.say(conversation_id, "nej", "da").json()
    texts = [m["text"] for m in national["messages"]]
    assert renderer.render("place_whole_country", "da").text in texts
    assert national["messages"][-1].get("offers")


def test_a_crisis_during_the_search_form_ends_it_with_the_emergency_reply(live):
    conversation_id = f"e2e-form-c-{uuid.uuid4().hex[:8]}"
    live.say(conversation_id, "jeg er så ensom", "da")
    reply = live.say(conversation_id, "jeg vil ikke leve mere", "da").json()
    assert "112" in reply["messages"][-1]["text"] and reply["escalated"] is True
    # The counsellors have it now: the bot is silent, and the message waits for them.
    waiting = live.say(conversation_id, "tak", "da").json()
    assert waiting["messages"] == [] and waiting["escalated"] is True
    # Handed back, the bot does not return to the unfinished form.
    _, token = add_user(live.services.store, f"c-{uuid.uuid4().hex[:6]}", "counsellor", ["da"])
    internal = service.find(live.services.store, "webchat", conversation_id).id
    headers = {"Authorization": f"Bearer {token}"}
    assert live.http.post(f"/api/counsellor/conversations/{internal}/claim", headers=headers).status_code == 200
    assert live.http.post(f"/api/counsellor/conversations/{internal}/handback", headers=headers).status_code == 200
    after = live.say(conversation_id, "tak", "da").json()
    assert after["messages"] and after["messages"][-1]["text"] != live.services.renderer.render(
        "ask_municipality", "da").text
