"""Rasa's action-server protocol, our side of it (no rasa_sdk needed).

Rasa POSTs {next_action, sender_id, tracker{slots, latest_message{text, intent, entities, metadata},
events, paused, active_loop, ...}, domain, version}; we answer {"events": [...], "responses": [...]}.
A response is {"custom": {...}}, {"text": ...} or {"response": "utter_x"}. HTTP 400
{action_name, error} tells Rasa the action was rejected.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LatestMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str | None = None
    intent: dict[str, Any] = Field(default_factory=dict)
    entities: list[dict[str, Any]] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Tracker(BaseModel):
    model_config = ConfigDict(extra="allow")
    sender_id: str
    slots: dict[str, Any] = Field(default_factory=dict)
    latest_message: LatestMessage = Field(default_factory=LatestMessage)
    events: list[dict[str, Any]] = Field(default_factory=list)
    paused: bool = False


class ActionCall(BaseModel):
    model_config = ConfigDict(extra="allow")
    next_action: str
    sender_id: str
    tracker: Tracker
    domain: dict[str, Any] = Field(default_factory=dict)
    version: str | None = None


class ActionResult(BaseModel):
    events: list[dict[str, Any]] = Field(default_factory=list)
    responses: list[dict[str, Any]] = Field(default_factory=list)

    def say(self, key: str, **args: Any) -> "ActionResult":
        self.responses.append({"custom": {"key": key, "args": args}})
        return self

    def set_slot(self, name: str, value: Any) -> "ActionResult":
        self.events.append({"event": "slot", "name": name, "value": value})
        return self


class ActionRejected(Exception):
    def __init__(self, action_name: str, error: str) -> None:
        super().__init__(error)
        self.action_name = action_name
        self.error = error


def turn_metadata(language: str) -> dict[str, Any]:
    """Metadata the app attaches to each citizen message; actions read it back from the tracker."""
    return {"language": language}
