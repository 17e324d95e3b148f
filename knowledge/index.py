"""The faiss index of every language version of every offer, with a manifest and atomic rebuilds.

One row per (offer, language): "title: summary — organisation. topic labels" in that language (the
topic labels come from knowledge/search/topics.yml). Rows of one offer are contiguous. A build is a
folder under `<index dir>/builds/`:

    manifest.json   model, dimension, fingerprint (catalogue hash + document recipe), build time,
                    index type, row and offer counts, file format version
    rows.json       per row: offer id, language, text (the lexical index is built from these)
    vectors.npy     the exact row vectors (float16), memory-mapped; used to re-rank candidates
    topics.npy      the topic descriptions embedded with the same model (knowledge/search/topics.py)
    topic_model.npz the topic classifier fitted on this build's vectors (knowledge/search/topics.py)
    offers.faiss    the faiss index over the same vectors: exact (flat) below IVF_MIN_ROWS rows, IVF
                    above (HNSW on request)

`<index dir>/current` is a symlink to the build in use. A rebuild writes a new build folder, renames it
into place only once complete (manifest last) and then swaps the symlink with one atomic rename, so a
reader sees the old index or the new one, never a half-written one. Loading checks the manifest
against the catalogue and the embedding model and rebuilds when it is stale, or when the files do not
agree with it (e.g. an index file of the wrong dimension).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from bot import SUPPORTED_LANGUAGES

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: the topic model reads character n-grams too (topic_model.npz)
# Bump when the text of a row changes (the fingerprint then changes and indexes rebuild).
DOCUMENT_RECIPE = 1
# Bump when the topic classifier's training changes (the labelled examples are hashed themselves).
TOPIC_MODEL_RECIPE = 2
# Below this many rows an exact (flat) index is fast enough; above it, IVF (see knowledge/bench.py:
# at 600k rows IVF built in ~15 s with recall@10 ≈ 0.96 under the location filter, while HNSW took
# 3 min and lost most of its recall on filtered searches).
IVF_MIN_ROWS = 100_000
IVF_TRAIN_PER_LIST = 40
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
KEEP_BUILDS = 2

Progress = Callable[[int, int], None]  # (done, total)


class IndexFileError(RuntimeError):
    """An index on disk does not agree with its manifest (or has no manifest)."""


@dataclass(frozen=True)
class Row:
    offer_id: str
    language: str
    text: str


# --------------------------------------------------------------------------------------------------
# Documents and fingerprint
# --------------------------------------------------------------------------------------------------


def offer_rows(offer, labels: dict[str, dict[str, str]] | None = None) -> list[Row]:
    """One row per language the offer has a title or summary in (fixed language order)."""
    if labels is None:
        from knowledge.search.topics import topic_labels

        labels = topic_labels()
    present = set(offer.title) | set(offer.summary)
    languages = [lang for lang in SUPPORTED_LANGUAGES if lang in present]
    languages += sorted(present - set(languages))
    rows = []
    for language in languages:
        title = offer.title.get(language) or offer.localized("title", language)
        summary = offer.summary.get(language) or offer.localized("summary", language)
        topic_text = ", ".join(labels.get(topic, {}).get(language) or topic for topic in offer.topics)
        text = f"{title}: {summary} — {offer.organisation}. {topic_text}".strip()
        rows.append(Row(offer.id, language, text))
    return rows


def catalogue_rows(catalogue) -> list[Row]:
    from knowledge.search.topics import topic_labels

    labels = topic_labels()
    return [row for offer in catalogue.offers for row in offer_rows(offer, labels)]


def catalogue_hash(catalogue) -> str:
    """The catalogue's own content hash when it has one, else sha256 over the offers' JSON."""
    own = getattr(catalogue, "content_hash", None)
    if callable(own):
        return own()
    digest = hashlib.sha256()
    for offer in catalogue.offers:
        digest.update(json.dumps(offer.model_dump(mode="json"), sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def fingerprint(catalogue) -> str:
    """What the index content depends on besides the model: catalogue, topic labels, row recipe."""
    from knowledge.search.topics import TOPIC_EXAMPLES_FILE, TOPICS_FILE

    digest = hashlib.sha256()
    digest.update(f"recipe {DOCUMENT_RECIPE} format {FORMAT_VERSION} topic model {TOPIC_MODEL_RECIPE}\n".encode())
    digest.update(catalogue_hash(catalogue).encode())
    digest.update(hashlib.sha256(TOPICS_FILE.read_bytes()).hexdigest().encode())
    digest.update(hashlib.sha256(TOPIC_EXAMPLES_FILE.read_bytes()).hexdigest().encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------------
# The faiss index
# --------------------------------------------------------------------------------------------------


def choose_index_type(rows: int) -> str:
    return "ivf" if rows >= IVF_MIN_ROWS else "flat"


def ivf_lists(rows: int) -> int:
    return max(16, int(4 * np.sqrt(rows)))


def ivf_probes(lists: int) -> int:
    return max(16, lists // 64)


def make_faiss_index(vectors: np.ndarray, index_type: str) -> faiss.Index:
    """Inner product over L2-normalised vectors = cosine similarity."""
    dimension = vectors.shape[1]
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if index_type == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif index_type == "ivf":
        lists = ivf_lists(len(vectors))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT)
        sample = min(len(vectors), IVF_TRAIN_PER_LIST * lists)
        chosen = np.random.default_rng(0).choice(len(vectors), sample, replace=False)
        index.train(vectors[np.sort(chosen)])
        index.nprobe = ivf_probes(lists)
    elif index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        raise ValueError(f"unknown index type {index_type!r} (flat, ivf or hnsw)")
    index.add(vectors)
    return index


class OfferIndex:
    """A loaded build: rows, exact vectors, faiss index and manifest."""

    def __init__(self, manifest: dict, rows: list[Row], vectors: np.ndarray, index: faiss.Index,
                 path: Path | None = None, topic_vectors: np.ndarray | None = None, topic_model=None) -> None:
        self.manifest = manifest
        self.topic_vectors = topic_vectors  # the topic descriptions, embedded with the same model
        self.topic_model = topic_model      # knowledge.search.topics.TopicModel fitted at build time
        self.rows = rows
        self.vectors = vectors
        self.index = index
        self.path = path
        self.dimension = int(manifest["dimension"])
        self.offer_ids: list[str] = []
        starts: list[int] = []
        for number, row in enumerate(rows):
            if not self.offer_ids or self.offer_ids[-1] != row.offer_id:
                self.offer_ids.append(row.offer_id)
                starts.append(number)
        self.offer_start = np.asarray(starts + [len(rows)], dtype=np.int64)
        self.row_offer = np.repeat(np.arange(len(self.offer_ids)), np.diff(self.offer_start)).astype(np.int64)
        self._check()

    def _check(self) -> None:
        where = self.path or "index"
        if self.index.d != self.dimension:
            raise IndexFileError(f"{where}: faiss index has dimension {self.index.d}, manifest says {self.dimension}")
        if self.vectors.ndim != 2 or self.vectors.shape[1] != self.dimension:
            raise IndexFileError(f"{where}: vectors have shape {self.vectors.shape}, manifest says {self.dimension}")
        if not self.index.ntotal == len(self.vectors) == len(self.rows) == int(self.manifest["rows"]):
            raise IndexFileError(f"{where}: {self.index.ntotal} indexed vectors, {len(self.vectors)} stored, "
                                 f"{len(self.rows)} rows, manifest says {self.manifest['rows']}")
        if self.topic_vectors is not None and self.topic_vectors.shape[1:] != (self.dimension,):
            raise IndexFileError(f"{where}: topic vectors have shape {self.topic_vectors.shape}")
        if self.topic_model is not None and self.topic_model.dimension != self.dimension:
            raise IndexFileError(f"{where}: topic model has dimension {self.topic_model.dimension}")
        if len(set(self.offer_ids)) != len(self.offer_ids):
            raise IndexFileError(f"{where}: rows of one offer are not contiguous")

    @property
    def index_type(self) -> str:
        return self.manifest["index_type"]

    @staticmethod
    def selector_bitmap(allowed: np.ndarray) -> np.ndarray:
        """A boolean row mask packed the way faiss.IDSelectorBitmap reads it."""
        return np.packbits(np.asarray(allowed, dtype=np.uint8), bitorder="little")

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None,
               bitmap: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows (scores, row numbers) for one query, optionally only among allowed rows (a boolean
        row mask, or its `selector_bitmap`)."""
        k = min(k, self.index.ntotal)
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        params = None
        if bitmap is None and allowed is not None:
            bitmap = self.selector_bitmap(allowed)
        if bitmap is not None:
            selector = faiss.IDSelectorBitmap(self.index.ntotal, faiss.swig_ptr(bitmap))
            if self.index_type == "hnsw":
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
            elif self.index_type == "ivf":
                params = faiss.SearchParametersIVF(sel=selector, nprobe=faiss.extract_index_ivf(self.index).nprobe)
            else:
                params = faiss.SearchParameters(sel=selector)
        elif self.index_type == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))
        scores, ids = self.index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k,
                                        params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def exact_scores(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query with the given rows, from the stored vectors."""
        if len(rows) == 0:
            return np.zeros(0, np.float32)
        return np.asarray(self.vectors[rows], dtype=np.float32) @ query.astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Build, save, load
# --------------------------------------------------------------------------------------------------


def build_offer_index(rows: Sequence[Row], vectors: np.ndarray, model: str, fingerprint_: str,
                      index_type: str | None = None, extra: dict | None = None,
                      topic_vectors: np.ndarray | None = None, topic_model=None) -> OfferIndex:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(rows):
        raise ValueError(f"{len(rows)} rows but vectors of shape {vectors.shape}")
    index_type = index_type or choose_index_type(len(rows))
    started = time.perf_counter()
    index = make_faiss_index(vectors, index_type)
    manifest = {
        "format_version": FORMAT_VERSION,
        "model": model,
        "dimension": int(vectors.shape[1]),
        "fingerprint": fingerprint_,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "index_type": index_type,
        "rows": len(rows),
        "offers": len({row.offer_id for row in rows}),
        "faiss_build_s": round(time.perf_counter() - started, 3),
        **(extra or {}),
    }
    return OfferIndex(manifest, list(rows), vectors.astype(np.float16), index, topic_vectors=topic_vectors,
                      topic_model=topic_model)


def save_build(index: OfferIndex, directory: Path) -> Path:
    """Write a complete build folder under `directory/builds/` and make it current atomically."""
    builds = Path(directory) / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + index.manifest["fingerprint"][:8]
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=builds))
    try:
        faiss.write_index(index.index, str(work / "offers.faiss"))
        np.save(work / "vectors.npy", np.asarray(index.vectors, dtype=np.float16))
        if index.topic_vectors is not None:
            np.save(work / "topics.npy", np.asarray(index.topic_vectors, dtype=np.float32))
        if index.topic_model is not None:
            index.topic_model.save(work / "topic_model.npz")
        (work / "rows.json").write_text(json.dumps(
            [[row.offer_id, row.language, row.text] for row in index.rows], ensure_ascii=False), encoding="utf-8")
        # The manifest goes last: a folder without one is never loaded.
        (work / "manifest.json").write_text(json.dumps(index.manifest, indent=2), encoding="utf-8")
        final = builds / name
        suffix = 0
        while final.exists():
            suffix += 1
            final = builds / f"{name}.{suffix}"
        os.rename(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    link = Path(directory) / "current"
    tmp_link = Path(directory) / f".current-{os.getpid()}-{threading.get_ident()}"
    tmp_link.unlink(missing_ok=True)
    os.symlink(Path("builds") / final.name, tmp_link)
    os.replace(tmp_link, link)  # atomic: readers follow the old build or the new one
    index.path = final
    _prune(builds, keep={final.name})
    return final


def _prune(builds: Path, keep: set[str]) -> None:
    finished = sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.name, reverse=True)
    for old in finished[KEEP_BUILDS:]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def read_manifest(directory: Path) -> dict | None:
    path = Path(directory) / "current" / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_build(path: Path) -> OfferIndex:
    """Load one build folder (or `<index dir>/current`); IndexFileError if it is incomplete or inconsistent."""
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        raise IndexFileError(f"{path}: no manifest.json (not a complete index build)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        rows = [Row(*item) for item in json.loads((path / "rows.json").read_text(encoding="utf-8"))]
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
        index = faiss.read_index(str(path / "offers.faiss"))
        topic_vectors = np.load(path / "topics.npy") if (path / "topics.npy").exists() else None
        topic_model = None
        if (path / "topic_model.npz").exists():
            from knowledge.search.topics import TopicModel

            topic_model = TopicModel.load(path / "topic_model.npz")
    except (OSError, ValueError, RuntimeError, TypeError, KeyError) as exc:
        raise IndexFileError(f"{path}: cannot read index files: {exc}") from exc
    for key in ("format_version", "model", "dimension", "fingerprint", "index_type", "rows"):
        if key not in manifest:
            raise IndexFileError(f"{path}: manifest lacks {key!r}")
    if manifest["format_version"] != FORMAT_VERSION:
        raise IndexFileError(f"{path}: index format {manifest['format_version']}, expected {FORMAT_VERSION}")
    return OfferIndex(manifest, rows, vectors, index, path.resolve(), topic_vectors, topic_model)


def staleness(manifest: dict | None, expected_fingerprint: str, model: str, dimension: int) -> str | None:
    """Why an index with this manifest can't serve (None if it can)."""
    if manifest is None:
        return "no index yet"
    if manifest.get("format_version") != FORMAT_VERSION:
        return "index format changed"
    if manifest.get("model") != model:
        return f"built with model {manifest.get('model')!r}, configured {model!r}"
    if manifest.get("dimension") != dimension:
        return f"dimension {manifest.get('dimension')} != model dimension {dimension}"
    if manifest.get("fingerprint") != expected_fingerprint:
        return "catalogue or topic labels changed"
    return None


@contextmanager
def _build_lock(directory: Path):
    """One builder at a time across processes (the app and `brobygger index build`)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(directory: Path, catalogue, embedder, index_type: str | None = None,
          progress: Progress | None = None) -> OfferIndex:
    """Embed every row of the catalogue and save a new current build."""
    rows = catalogue_rows(catalogue)
    started = time.perf_counter()
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, len(rows))

    from knowledge.search.topics import LabelledQueries, TopicModel, embed_descriptions, topic_matrix

    embedded_before = getattr(embedder, "passages_embedded", None)
    vectors = embedder.passages([row.text for row in rows], progress=step)
    # How many rows the model really embedded; the others came from the passage cache.
    embedded = None if embedded_before is None else embedder.passages_embedded - embedded_before
    topic_vectors = embed_descriptions(embedder)
    queries = LabelledQueries.embed(embedder)
    embed_s = time.perf_counter() - started
    started = time.perf_counter()
    topics_of = {row.offer_id: catalogue.get(row.offer_id).topics for row in rows}
    topic_model = TopicModel.fit(vectors, topic_matrix([topics_of[row.offer_id] for row in rows]), topic_vectors,
                                 queries)
    extra = {"embed_s": round(embed_s, 2), "topic_model_s": round(time.perf_counter() - started, 2),
             "topic_examples": len(queries.example_texts)}
    if embedded is not None:
        extra["embedded_rows"] = embedded
    index = build_offer_index(rows, vectors, embedder.name, fingerprint(catalogue), index_type,
                              extra=extra, topic_vectors=topic_vectors, topic_model=topic_model)
    with _build_lock(Path(directory)):
        save_build(index, Path(directory))
    return index


def load_or_build(directory: Path, catalogue, embedder, progress: Progress | None = None,
                  index_type: str | None = None) -> OfferIndex:
    """The current index if it matches the catalogue and model; otherwise a fresh build."""
    directory = Path(directory)
    expected = fingerprint(catalogue)
    reason = staleness(read_manifest(directory), expected, embedder.name, embedder.dimension)
    if reason is None:
        try:
            return load_build(directory / "current")
        except IndexFileError as exc:
            reason = str(exc)
    log.info("building the search index (%s)", reason)
    return build(directory, catalogue, embedder, index_type=index_type, progress=progress)
