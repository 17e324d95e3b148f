"""Administrators' model API: train a candidate, follow the job, compare versions, promote, roll back."""

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bot.engine.client import EngineError
from bot.users.auth import require_role
from bot.users.models import User
from nlu.evaluation.datasets import EVALUATED_LANGUAGES
from nlu.registry import jobs, plots
from nlu.registry import service as registry
from nlu.registry.live import swap_lock
from nlu.registry.models import ModelVersion, TrainingJob

router = APIRouter(prefix="/api/admin/models", tags=["admin: models"])
admin = require_role("admin")


class PromoteIn(BaseModel):
    override_reason: str | None = Field(default=None, max_length=500)


def summary(metrics: dict | None) -> dict | None:
    if not metrics:
        return None
    return {language: {"macro_f1": m["macro_f1"], "crisis_recall": m["crisis_recall"], "n": m["n"]}
            for language, m in metrics["languages"].items()} | {
        "nonsense_rejected": metrics.get("nonsense", {}).get("rejected_rate")}


def version_json(version: ModelVersion, full: bool = False) -> dict:
    found = {"id": version.id, "name": version.name, "source": version.source, "state": version.state,
             "created_at": version.created_at.isoformat(), "learned_examples": version.learned_examples,
             "job_id": version.job_id, "summary": summary(version.metrics), "gate": version.gate,
             "file_present": Path(version.path).exists()}
    if full:
        found["metrics"] = version.metrics
    return found


def _tail(path: Path, lines: int = 40, chunk: int = 64 * 1024) -> str:
    """The end of a training log (polled every few seconds: never the whole file). Progress bars redraw
    with \r; only the latest state of each line is kept."""
    try:
        with path.open("rb") as log:
            log.seek(max(0, path.stat().st_size - chunk))
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.splitlines()[-lines:])


def job_json(job: TrainingJob, store) -> dict:
    version = registry.get(store, job.version_id) if job.version_id else None
    log_tail = _tail(Path(job.log_path)) if job.log_path else ""
    return {"id": job.id, "state": job.state, "stage": job.stage, "progress": job.progress, "error": job.error,
            "started_at": job.started_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "version_id": job.version_id, "metrics": summary(version.metrics) if version else None,
            "gate": version.gate if version else None, "log_tail": log_tail}


@router.post("/train", status_code=status.HTTP_202_ACCEPTED)
async def train(request: Request, user: User = Depends(admin)) -> dict:
    """Start training a candidate from the training data and the labelled examples (one job at a time)."""
    services = request.app.state.services
    try:
        job = await run_in_threadpool(jobs.start, services.store, services.settings, user.id)
    except jobs.JobRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return {"job_id": job.id}


@router.get("/jobs")
async def list_jobs(request: Request, _: User = Depends(admin)) -> list[dict]:
    store = request.app.state.services.store
    return [job_json(job, store) for job in await run_in_threadpool(jobs.jobs, store)]


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, request: Request, _: User = Depends(admin)) -> dict:
    store = request.app.state.services.store
    job = await run_in_threadpool(jobs.get, store, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no training job {job_id}")
    return await run_in_threadpool(job_json, job, store)


@router.get("")
async def list_versions(request: Request, _: User = Depends(admin)) -> dict:
    store = request.app.state.services.store
    versions = await run_in_threadpool(registry.versions, store)
    history = await run_in_threadpool(registry.history, store)
    current = next((v for v in versions if v.state == "active"), None)
    return {"active": current.id if current else None, "languages": list(EVALUATED_LANGUAGES),
            "versions": [version_json(v) for v in reversed(versions)],
            "history": [{"version_id": a.version_id, "action": a.action, "user_id": a.user_id, "reason": a.reason,
                         "at": a.created_at.isoformat()} for a in reversed(history)]}


@router.get("/history.png")
async def history_plot(request: Request, _: User = Depends(admin)) -> Response:
    versions = await run_in_threadpool(registry.versions, request.app.state.services.store)
    png = await run_in_threadpool(plots.history_png, versions)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


def _version(store, version_id: int) -> ModelVersion:
    try:
        return registry.get(store, version_id)
    except registry.RegistryError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.get("/{version_id}")
async def get_version(version_id: int, request: Request, _: User = Depends(admin)) -> dict:
    return version_json(await run_in_threadpool(_version, request.app.state.services.store, version_id), full=True)


@router.get("/{version_id}/confusion/{language}.png")
async def confusion_plot(version_id: int, language: str, request: Request, _: User = Depends(admin)) -> Response:
    version = await run_in_threadpool(_version, request.app.state.services.store, version_id)
    if not version.metrics or language not in version.metrics["languages"]:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{version.name} has no evaluation for {language!r}")
    png = await run_in_threadpool(plots.confusion, version.metrics, language, f"{language} — v{version.id}")
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


async def _go_live(request: Request, version: ModelVersion, action: str, user: User, reason: str | None) -> dict:
    """Load the version into the running engine, then record it; a model the engine refused is not recorded."""
    services = request.app.state.services
    if not Path(version.path).exists():
        raise HTTPException(status.HTTP_409_CONFLICT, f"the model file of {version.name} is gone ({version.path})")
    try:
        await services.engine.load_model(str(Path(version.path).resolve()))
    except EngineError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"the engine did not load {version.name}: {exc}") from exc
    live = await run_in_threadpool(registry.activate, services.store, version.id, action, user.id, reason)
    return version_json(live)


@router.post("/{version_id}/promote")
async def promote(version_id: int, request: Request, body: PromoteIn | None = None,
                  user: User = Depends(admin)) -> dict:
    """Make a candidate the live model. The gate must have passed; only its F1 rule can be overridden
    (with a reason), never crisis."""
    store = request.app.state.services.store
    async with swap_lock:
        version = await run_in_threadpool(_version, store, version_id)
        current = await run_in_threadpool(registry.active, store)
        try:
            reason = registry.check_promotable(version, current, body.override_reason if body else None)
        except registry.RegistryError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        return await _go_live(request, version, "promote", user, reason)


@router.post("/rollback")
async def rollback(request: Request, user: User = Depends(admin)) -> dict:
    """Back to the model that was live before the current one."""
    store = request.app.state.services.store
    async with swap_lock:
        try:
            target = await run_in_threadpool(registry.rollback_target, store)
        except registry.RegistryError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        return await _go_live(request, target, "rollback", user, None)
