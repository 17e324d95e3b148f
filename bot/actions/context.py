"""What an action sees: the engine's call, the conversation, and the app's services."""

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from bot.engine.actions import ActionCall
from bot.services import Services


@dataclass
class ActionContext:
    call: ActionCall
    services: Services
    conversation_id: int
    language: str

    @property
    def text(self) -> str:
        latest = self.call.tracker.latest_message
        # When the app forced the intent, the engine saw "/intent"; the citizen's words ride in metadata.
        return latest.metadata.get("text") or latest.text or ""

    @property
    def crisis_kind(self) -> str | None:
        """What the app's crisis screen found in this message (a rule's category, or "classifier")."""
        return self.call.tracker.latest_message.metadata.get("crisis_kind")

    @property
    def intent(self) -> str | None:
        return self.call.tracker.latest_message.intent.get("name")

    def slot(self, name: str) -> Any:
        return self.call.tracker.slots.get(name)

    def slot_candidate(self, name: str) -> Any:
        """A value the engine extracted for a form slot in this turn (what a validation action checks)."""
        for event in reversed(self.call.tracker.events):
            if event.get("event") == "user":
                break
            if event.get("event") == "slot" and event.get("name") == name:
                return event.get("value")
        return None

    async def search(self, need: str, municipality: str | None, offset: int, limit: int) -> list[dict]:
        """Offer cards in the conversation's language; each says its location tier and place."""
        hits = await run_in_threadpool(self.services.search.search, need, municipality, limit, offset, self.language)
        return [hit.card(self.language) for hit in hits]
