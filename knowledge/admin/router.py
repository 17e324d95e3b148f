"""The administrators' catalogue API (role admin): the stale-offer report, importing offers (HSDS JSON or
our CSV) with a validation report, and re-indexing with progress.

Every route needs an admin's bearer token, or an admin's console session cookie plus the page's
X-CSRF-Token on POST (bot.users.auth). An import changes the catalogue files; the running app serves
the new offers once a re-index job has finished (`POST /api/admin/index/rebuild`).
"""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.users.auth import require_role
from knowledge.admin.imports import CONTENT_FORMATS, default_target, import_offers, read_content
from knowledge.admin.jobs import RebuildRunning, jobs_of
from knowledge.admin.schemas import ImportReportOut, IndexJobOut, JobStarted, ProblemOut, StaleOfferOut, StaleReport
from knowledge.catalogue import Catalogue, CatalogueError, Problem, stale_offers
from knowledge.topics import TEXT_LANGUAGES

IMPORT_PATH = "/api/admin/catalogue/import"
# A catalogue upload is a whole file: the bundled catalogue as CSV is about 1 MB, so 8 MB leaves room
# for a large municipality's export while still refusing anything absurd before it is read.
IMPORT_MAX_BODY_BYTES = 8 * 1024 * 1024
# Request body limits above the app's default (bot/app.py MAX_BODY_BYTES), by path.
BODY_LIMITS = {IMPORT_PATH: IMPORT_MAX_BODY_BYTES}
UPLOAD_SOURCE = "upload"

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(require_role("admin"))],
                   responses={401: {"description": "no or unknown token, or no console session"},
                              403: {"description": "not an admin, or a console session without X-CSRF-Token"}})


def _problem(problem: Problem) -> ProblemOut:
    return ProblemOut(source=problem.source, where=problem.where, field=problem.field, message=problem.message)


@router.get("/catalogue/stale", response_model=StaleReport,
            responses={409: {"description": "the catalogue files have problems (listed in `problems`)"}})
async def stale_report(request: Request,
                       days: Annotated[int, Query(ge=0, description="stale when last verified more than this "
                                                                    "many days ago (or never)")] = 365):
    """Offers whose last_verified date is missing or older than `days`, read from the catalogue files (so
    an import shows up at once, before re-indexing): never verified first, then the oldest."""
    settings = request.app.state.services.settings
    try:
        catalogue = await run_in_threadpool(Catalogue.load, settings.catalogue_dir)
    except CatalogueError as exc:
        return JSONResponse({"detail": f"the catalogue has {len(exc.problems)} problem(s); "
                                       "fix them first (brobygger catalogue check)",
                             "problems": [_problem(p).model_dump() for p in exc.problems]},
                            status_code=status.HTTP_409_CONFLICT)
    stale = stale_offers(catalogue, days)
    return StaleReport(days=days, total=len(catalogue), stale=[
        StaleOfferOut(id=item.offer.id, organisation=item.offer.organisation,
                      last_verified=item.offer.last_verified, age_days=item.age_days,
                      origin=_relative(item.origin, settings.catalogue_dir))
        for item in stale])


def _relative(path, catalogue_dir) -> str:
    """A catalogue file as the browser may see it: relative to the catalogue folder, no server paths."""
    try:
        return str(Path(path).resolve().relative_to(Path(catalogue_dir).resolve()))
    except ValueError:
        return Path(path).name


_UPLOAD_BODY = {
    "required": True,
    "description": "the file itself as the raw body: an HSDS 3.0 JSON document (format=hsds) or our CSV "
                   "(format=csv, UTF-8; columns in knowledge/csv_import.py)",
    "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}},
}


@router.post(IMPORT_PATH.removeprefix("/api/admin"), response_model=ImportReportOut,
             openapi_extra={"requestBody": _UPLOAD_BODY},
             responses={422: {"model": ImportReportOut, "description": "problems found: nothing was written"},
                        413: {"description": f"body over {IMPORT_MAX_BODY_BYTES} bytes"}})
async def import_catalogue(
    request: Request,
    fmt: Annotated[str | None, Query(alias="format", description=" or ".join(CONTENT_FORMATS))] = None,
    dry_run: Annotated[bool, Query(description="check only (the default); false writes the offers")] = True,
    language: Annotated[str, Query(description=f"language of an HSDS document's texts: "
                                               f"{', '.join(TEXT_LANGUAGES)}")] = "da",
):
    """Import offers all or nothing into `<catalogue_dir>/imported.yml`: new ids are added, known ones replaced.

    The report is the same for a dry run and a real import: 200 when valid (`written` says whether the
    file changed), 422 with every problem (row/service, field, message) and nothing written otherwise —
    including an empty, binary or non-UTF-8 body, invalid JSON, or an unknown format. The app serves
    the imported offers after the next re-index (`POST /api/admin/index/rebuild`).
    """
    body = await request.body()  # at most IMPORT_MAX_BODY_BYTES: the app's body limit counts it (BODY_LIMITS)
    target = default_target(request.app.state.services.settings.catalogue_dir)

    def run():
        if not fmt:
            offers, problems = [], [Problem(UPLOAD_SOURCE, "request", "format",
                                            f"give the format: {' or '.join(f'format={f}' for f in CONTENT_FORMATS)}")]
        else:
            offers, problems = read_content(body, fmt, language, source=UPLOAD_SOURCE)
        return import_offers(offers, problems, target, dry_run)

    report = await run_in_threadpool(run)
    payload = ImportReportOut(valid=report.valid, offers=len(report.offers),
                              added=report.added, replaced=report.replaced, written=report.written,
                              target=_relative(report.target, request.app.state.services.settings.catalogue_dir),
                              problems=[_problem(p) for p in report.problems])
    return JSONResponse(payload.model_dump(mode="json"),
                        status_code=status.HTTP_200_OK if report.valid else status.HTTP_422_UNPROCESSABLE_CONTENT)


@router.post("/index/rebuild", response_model=JobStarted, status_code=status.HTTP_202_ACCEPTED,
             responses={409: {"description": "a re-index is already running (its id in `job_id`)"}})
async def rebuild_index(request: Request,
                        force: Annotated[bool, Query(description="rebuild even if the index matches the "
                                                                 "catalogue and model")] = False):
    """Re-read the catalogue files and bring the search index up to date in the background (one job at a
    time); when the job is done the app searches the new catalogue. Follow it at /api/admin/index/jobs/{id}."""
    try:
        job = jobs_of(request.app).start(request.app.state.services, force)
    except RebuildRunning as running:
        return JSONResponse({"detail": str(running), "job_id": running.job_id}, status_code=status.HTTP_409_CONFLICT)
    return JobStarted(job_id=job.id)


@router.get("/index/jobs/{job_id}", response_model=IndexJobOut, responses={404: {"description": "no such job"}})
async def index_job(job_id: str, request: Request) -> IndexJobOut:
    """A re-index job's state and progress (jobs are kept in memory: the last few, until the app restarts)."""
    job = jobs_of(request.app).get(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such re-index job")
    return IndexJobOut(id=job.id, state=job.state, done=job.done, total=job.total, message=job.message,
                       started_at=job.started_at, finished_at=job.finished_at)
