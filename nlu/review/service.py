"""The understanding log and the review queue: logging, the reasons to review, labelling, retention.

Reasons a message enters the queue (`reasons` on its row):
  fallback            the model was not sure enough (below its language's threshold, or ambiguous)
  low_confidence      the model's best guess was within `REVIEW_MARGIN` of that threshold
  citizen_said_wrong  the next message said it was misunderstood ("forkert", "not what I meant")
                      or was a plain "no" that answered no question
  counsellor_corrected  a counsellor set the intent in the console
  negative_feedback   the citizen said the offers did not help (the need they described is queued)
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import yaml
from sqlalchemy import delete, select

from bot.conversations.models import utcnow
from bot.store.db import Store
from nlu.intent_decision import FALLBACK_INTENT, bars_for, load_thresholds
from nlu.normalise import words
from nlu.review.learned import LearnedData, one_line
from nlu.review.models import LABELLED, LOGGED, NOISE, OPEN, Understanding
from nlu.review.redact import mask

# The product's default bar (config.yml) for a language without a calibrated one.
DEFAULT_THRESHOLD = 0.45
# A guess this close above the bar still deserves a look: the next model may fall just below it.
REVIEW_MARGIN = 0.05
REASONS = ("fallback", "low_confidence", "citizen_said_wrong", "counsellor_corrected", "negative_feedback")
# Cosine distance under which two messages are "the same thing said twice" (e5-small, average linkage).
CLUSTER_DISTANCE = 0.12
MAX_CLUSTER = 20


class ReviewError(ValueError):
    """A request the review queue cannot carry out (bad intent, item already done); the message says why."""


class UnknownItem(ReviewError):
    pass


@cache
def _misunderstood() -> tuple[frozenset[str], tuple[str, ...]]:
    data = yaml.safe_load((Path(__file__).with_name("misunderstood.yml")).read_text(encoding="utf-8"))
    phrases = {" ".join(words(p)) for values in data.values() for p in values}
    return frozenset(phrases), tuple(p for p in phrases if len(p.split()) >= 2)


def says_misunderstood(text: str) -> bool:
    folded = " ".join(words(text))
    exact, longer = _misunderstood()
    return folded in exact or any(f" {phrase} " in f" {folded} " for phrase in longer)


def review_reasons(understood: dict, language: str, thresholds: dict | None = None) -> list[str]:
    """Why a fresh understanding deserves review (empty when it does not)."""
    if understood.get("source") not in ("model", "rule"):
        return []  # the crisis rules decided: nothing for a model to learn
    if understood.get("intent") == FALLBACK_INTENT:
        return ["fallback"]
    if understood.get("source") != "model":
        return []  # a keyword, a button or a list number: certain by construction
    threshold = bars_for(language, thresholds if thresholds is not None else load_thresholds(),
                         DEFAULT_THRESHOLD, 0.0)[0]
    if float(understood.get("confidence") or 0.0) < threshold + REVIEW_MARGIN:
        return ["low_confidence"]
    return []


def log(store: Store, *, conversation_key: str, message_id: int | None, channel: str, language: str, text: str,
        understood: dict, thresholds: dict | None = None) -> Understanding:
    """Log what was understood of one citizen message; queue it for review when there is a reason."""
    reasons = review_reasons(understood, language, thresholds)
    entry = Understanding(
        conversation_key=conversation_key, message_id=message_id, channel=channel, language=language,
        text=mask(text), intent=understood.get("intent"), confidence=float(understood.get("confidence") or 0.0),
        ranking=understood.get("ranking"), entities=understood.get("entities"),
        fallback=understood.get("intent") == FALLBACK_INTENT, source=str(understood.get("source") or "model"),
        status=OPEN if reasons else LOGGED, reasons=reasons,
    )
    with store.session() as session:
        plain_no = understood.get("intent") == "deny" and understood.get("source") == "model"
        if plain_no or says_misunderstood(text):
            # "No" answering no question, or "that's not what I meant": the message before was misread.
            previous = session.scalars(
                select(Understanding).where(Understanding.conversation_key == conversation_key)
                .order_by(Understanding.id.desc()).limit(1)).first()
            if previous is not None:
                _add_reason(previous, "citizen_said_wrong")
        session.add(entry)
    return entry


def _add_reason(entry: Understanding, reason: str) -> None:
    if reason not in (entry.reasons or []):
        entry.reasons = [*(entry.reasons or []), reason]
    if entry.status == LOGGED:
        entry.status = OPEN


def flag_message(store: Store, conversation_key: str, message_id: int, reason: str,
                 suggested_intent: str | None = None) -> bool:
    """Queue the logged message with this id (a counsellor's correction); False when it was never logged."""
    with store.session() as session:
        entry = session.scalars(select(Understanding).where(Understanding.conversation_key == conversation_key,
                                                             Understanding.message_id == message_id)).first()
        if entry is None:
            return False
        _add_reason(entry, reason)
        if suggested_intent:
            entry.suggested_intent = suggested_intent
        return True


def flag_latest(store: Store, conversation_key: str, reason: str, intents: Iterable[str]) -> bool:
    """Queue the conversation's latest message with one of these intents (the need behind bad offers)."""
    with store.session() as session:
        entry = session.scalars(
            select(Understanding).where(Understanding.conversation_key == conversation_key,
                                        Understanding.intent.in_(list(intents)))
            .order_by(Understanding.id.desc()).limit(1)).first()
        if entry is None:
            return False
        _add_reason(entry, reason)
        return True


def forget(store: Store, conversation_key: str) -> int:
    """A citizen's deletion request reaches the log too; labelled training data has no link back."""
    with store.session() as session:
        return session.execute(delete(Understanding).where(Understanding.conversation_key == conversation_key)).rowcount


def purge(store: Store, older_than_days: int, now: datetime | None = None) -> int:
    """Retention: rows older than the limit are deleted, queued or not."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    with store.session() as session:
        return session.execute(delete(Understanding).where(Understanding.created_at < cutoff)).rowcount


def queue(store: Store, language: str | None = None, limit: int = 500) -> list[Understanding]:
    """Open items, oldest first."""
    query = select(Understanding).where(Understanding.status == OPEN)
    if language:
        query = query.where(Understanding.language == language)
    with store.session() as session:
        return list(session.scalars(query.order_by(Understanding.id).limit(limit)))


@dataclass
class Cluster:
    language: str
    items: list[Understanding]

    @property
    def id(self) -> str:
        return f"{self.language}-{self.items[0].id}"


def clusters(items: list[Understanding], embed: Callable[[list[str]], np.ndarray],
             distance: float = CLUSTER_DISTANCE, max_size: int = MAX_CLUSTER) -> list[Cluster]:
    """Similar messages of one language together (agglomerative clustering on e5 embeddings, cosine,
    average linkage), biggest groups first, at most `max_size` per group so one label fits them all."""
    from sklearn.cluster import AgglomerativeClustering

    found: list[Cluster] = []
    by_language: dict[str, list[Understanding]] = {}
    for item in items:
        by_language.setdefault(item.language, []).append(item)
    for language, group in by_language.items():
        if len(group) == 1:
            found.append(Cluster(language, group))
            continue
        vectors = embed([item.text for item in group])
        labels = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="cosine",
                                         linkage="average").fit_predict(vectors)
        members: dict[int, list[Understanding]] = {}
        for item, label in zip(group, labels, strict=True):
            members.setdefault(int(label), []).append(item)
        for chunk in members.values():
            found += [Cluster(language, chunk[i:i + max_size]) for i in range(0, len(chunk), max_size)]
    found.sort(key=lambda c: (-len(c.items), c.items[0].id))
    return found


@dataclass
class LabelResult:
    id: int
    status: str  # labelled | refused
    reason: str | None = None


def _items(session, ids: list[int]) -> list[Understanding]:
    found = {e.id: e for e in session.scalars(select(Understanding).where(Understanding.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise UnknownItem(f"no review item {', '.join(map(str, missing))}")
    return [found[i] for i in ids]


def label(store: Store, learned: LearnedData, ids: list[int], intent: str, language: str, user_id: int,
          intents: Iterable[str]) -> list[LabelResult]:
    """Label items and write them as training data; an example that would repeat or contradict existing
    data (or the held-out tests) is refused with the reason and stays in the queue."""
    if intent not in set(intents):
        raise ReviewError(f"unknown intent {intent!r}; choose one of the domain's intents")
    if not ids:
        raise ReviewError("no items given")
    with store.session() as session:
        items = _items(session, ids)
        done = [item for item in items if item.status in (LABELLED, NOISE)]
        if done:
            raise ReviewError(f"item {done[0].id} is already {done[0].status}")
        refused = {r.text: r.reason for r in learned.add(language, [(item.text, intent) for item in items])}
        results = []
        for item in items:
            reason = refused.get(one_line(item.text))
            item.reviewed_by, item.reviewed_at = user_id, utcnow()
            if reason:
                item.refusal = reason
                results.append(LabelResult(item.id, "refused", reason))
            else:
                item.status, item.label_intent, item.label_language, item.refusal = LABELLED, intent, language, None
                results.append(LabelResult(item.id, "labelled"))
        return results


def mark_noise(store: Store, ids: list[int], user_id: int) -> int:
    """Not a message to learn from (gibberish, a test, a stray photo caption): out of the queue."""
    with store.session() as session:
        items = _items(session, ids)
        for item in items:
            if item.status == LABELLED:
                raise ReviewError(f"item {item.id} is already labelled")
            item.status, item.reviewed_by, item.reviewed_at = NOISE, user_id, utcnow()
        return len(items)


def redact(store: Store, item_id: int, text: str, user_id: int) -> Understanding:
    """Replace the text (a name, an address the patterns missed) before it can become training data."""
    text = one_line(text)
    if not text:
        raise ReviewError("the redacted text is empty; mark the item as noise instead")
    with store.session() as session:
        item = _items(session, [item_id])[0]
        if item.status in (LABELLED, NOISE):
            raise ReviewError(f"item {item.id} is already {item.status}")
        item.text, item.redacted = mask(text), True
        item.reviewed_by, item.reviewed_at = user_id, utcnow()
        return item


def counts(store: Store) -> dict[str, dict[str, int]]:
    """Open items per language and reason, for the console's header."""
    result: dict[str, dict[str, int]] = {}
    for item in queue(store, limit=100_000):
        per = result.setdefault(item.language, {})
        for reason in item.reasons or []:
            per[reason] = per.get(reason, 0) + 1
        per["open"] = per.get("open", 0) + 1
    return result
