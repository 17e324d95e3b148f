"""The FastAPI app factory: `uvicorn bot.app:create_app --factory`."""

import asyncio
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from bot.actions.router import router as actions_router
from bot.body_limit import BodySizeLimit
from bot.health.router import router as health_router
from bot.services import build_services
from bot.settings import Settings, get_settings
from connectors.admin import page as admin_page
from connectors.escalation import webhook as escalation_webhook
from connectors.escalation.router import router as escalation_router
from connectors.inbox import console
from connectors.inbox.router import admin_router as inbox_admin_router
from connectors.inbox.router import router as inbox_router
from connectors.sms.router import router as sms_router
from connectors.webchat.page import STATIC_PATH, static_files
from connectors.webchat.page import router as webchat_page_router
from connectors.webchat.router import router as webchat_router
from knowledge.admin import router as catalogue_admin
from knowledge.search.api import router as offer_search_router
from nlu.parse.router import router as nlu_router
from nlu.registry.live import follow as follow_registry
from nlu.registry.router import router as models_router
from nlu.review import service as review
from nlu.review.router import router as review_router

# No JSON body we accept is anywhere near this; larger ones are refused before parsing.
MAX_BODY_BYTES = 256 * 1024


# How often the retention limit is applied to the understanding log.
RETENTION_EVERY_S = 3600


async def _apply_retention(store, settings: Settings, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            purged = await asyncio.to_thread(review.purge, store, settings.retention_days)
            if purged:
                logging.getLogger(__name__).info("retention: %d understanding log rows deleted", purged)
        except Exception:  # noqa: BLE001 — retention retries next hour; the app must keep running
            logging.getLogger(__name__).exception("retention of the understanding log failed")
        try:
            await asyncio.wait_for(stop.wait(), RETENTION_EVERY_S)
        except TimeoutError:
            pass


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.services = build_services(settings)
        # Loaded before the first message, not by it: the crisis screen needs the embedding model.
        await asyncio.to_thread(getattr, app.state.services, "crisis_screen")
        stop, worker = asyncio.Event(), None
        retention = asyncio.create_task(_apply_retention(app.state.services.store, settings, stop))
        # A model promoted or rolled back from the command line reaches the running engine from here.
        following = asyncio.create_task(follow_registry(app.state.services.store, app.state.services.engine, stop))
        if settings.escalation_webhook_url:
            worker = asyncio.create_task(escalation_webhook.run_worker(app.state.services.store, settings, stop))
        try:
            yield
        finally:
            stop.set()
            await retention
            await following
            if worker is not None:
                await worker
            await app.state.services.engine.aclose()
            app.state.services.store.dispose()

    app = FastAPI(
        title="Brobygger",
        version="0.1.0",
        description="Finds local communities and health support in Denmark, in five languages.",
        lifespan=lifespan,
    )

    # Uploads declare their own limit; every other route has the default.
    app.add_middleware(BodySizeLimit, limit_for=lambda path: catalogue_admin.BODY_LIMITS.get(path, MAX_BODY_BYTES))

    # Pages and replies reach cheap phones on slow connections; event streams are left uncompressed.
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.include_router(health_router)
    app.include_router(webchat_router)
    app.include_router(sms_router)
    app.include_router(nlu_router)
    app.include_router(actions_router)
    app.include_router(offer_search_router)
    app.include_router(inbox_router)
    app.include_router(inbox_admin_router)
    app.include_router(catalogue_admin.router)
    app.include_router(escalation_router)
    app.include_router(review_router)
    app.include_router(models_router)
    app.include_router(console.router)
    app.mount(console.STATIC_PATH, console.static_files, name="console-static")
    app.include_router(admin_page.router)
    app.mount(admin_page.STATIC_PATH, admin_page.static_files, name="admin-static")
    app.include_router(webchat_page_router)
    app.mount(STATIC_PATH, static_files, name="webchat-static")
    return app
