"""Bad input and an unreachable engine, through the real app (nothing listens on the engine port)."""

from sqlalchemy import select

from bot.conversations.models import Conversation, Message


def stored_messages(client) -> list[Message]:
    with client.app.state.services.store.session() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def post(client, **body):
    return client.post("/api/webchat/messages", json=body)


def test_empty_and_whitespace_text_are_refused_clearly(client):
    for text in ("", "   \n\t "):
        response = post(client, conversation_id="c1", text=text)
        assert response.status_code == 422
        assert "text must not be empty" in response.text
    assert stored_messages(client) == []


def test_text_over_the_limit_is_refused_and_not_stored(client):
    response = post(client, conversation_id="c1", text="a" * 2001)
    assert response.status_code == 413
    assert "2000" in response.json()["detail"]
    assert stored_messages(client) == []


def test_huge_body_is_refused_before_parsing(client):
    response = client.post("/api/webchat/messages", content=b"x" * 300_000,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_a_chunked_body_without_content_length_is_counted_as_it_arrives(client):
    # No Content-Length to refuse up front: the body is counted while it streams in.
    pieces = (b"x" * 65536 for _ in range(5))  # 320 kB, over the 256 kB limit
    response = client.post("/api/webchat/messages", content=pieces, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "bytes" in response.json()["detail"]
    assert stored_messages(client) == []
    # A small chunked message is read as usual.
    small = (part for part in (b'{"conversation_id": "chunked-1", ', b'"text": "hej"}'))
    response = client.post("/api/webchat/messages", content=small, headers={"content-type": "application/json"})
    assert response.status_code == 200 and [m.text for m in stored_messages(client) if m.direction == "in"] == ["hej"]


def test_invalid_json_binary_and_wrong_encoding_are_refused(client):
    for body in (b"{not json", b"\x00\xff\xfe\x81binary"):
        response = client.post("/api/webchat/messages", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, body
        assert "json" in response.text.lower()
    latin1 = '{"conversation_id": "c1", "text": "hæ"}'.encode("latin-1")
    response = client.post("/api/webchat/messages", content=latin1, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "parsing the body" in response.text  # not UTF-8
    assert stored_messages(client) == []


def test_unknown_language_lists_the_supported_ones(client):
    response = post(client, conversation_id="c1", text="hello", language="de")
    assert response.status_code == 422
    assert "da, ar, so, tr, fa, en" in response.text


def test_conversation_id_must_be_safe(client):
    assert post(client, conversation_id="", text="hej").status_code == 422
    assert post(client, conversation_id="a b<script>", text="hej").status_code == 422
    assert post(client, conversation_id="x" * 65, text="hej").status_code == 422
    assert post(client, text="hej").status_code == 422


def test_engine_down_gives_a_localized_technical_problem_and_keeps_the_message(client):
    renderer = client.app.state.services.renderer
    response = post(client, conversation_id="c1", text="Waxaan u baahanahay caawimaad 🙏", language="so")
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "so" and body["escalated"] is False
    # The message was kept, so the first reply still says what is kept and for how long.
    assert [m["text"] for m in body["messages"]] == [renderer.render("privacy_notice", "so").text,
                                                     renderer.render("technical_problem", "so").text]

    inbound, *outbound = stored_messages(client)
    assert (inbound.direction, inbound.text, inbound.status) == ("in", "Waxaan u baahanahay caawimaad 🙏", "failed")
    assert [(m.direction, m.language, m.payload["key"]) for m in outbound] == [
        ("out", "so", "privacy_notice"), ("out", "so", "technical_problem")]


def test_mixed_scripts_and_emoji_are_stored_intact(client):
    text = "سلام hej 👋🏽 مرحبا kommune 2200"
    assert post(client, conversation_id="mix", text=text).status_code == 200
    assert stored_messages(client)[0].text == text


def test_language_is_detected_and_kept_for_the_conversation(client):
    assert post(client, conversation_id="t1", text="merhaba, sigarayi birakmak istiyorum").json()["language"] == "tr"
    assert post(client, conversation_id="t1", text="ok").json()["language"] == "tr"
    with client.app.state.services.store.session() as session:
        conversation = session.scalar(select(Conversation).where(Conversation.external_id == "t1"))
        assert conversation.language == "tr"


def test_health_is_degraded_when_the_engine_is_down(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "rasa": "down", "database": "ok"}


def test_openapi_documents_the_public_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/webchat/messages" in paths and "/healthz" in paths
    assert "/rasa/actions" not in paths


def test_a_crisis_is_answered_and_escalated_even_when_the_engine_is_down(client):
    renderer = client.app.state.services.renderer
    response = post(client, conversation_id="sos", text="jeg vil tage mit eget liv i aften", language="da")
    body = response.json()
    assert response.status_code == 200 and body["escalated"] is True
    assert body["messages"][0]["text"] == renderer.render("crisis", "da").text
    inbound = stored_messages(client)[0]
    assert inbound.payload["crisis_rule"]  # which rule fired is kept for review
    with client.app.state.services.store.session() as session:
        conversation = session.scalar(select(Conversation).where(Conversation.external_id == "sos"))
        assert (conversation.state, conversation.priority) == ("queued", "urgent")


def test_violence_at_home_and_a_medical_emergency_get_their_own_emergency_reply(client):
    """Lev Uden Vold's 1888 for violence at home, the ambulance for a medical emergency: with the engine down
    too, and whoever answers first on a conversation already with the counsellors."""
    renderer = client.app.state.services.renderer
    hit = post(client, conversation_id="hit", text="min mand slår mig, og jeg tør ikke gå hjem i aften",
               language="da").json()
    assert hit["escalated"] is True and hit["messages"][0]["text"] == renderer.render("crisis_violence", "da").text
    assert "1888" in hit["messages"][0]["text"]
    assert [m["text"] for m in hit["messages"][1:2]] == [renderer.render("crisis_children_line", "da").text]
    breath = post(client, conversation_id="breath", text="aabahay wuu dhacay oo ma neefsanayo", language="so").json()
    assert breath["escalated"] is True and breath["messages"][0]["text"] == renderer.render("crisis_medical", "so").text
    # The violence conversation is queued now: a second crisis there is answered by its own kind again.
    again = post(client, conversation_id="hit", text="han står uden for døren nu og truer med at slå mig ihjel",
                 language="da").json()
    assert [m["text"] for m in again["messages"]] == [renderer.render(key, "da").text
                                                      for key in ("crisis_violence", "crisis_children_line")]
    kinds = [m.payload["crisis_rule"] for m in stored_messages(client) if m.direction == "in"]
    assert [kind.split("-")[:2] for kind in kinds] == [["da", "violence"], ["so", "medical"], ["da", "violence"]]


def test_a_child_telling_of_abuse_at_night_gets_the_violence_reply_and_the_line_for_children(client):
    """Round 12 of the crisis rules: sexual violence and violence against children count as violence. A
    13-year-old writing in Turkish about a stepfather who comes into their room at night gets 112 and Lev
    Uden Vold, then BørneTelefonen's 116 111, and an urgent counsellor; the engine is down here."""
    renderer = client.app.state.services.renderer
    body = post(client, conversation_id="child", text="üvey babam geceleri odama giriyor, 13 yaşındayım",
                language="tr").json()
    assert body["escalated"] is True
    texts = [m["text"] for m in body["messages"]]
    assert texts[:2] == [renderer.render(key, "tr").text for key in ("crisis_violence", "crisis_children_line")]
    assert "116 111" in texts[1] and "1888" in texts[0]
    inbound = [m for m in stored_messages(client) if m.direction == "in"][-1]
    assert inbound.payload["crisis_kind"] == "violence" and inbound.payload["crisis_rule"].startswith("tr-")


def test_counsellors_see_what_kind_of_crisis_each_conversation_is_about(client):
    """The queue names the kind of the citizen's latest crisis (an urgent violence case needs the hotline, a
    medical one the ambulance), and the transcript names it per message, next to the rule that fired."""
    from bot.conversations import service
    from bot.users.service import add_user

    _, token = add_user(client.app.state.services.store, "Amina-kinds", "counsellor", ["da", "so"])
    as_counsellor = {"Authorization": f"Bearer {token}"}
    post(client, conversation_id="kind-1", text="jeg vil tage mit eget liv i aften", language="da")
    post(client, conversation_id="kind-1", text="og nu står min mand her og slår mig", language="da")
    post(client, conversation_id="kind-2", text="aabahay wuu dhacay oo ma neefsanayo", language="so")
    post(client, conversation_id="kind-3", text="jeg har skrevet breve til mine børn og lagt dem på bordet, nu er "
                                                "jeg færdig", language="da")
    queue = client.get("/api/counsellor/conversations", headers=as_counsellor).json()
    store = client.app.state.services.store
    ids = {cid: service.find(store, "webchat", cid).id for cid in ("kind-1", "kind-2", "kind-3")}
    kinds = {entry["id"]: entry["crisis_kind"] for entry in queue}
    assert kinds[ids["kind-1"]] == "violence"  # the latest crisis message decides
    assert kinds[ids["kind-2"]] == "medical"
    assert kinds[ids["kind-3"]] == "classifier"
    transcript = client.get(f"/api/counsellor/conversations/{ids['kind-1']}/messages", headers=as_counsellor).json()
    citizen = [(m["crisis_kind"], m["crisis_rule"].split("-")[1]) for m in transcript["messages"]
               if m["author"] == "citizen"]
    assert citizen == [("suicide", "suicide"), ("violence", "violence")]


def test_a_cry_for_rescue_gets_the_reply_for_any_kind_in_the_citizens_language_and_is_escalated(client):
    renderer = client.app.state.services.renderer
    body = post(client, conversation_id="cry", text="نجاتم بدید!!", language="fa").json()
    assert body["escalated"] is True
    # No kind named: 112, Livslinien and Lev Uden Vold, in Farsi.
    assert body["messages"][0]["text"] == renderer.render("crisis_any", "fa").text
    inbound = stored_messages(client)[0]
    assert inbound.payload["crisis_kind"] == "unspecified"
    assert inbound.payload["crisis_rule"] == "fa-unspecified-rescue-cry"
    # Naming the kind after the cry gets that kind's reply: "imdat, my mother fainted and is not breathing".
    body = post(client, conversation_id="cry-medical", text="imdat annem bayıldı nefes almıyor", language="tr").json()
    assert body["messages"][0]["text"] == renderer.render("crisis_medical", "tr").text


def test_a_crisis_the_rules_miss_is_caught_by_the_classifier_and_escalated(client):
    renderer = client.app.state.services.renderer
    text = "jeg har skrevet breve til mine børn og lagt dem på bordet, nu er jeg færdig"
    assert client.app.state.services.crisis_screen.rules_match(text) is None
    body = post(client, conversation_id="goodbye", text=text, language="da").json()
    assert body["escalated"] is True
    # The classifier does not know which kind of crisis: its reply names Livslinien and Lev Uden Vold.
    assert body["messages"][0]["text"] == renderer.render("crisis_any", "da").text
    inbound = stored_messages(client)[0]
    assert inbound.payload["crisis_rule"] == "crisis-classifier"
    assert inbound.payload["nlu"]["source"] == "crisis classifier"
    with client.app.state.services.store.session() as session:
        conversation = session.scalar(select(Conversation).where(Conversation.external_id == "goodbye"))
        assert (conversation.state, conversation.priority) == ("queued", "urgent")


def test_answers_the_bot_asked_for_are_not_read_by_the_crisis_classifier(client, monkeypatch):
    screen = client.app.state.services.crisis_screen
    read = []
    monkeypatch.setattr(screen, "classifier_match", lambda text: read.append(text))
    post(client, conversation_id="answers", text="STOP", language="da")
    post(client, conversation_id="answers2", text="2", language="da")
    assert read == []
    post(client, conversation_id="answers3", text="jeg leder efter en mødregruppe", language="da")
    assert read == ["jeg leder efter en mødregruppe"]


def test_messages_leave_out_absent_offers_but_offers_keep_every_key(client):
    from connectors.webchat.schemas import BotMessageOut

    post(client, conversation_id="c-shape", text="hej")  # the first reply carries the privacy notice
    reply = post(client, conversation_id="c-shape", text="hej").json()
    assert all("offers" not in m and "quick_replies" not in m for m in reply["messages"])
    national = {"id": "a", "title": "t", "summary": "s", "topics": ["grief"], "municipality": None,
                "languages": ["da"], "contact": None, "tier": "national"}
    dumped = BotMessageOut(text="x", offers=[national]).model_dump()
    assert "quick_replies" not in dumped
    assert dumped["offers"][0]["municipality"] is None and dumped["offers"][0]["tier"] == "national"


def test_stop_works_while_the_engine_is_down(client):
    from bot.conversations import service

    renderer = client.app.state.services.renderer
    post(client, conversation_id="c-stop", text="hej", language="da")
    reply = post(client, conversation_id="c-stop", text="STOP", language="da").json()
    assert [m["text"] for m in reply["messages"]] == [renderer.render("opt_out_confirm", "da").text]
    with client.app.state.services.store.session() as session:
        conversation_id = session.scalar(select(Conversation.id).where(Conversation.external_id == "c-stop"))
    assert service.opted_out(client.app.state.services.store, conversation_id)
