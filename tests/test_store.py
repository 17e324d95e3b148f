from sqlalchemy import select

from bot.conversations import service
from bot.conversations.models import Conversation, Message
from bot.store.db import Store


def make_store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.create_schema()
    return store


def test_inbound_message_is_committed_and_visible_to_a_new_connection(tmp_path):
    store = make_store(tmp_path)
    conversation = service.get_or_create(store, "webchat", "abc", "so")
    message = service.add_message(store, conversation.id, "in", "citizen", "Waan kaligay ahay", "so")

    other = Store(f"sqlite:///{tmp_path / 'store.db'}")  # a separate engine, as another process would be
    with other.session() as session:
        stored = session.get(Message, message.id)
        assert stored.text == "Waan kaligay ahay"
        assert stored.status == "received"
        assert stored.language == "so"


def test_get_or_create_returns_the_same_conversation(tmp_path):
    store = make_store(tmp_path)
    first = service.get_or_create(store, "webchat", "abc", "da")
    again = service.get_or_create(store, "webchat", "abc", "ar")
    other_channel = service.get_or_create(store, "sms", "abc", "da")
    assert first.id == again.id
    assert again.language == "da"  # language is kept; only the pipeline changes it
    assert other_channel.id != first.id
    assert service.by_engine_sender(store, first.engine_sender_id).id == first.id
    assert service.by_engine_sender(store, "not-ours") is None


def test_erase_removes_messages_and_resets_escalation(tmp_path):
    store = make_store(tmp_path)
    conversation = service.get_or_create(store, "webchat", "abc", "tr")
    for text in ("merhaba", "yardım lazım"):
        service.add_message(store, conversation.id, "in", "citizen", text, "tr")
    service.escalate(store, conversation.id, "urgent", "crisis")
    service.erase(store, conversation.id)
    assert service.messages_of(store, conversation.id) == []
    with store.session() as session:
        emptied = session.scalar(select(Conversation).where(Conversation.id == conversation.id))
        assert (emptied.state, emptied.priority) == ("bot", "normal")


def test_escalation_keeps_the_highest_priority(tmp_path):
    store = make_store(tmp_path)
    conversation = service.get_or_create(store, "webchat", "x", "fa")
    service.escalate(store, conversation.id, "urgent", "crisis")
    service.escalate(store, conversation.id, "normal", "request_human")
    with store.session() as session:
        stored = session.get(Conversation, conversation.id)
        assert (stored.state, stored.priority) == ("queued", "urgent")
