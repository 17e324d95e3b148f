"""Re-indexing the catalogue inside the running app: one background job at a time, with progress, ending
in an atomic swap of the app's catalogue and search.

A job reads the catalogue from the configured directory, brings the faiss index up to date
(`knowledge.index.load_or_build`, or `build` when forced; the index folder itself is swapped atomically
on disk), builds a complete new `OfferSearch` and only then replaces `services.search` and
`services.catalogue`. Requests running meanwhile keep the objects they already hold; new requests see
the new ones. Nothing ever serves a half-built index.

Job state is kept in memory, on `app.state`: the app is a single process (`uvicorn bot.app:create_app
--factory`, no workers; bot/runner.py), the job is a thread of that process, and what it produces —
the swapped search — exists only in that process. A database row would outlive a crashed process and
go on claiming a build "running"; after a restart the job history is simply gone, and the index's own
manifest (`brobygger index show`) still says what was built.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

log = logging.getLogger(__name__)

# Finished jobs kept for `GET /api/admin/index/jobs/{id}`; older ones are forgotten.
KEEP_JOBS = 20
# Texts per call into the shared model: one encode batch (knowledge.embeddings.Embedder._encode).
EMBED_SLICE = 32
_registry_lock = threading.Lock()


@dataclass(frozen=True)
class IndexJob:
    id: str
    state: str  # running | done | failed
    done: int
    total: int
    message: str
    started_at: datetime
    finished_at: datetime | None = None


class RebuildRunning(RuntimeError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"a re-index is already running (job {job_id})")
        self.job_id = job_id


class TakingTurns:
    """The app's embedder, used in small slices.

    The model has one lock, held for a whole encode call, and embedding the bundled catalogue takes about
    a minute: in one call it would stall every live search (which embeds the citizen's message with the
    same model) until the build finished. Between slices the lock is free and a waiting search gets its
    turn. Texts are sorted by length across all slices first, so slicing adds no padding.
    """

    def __init__(self, embedder, slice_size: int = EMBED_SLICE) -> None:
        self._embedder = embedder
        self._slice = slice_size
        self.name = embedder.name
        self.dimension = embedder.dimension

    @property
    def passages_embedded(self) -> int:
        return self._embedder.passages_embedded

    def passages(self, texts: list[str], progress=None) -> np.ndarray:
        return self._sliced(lambda part: self._embedder.passages(part, progress=progress), list(texts))

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._sliced(self._embedder.queries, list(texts))

    def query(self, text: str) -> np.ndarray:
        return self._embedder.query(text)

    def _sliced(self, encode, texts: list[str]) -> np.ndarray:
        if not texts:
            return encode(texts)
        order = np.argsort([len(text) for text in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self._slice):
            part = order[start:start + self._slice]
            out[part] = encode([texts[i] for i in part])
            # Give up the GIL for a moment so a search woken by the released model lock can take it.
            time.sleep(0.001)
        return out


class IndexJobs:
    """The re-index jobs of one app: at most one running."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, IndexJob] = OrderedDict()
        self._running: str | None = None

    def get(self, job_id: str) -> IndexJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(self, services, force: bool = False) -> IndexJob:
        """Start a re-index in a background thread; RebuildRunning if one is still going."""
        with self._lock:
            if self._running is not None:
                raise RebuildRunning(self._running)
            job = IndexJob(id=uuid.uuid4().hex, state="running", done=0, total=0, message="starting",
                           started_at=datetime.now(UTC))
            self._jobs[job.id] = job
            self._running = job.id
            while len(self._jobs) > KEEP_JOBS:
                oldest = next(iter(self._jobs))
                if oldest == job.id:
                    break
                del self._jobs[oldest]
        # Daemon: a build cut short by shutdown leaves at most a temporary build folder (saves are atomic).
        thread = threading.Thread(target=self._run, args=(job.id, services, force), name=f"reindex-{job.id[:8]}",
                                  daemon=True)
        try:
            thread.start()
        except BaseException:
            self._update(job.id, state="failed", message="could not start the job", finished_at=datetime.now(UTC))
            raise
        return job

    def _update(self, job_id: str, **changes) -> None:
        with self._lock:
            job = replace(self._jobs[job_id], **changes)
            self._jobs[job_id] = job
            if job.state != "running" and self._running == job_id:
                self._running = None

    def _run(self, job_id: str, services, force: bool) -> None:
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            message = "embedding offer texts" if done < total else "fitting the topic model and saving the index"
            self._update(job_id, done=done, total=total, message=message)

        try:
            catalogue, search, built = rebuild_search(services.settings, force, progress,
                                                      lambda message: self._update(job_id, message=message))
            # Swap only complete objects: the search first (it carries its own catalogue for its hits), then
            # the catalogue that actions look offers up in. Each assignment is atomic for the readers.
            services.search = search
            services.catalogue = catalogue
        except BaseException as exc:  # the job must end "failed" with the reason, or it would block every next one
            log.exception("re-index job %s failed", job_id)
            self._update(job_id, state="failed", message=_short(exc), finished_at=datetime.now(UTC))
            if not isinstance(exc, Exception):
                raise
            return
        rows, offers = len(search.index.rows), len(catalogue)
        how = (f"index rebuilt in {time.perf_counter() - started:.1f} s" if built
               else "the index already matched the catalogue")
        self._update(job_id, state="done", done=rows, total=rows, finished_at=datetime.now(UTC),
                     message=f"serving {offers} offers ({rows} language versions); {how}")


def rebuild_search(settings, force: bool, progress, say) -> tuple:
    """(catalogue, search, whether the index was rebuilt) for the configured catalogue, model and index
    folder. Without `force` the current index is reused when it matches the catalogue and model."""
    from knowledge.catalogue import Catalogue
    from knowledge.embeddings import embedder_for
    from knowledge.index import build, load_or_build, read_manifest
    from knowledge.search.engine import OfferSearch

    say("reading the catalogue")
    catalogue = Catalogue.load(settings.catalogue_dir)
    say("loading the embedding model")
    embedder = embedder_for(settings)
    directory = settings.search_index_dir
    say("embedding offer texts" if force else "checking the index against the catalogue")
    if force:
        index = build(directory, catalogue, TakingTurns(embedder), progress=progress)
        built = True
    else:
        before = read_manifest(directory) or {}
        index = load_or_build(directory, catalogue, TakingTurns(embedder), progress=progress)
        built = index.manifest != before  # a loaded build has the very manifest read before
    say("starting the new search")
    return catalogue, OfferSearch(catalogue, index, embedder), built


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    lines = text.splitlines()
    return "\n".join(lines[:11]) + (f"\n… and {len(lines) - 11} more lines" if len(lines) > 11 else "")


def jobs_of(app) -> IndexJobs:
    """The app's job registry, made on first use (app.state belongs to one app, so tests' apps don't share it)."""
    with _registry_lock:
        jobs = getattr(app.state, "index_jobs", None)
        if jobs is None:
            jobs = app.state.index_jobs = IndexJobs()
        return jobs
