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


# The emergency reply fits the kind of crisis the app's screen found (nlu.crisis.CATEGORIES): violence at home
# gets Lev Uden Vold's hotline, an acute medical emergency the ambulance; suicide, self-harm and overdose the
# reply with Livslinien and the psychiatric emergency room. A crisis of no known kind (a cry for rescue such as
# "imdat" or "نجاتم بدید", the classifier, or the model's own `crisis` intent) gets the reply that names both
# Livslinien and Lev Uden Vold.
CRISIS_REPLY_BY_KIND = {"suicide": "crisis", "self_harm": "crisis", "overdose": "crisis",
                        "violence": "crisis_violence", "medical": "crisis_medical"}
CRISIS_REPLY_ANY_KIND = "crisis_any"
CRISIS_REPLIES = frozenset(CRISIS_REPLY_BY_KIND.values()) | {CRISIS_REPLY_ANY_KIND}
# Violence reaches children too (round 12 of the crisis rules: a child writing about a stepfather, a parent
# beating a child): after the violence reply, BørneTelefonen's line for children and young people, as a
# message of its own so the reply before it keeps its SMS budget.
CRISIS_FOLLOW_UPS = {"violence": ("crisis_children_line",)}


def crisis_reply_key(kind: str | None) -> str:
    """The key of the emergency reply (bot/locales) for a crisis of this kind."""
    return CRISIS_REPLY_BY_KIND.get(kind or "", CRISIS_REPLY_ANY_KIND)


def crisis_reply_keys(kind: str | None) -> tuple[str, ...]:
    """The emergency reply's key and the keys of the messages that follow it, in order."""
    return (crisis_reply_key(kind), *CRISIS_FOLLOW_UPS.get(kind or "", ()))


def turn_metadata(language: str, crisis_kind: str | None = None) -> dict[str, Any]:
    """Metadata the app attaches to each citizen message; actions read it back from the tracker."""
    metadata: dict[str, Any] = {"language": language}
    if crisis_kind:
        metadata["crisis_kind"] = crisis_kind
    return metadata
