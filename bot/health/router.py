"""GET /healthz — is the app up, and can it reach the engine and the database?"""

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from bot.engine.client import EngineError

router = APIRouter(tags=["health"])


def _database_ok(store) -> bool:
    try:
        with store.session() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:  # any driver error means "down" here
        return False


@router.get("/healthz")
async def healthz(request: Request) -> dict:
    services = request.app.state.services
    try:
        status = await services.engine.status()
        rasa = "ok" if status.get("model_file") or status.get("model_id") else "down"
    except EngineError:
        rasa = "down"
    database = "ok" if await run_in_threadpool(_database_ok, services.store) else "down"
    overall = "ok" if rasa == "ok" and database == "ok" else "degraded"
    return {"status": overall, "rasa": rasa, "database": database}
