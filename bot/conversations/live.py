"""Wakes whoever waits for a conversation's next message (the web chat's live stream).

A counsellor's reply is stored by one request and must reach the citizen's open page, served by
another. `ring` is called after a message is committed, from any thread; a subscriber's event is set
and the subscriber then reads the store. The store stays the only source of truth, so a ring that
can't reach a subscriber (another worker process) costs at most the subscriber's read interval.
"""

import asyncio
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class MessageBell:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)

    def ring(self, conversation_id: int) -> None:
        with self._lock:
            subscribers = list(self._subscribers.get(conversation_id, ()))
        for loop, event in subscribers:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop has closed; its subscriber is gone with it
                pass

    @contextmanager
    def subscription(self, conversation_id: int) -> Iterator[asyncio.Event]:
        """An event set by every ring for the conversation while the `with` block lasts.

        Subscribe before reading the store: a message committed between the read and the wait then
        leaves the event set instead of being missed.
        """
        subscriber = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._subscribers[conversation_id].add(subscriber)
        try:
            yield subscriber[1]
        finally:
            with self._lock:
                subscribers = self._subscribers.get(conversation_id)
                if subscribers is not None:
                    subscribers.discard(subscriber)
                    if not subscribers:
                        del self._subscribers[conversation_id]


# One per process: every message the store commits in this process rings it.
bell = MessageBell()
