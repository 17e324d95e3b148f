"""Keeps the running engine on the registry's active model.

Promotion and rollback through the API load the model at once; `brobygger models promote|rollback`
(another process) only changes the registry, and this loop, in the app, brings the engine along within
`FOLLOW_EVERY_S` — through the app's own engine client, which lets turns in flight finish first.
"""

import asyncio
import logging
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from bot.engine.client import EngineError, RasaClient
from bot.store.db import Store
from nlu.registry import service as registry

log = logging.getLogger(__name__)
FOLLOW_EVERY_S = 10.0
# One change of the live model at a time: the API's promote/rollback and this loop share it.
swap_lock = asyncio.Lock()


async def loaded_model(engine: RasaClient) -> str | None:
    status = await engine.status()
    model_file = status.get("model_file")
    return Path(model_file).name.removesuffix(".tar.gz") if model_file else None


async def follow_once(store: Store, engine: RasaClient) -> str | None:
    """Load the registry's active model if the engine runs another one; returns what was loaded."""
    async with swap_lock:
        active = await run_in_threadpool(registry.active, store)
        if active is None or not Path(active.path).exists():
            return None
        try:
            if await loaded_model(engine) == active.name:
                return None
            await engine.load_model(str(Path(active.path).resolve()))
        except EngineError as exc:
            log.warning("could not bring the engine to the active model %s: %s", active.name, exc)
            return None
        log.info("the engine now runs the active model %s", active.name)
        return active.name


async def follow(store: Store, engine: RasaClient, stop: asyncio.Event, every_s: float = FOLLOW_EVERY_S) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            await follow_once(store, engine)
