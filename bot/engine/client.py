"""Async client for a running Rasa server. Every failure surfaces as `EngineError`."""

import asyncio
from contextlib import asynccontextmanager
from typing import Any

import httpx


def escape_for_engine(text: str) -> str:
    """Rasa reads a message that starts with "/" as an intent name; citizens must not be able to."""
    return text.lstrip("/ \n") or "…"


class EngineError(RuntimeError):
    """The engine could not give a usable answer (down, timeout, error status or empty reply)."""


class RasaClient:
    """Also the one place that knows when the engine swaps models: Rasa's PUT /model blocks the whole
    server while the new model loads (~20 s for the product pipeline), longer than a turn may wait. So
    a swap first lets the requests in flight finish, holds new ones back (they wait, then go on), and
    only then asks Rasa to load."""

    def __init__(self, base_url: str, token: str | None, timeout_s: float = 10.0) -> None:
        self._token = token
        self._traffic = asyncio.Condition()
        self._in_flight = 0
        self._swapping = False
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s, connect=2.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _auth(self) -> dict[str, str]:
        return {"token": self._token} if self._token else {}

    @asynccontextmanager
    async def _slot(self):
        """A request's turn: not while a model is being swapped in."""
        async with self._traffic:
            await self._traffic.wait_for(lambda: not self._swapping)
            self._in_flight += 1
        try:
            yield
        finally:
            async with self._traffic:
                self._in_flight -= 1
                self._traffic.notify_all()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with self._slot():
            return await self._send(method, path, **kwargs)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise EngineError(f"engine timed out on {path}") from exc
        except httpx.HTTPError as exc:
            raise EngineError(f"engine unreachable on {path}: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise EngineError(f"engine answered {response.status_code} on {path}")
        return response

    async def turn(self, sender_id: str, text: str, metadata: dict[str, Any],
                   intent: str | None = None) -> list[dict[str, Any]]:
        """One citizen message through the REST channel; returns the bot's messages.

        `intent` forces the intent (the app's crisis rules decide before any model does).
        Rasa answers `[]` both when the bot has nothing to say and when the action server failed;
        we always expect at least one message, so an empty answer is a failure.
        """
        message = f"/{intent}" if intent else escape_for_engine(text)
        response = await self._request(
            "POST", "/webhooks/rest/webhook", json={"sender": sender_id, "message": message, "metadata": metadata}
        )
        try:
            messages = response.json()
        except ValueError as exc:
            raise EngineError("engine answered with invalid JSON") from exc
        if not isinstance(messages, list) or not messages:
            raise EngineError("engine gave an empty reply")
        return messages

    async def parse(self, text: str) -> dict[str, Any]:
        response = await self._request("POST", "/model/parse", params=self._auth(),
                                       json={"text": escape_for_engine(text)})
        return response.json()

    async def append_events(self, sender_id: str, events: list[dict[str, Any]]) -> None:
        await self._request(
            "POST", f"/conversations/{sender_id}/tracker/events", params=self._auth(), json=events
        )

    async def latest_parse(self, sender_id: str) -> dict[str, Any]:
        """What the engine understood of the conversation's latest message (intent, ranking, entities),
        read from its tracker without events: no second inference."""
        response = await self._request("GET", f"/conversations/{sender_id}/tracker",
                                       params={**self._auth(), "include_events": "NONE"})
        try:
            return response.json().get("latest_message") or {}
        except ValueError as exc:
            raise EngineError("engine answered with invalid JSON") from exc

    async def load_model(self, model_file: str, timeout_s: float = 180.0) -> None:
        """Replace the running model (Rasa's PUT /model) between turns (see the class doc). Trackers live
        in the tracker store, so conversations go on with the new model."""
        async with self._traffic:
            await self._traffic.wait_for(lambda: not self._swapping)  # one swap at a time
            self._swapping = True
            await self._traffic.wait_for(lambda: self._in_flight == 0)
        try:
            await self._send("PUT", "/model", params=self._auth(), json={"model_file": model_file},
                             timeout=httpx.Timeout(timeout_s, connect=2.0))
        finally:
            async with self._traffic:
                self._swapping = False
                self._traffic.notify_all()

    async def status(self) -> dict[str, Any]:
        response = await self._request("GET", "/status", params=self._auth())
        return response.json()
