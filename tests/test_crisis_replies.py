"""The crisis action, as Rasa calls it: the reply fits the kind of crisis the app's screen passed along."""

import pytest

from bot.conversations import service


def crisis_call(sender_id: str, metadata: dict) -> dict:
    return {"next_action": "action_crisis", "sender_id": sender_id, "version": "3.6.0",
            "tracker": {"sender_id": sender_id, "slots": {}, "events": [],
                        "latest_message": {"text": "/crisis", "intent": {"name": "crisis"}, "entities": [],
                                           "metadata": metadata}},
            "domain": {}}


@pytest.mark.parametrize(("kind", "keys"), [
    ("violence", ["crisis_violence", "crisis_children_line"]),  # BørneTelefonen follows, for children
    ("medical", ["crisis_medical"]),
    ("suicide", ["crisis"]),
    ("overdose", ["crisis"]),
    ("unspecified", ["crisis_any"]),  # a cry for rescue that names no kind ("imdat", "نجاتم بدید")
    ("classifier", ["crisis_any"]),
    (None, ["crisis_any"]),  # the model's own crisis intent, no screen behind it
    ("<script>", ["crisis_any"]),  # whatever else arrives in the metadata
])
def test_the_crisis_action_answers_by_the_kind_and_escalates_as_urgent(client, kind, keys):
    settings = client.app.state.services.settings
    store = client.app.state.services.store
    conversation = service.get_or_create(store, "webchat", f"kind-{kind}", "tr")
    metadata = {"language": "tr", "text": "..."} | ({"crisis_kind": kind} if kind else {})
    response = client.post("/rasa/actions", json=crisis_call(conversation.engine_sender_id, metadata),
                           headers={"X-Action-Token": settings.action_token})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [reply["custom"]["key"] for reply in body["responses"]] == keys
    assert {"event": "pause"} in body["events"]
    stored = service.find(store, "webchat", f"kind-{kind}")
    assert (stored.state, stored.priority) == ("queued", "urgent")
