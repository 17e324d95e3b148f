"""`brobygger bench search`: search latency, index build time, memory and recall at three catalogue sizes.

Sizes: the real catalogue, and synthetic catalogues of 10k and 100k offers made by perturbing the
real ones. Embedding 100k × 6 passages would take hours on two cores, so the synthetic offers reuse
the real offers' vectors with Gaussian noise (cosine ≈ 0.95 to the original, re-normalised) instead
of being re-embedded; their texts are the real texts with ~15 % of the words dropped (for BM25), and
local offers are moved to a random municipality (regional ones to a random region), so every
municipality has its share. Queries are the development queries (knowledge/eval/dev_queries.yml)
with their languages and municipalities.

Per size: the time to build the faiss index (flat and HNSW), the BM25 indexes and the search
object; search latency end to end (query embedding included, no cache) and ranking alone (query
vector cached); peak RSS of the process (each synthetic size runs in its own spawned process, so
its peak is its own; the embedding model alone accounts for the "baseline" RSS); and the recall@10
of the IVF index against the exact flat index on the same filtered searches (and the mean similarity
of its top 10 relative to the exact top 10), plus how often the final top 3 is the same with either.
"""

from __future__ import annotations

import multiprocessing
import platform
import random
import resource
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from knowledge.index import Row, build_offer_index, choose_index_type

DEV_QUERIES = Path(__file__).resolve().parent / "eval" / "dev_queries.yml"
INDEX_TYPES = ("flat", "ivf")  # HNSW can be measured too; it lost most recall on filtered searches here
NOISE_SIGMA = 0.017  # per dimension; |noise| ≈ 0.33 → cosine to the original ≈ 0.95 for 384-d
DROP_WORDS = 0.15


def _percentiles(samples_ms: list[float]) -> dict:
    if len(samples_ms) < 2:
        value = round(samples_ms[0], 2) if samples_ms else None
        return {"n": len(samples_ms), "p50_ms": value, "p95_ms": value}
    q = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"n": len(samples_ms), "p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2),
            "max_ms": round(max(samples_ms), 2)}


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


@dataclass
class BenchQuery:
    text: str
    language: str | None
    municipality: str | None


def bench_queries(count: int) -> list[BenchQuery]:
    from knowledge.search.evaluation import load_queries

    base = [BenchQuery(q.text, q.language, q.municipality) for q in load_queries(DEV_QUERIES)]
    return [base[i % len(base)] for i in range(count)]


# --------------------------------------------------------------------------------------------------
# Synthetic catalogues
# --------------------------------------------------------------------------------------------------


class _SyntheticCatalogue:
    def __init__(self, offers) -> None:
        self.offers = offers
        self._by_id = {offer.id: offer for offer in offers}

    def get(self, offer_id):
        return self._by_id.get(offer_id)


def synthetic(real_offers, real_index, size: int, seed: int = 0):
    """(catalogue, rows, float32 vectors) with `size` offers: the real ones, then perturbed copies."""
    from knowledge.places import gazetteer

    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    places = gazetteer().municipalities
    names = sorted(places)
    regions = sorted({m.region for m in places.values()})
    by_id = {offer.id: offer for offer in real_offers}
    base_offers = [by_id[offer_id] for offer_id in real_index.offer_ids]
    real_vectors = np.asarray(real_index.vectors, dtype=np.float32)
    offers, rows, chunks = [], [], []
    for number in range(size):
        source = number % len(base_offers)
        offer = base_offers[source]
        start, end = real_index.offer_start[source], real_index.offer_start[source + 1]
        vectors = real_vectors[start:end]
        if number >= len(base_offers):
            where = offer.where
            if where.scope == "local":
                name = pick.choice(names)
                where = where.model_copy(update={"municipalities": [name], "region": places[name].region})
            elif where.scope == "regional":
                where = where.model_copy(update={"region": pick.choice(regions)})
            offer = offer.model_copy(update={"id": f"{offer.id}~{number}", "where": where})
            vectors = vectors + rng.normal(0.0, NOISE_SIGMA, vectors.shape).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        offers.append(offer)
        chunks.append(vectors)
        for row in real_index.rows[start:end]:
            text = row.text
            if number >= len(base_offers):
                words = text.split()
                text = " ".join(w for w in words if pick.random() > DROP_WORDS) or text
            rows.append(Row(offer.id, row.language, text))
    return _SyntheticCatalogue(offers), rows, np.vstack(chunks)


# --------------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------------


def measure_latency(engine, queries: list[BenchQuery]) -> dict:
    """End to end (query embedded each time) and ranking alone (query vectors cached)."""
    for q in queries[:5]:  # warm up
        engine.run(q.text, language=q.language, municipality=q.municipality)
    end_to_end, embed_only = [], []
    engine.set_query_cache(0)
    for q in queries:
        started = time.perf_counter()
        engine.run(q.text, language=q.language, municipality=q.municipality)
        end_to_end.append((time.perf_counter() - started) * 1000)
    for q in queries:
        started = time.perf_counter()
        engine.embedder.query(q.text)
        embed_only.append((time.perf_counter() - started) * 1000)
    engine.set_query_cache(4096)
    for q in queries:
        engine.run(q.text, language=q.language, municipality=q.municipality)
    ranking = []
    for q in queries:
        started = time.perf_counter()
        engine.run(q.text, language=q.language, municipality=q.municipality)
        ranking.append((time.perf_counter() - started) * 1000)
    return {"end_to_end": _percentiles(end_to_end), "ranking": _percentiles(ranking),
            "query_embedding": _percentiles(embed_only)}


def _dense_top(engine, queries: list[BenchQuery], k: int = 10) -> tuple[list, list[list[str]]]:
    """Per query: the top-k dense (rows, scores) filtered as the search filters, and the final top-3 ids."""
    rows, finals = [], []
    for q in queries:
        location = engine.resolve_location(q.municipality, q.text)
        _, _, bitmap = engine._tiers(location.municipality)
        scores, found = engine.index.search(engine._query_vector(q.text), k, bitmap=bitmap)
        rows.append((set(found.tolist()), float(np.mean(scores)) if len(scores) else 0.0))
        finals.append([hit.offer.id for hit in engine.run(q.text, q.language, q.municipality).hits])
    return rows, finals


def _child(size: int, offers: list, index_path: str, n_queries: int, settings_json: str, results) -> None:
    try:
        results.put(_measure_size(size, offers, Path(index_path), n_queries, settings_json))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        import traceback

        results.put({"size": size, "error": f"{exc}\n{traceback.format_exc()}"})


def _measure_size(size: int, offers: list, index_path: Path, n_queries: int, settings_json: str) -> dict:
    import json

    from bot.settings import Settings
    from knowledge.embeddings import embedder_for
    from knowledge.index import load_build
    from knowledge.search.engine import OfferSearch
    from knowledge.search.lexical import LexicalIndex

    settings = Settings(**json.loads(settings_json))
    embedder = embedder_for(settings)
    real_index = load_build(index_path)
    queries = bench_queries(n_queries)
    embedder.query("warm up")
    baseline = _rss_mb()
    started = time.perf_counter()
    fake, rows, vectors = synthetic(offers, real_index, size)
    result = {"size": size, "offers": len(fake.offers), "rows": len(rows), "baseline_rss_mb": baseline,
              "synthesis_s": round(time.perf_counter() - started, 2), "auto_index_type": choose_index_type(len(rows))}
    started = time.perf_counter()
    lexical = LexicalIndex(rows)
    result["bm25_build_s"] = round(time.perf_counter() - started, 2)
    topic_model = real_index.topic_model  # fitted on the real catalogue; a query costs the same
    manifest_model = real_index.manifest["model"]
    reference_rows = reference_finals = None
    for index_type in INDEX_TYPES:
        started = time.perf_counter()
        index = build_offer_index(rows, vectors, manifest_model, "synthetic", index_type)
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        engine = OfferSearch(fake, index, embedder, lexical=lexical, topic_model=topic_model)
        setup_s = time.perf_counter() - started
        entry = {"faiss_build_s": round(build_s, 2), "search_setup_s": round(setup_s, 2),
                 **measure_latency(engine, queries)}
        top_rows, finals = _dense_top(engine, queries)
        if index_type == "flat":
            reference_rows, reference_finals = top_rows, finals
        else:
            pairs = list(zip(top_rows, reference_rows, strict=True))
            recall = [len(a & b) / max(1, len(b)) for (a, _), (b, _) in pairs]
            entry["recall@10_vs_flat"] = round(float(np.mean(recall)), 4)
            # Synthetic copies of one offer score almost alike, so ids alone understate quality: also the
            # mean similarity of the approximate top 10 relative to the exact top 10.
            entry["score_ratio@10_vs_flat"] = round(float(np.mean([sa / sb for (_, sa), (_, sb) in pairs if sb])), 5)
            entry["top3_same_as_flat"] = round(float(np.mean([a == b for a, b in zip(finals, reference_finals,
                                                                                     strict=True)])), 4)
        entry["peak_rss_mb"] = _peak_rss_mb()
        result[index_type] = entry
        del engine, index
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def run_search_benchmark(engine, plan: list[str], queries: int = 200, console=None) -> dict:
    from rich.console import Console
    from rich.table import Table

    console = console or Console(stderr=True)
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {multiprocessing.cpu_count()} cores",
        "model": engine.embedder.name,
        "note": "synthetic sizes reuse perturbed real offer vectors instead of re-embedding (see knowledge/bench.py)",
        "sizes": [],
    }
    query_list = bench_queries(queries)
    for size in plan:
        if size == "real":
            with console.status(f"Real catalogue ({len(engine.offers)} offers)…"):
                manifest = engine.index.manifest
                entry = {"size": "real", "offers": len(engine.offers), "rows": len(engine.index.rows),
                         "index_type": engine.index.index_type,
                         "build_s": round(manifest.get("embed_s", 0) + manifest.get("faiss_build_s", 0), 2),
                         # A build that found its rows in the passage cache took seconds, not a minute.
                         "embedded_rows": manifest.get("embedded_rows", len(engine.index.rows)),
                         engine.index.index_type: measure_latency(engine, query_list),
                         "peak_rss_mb": _peak_rss_mb()}
            results["sizes"].append(entry)
            continue
        n = int(size)
        with console.status(f"Synthetic catalogue of {n:,} offers (own process)…"):
            context = multiprocessing.get_context("spawn")
            queue = context.Queue()
            from bot.settings import get_settings

            settings_json = get_settings().model_dump_json()
            process = context.Process(target=_child, args=(n, engine.offers, str(engine.index.path), queries,
                                                                  settings_json, queue))
            process.start()
            entry = queue.get()
            process.join()
        if "error" in entry:
            console.print(f"[red]{n}: {entry['error']}[/red]")
        results["sizes"].append(entry)

    table = Table(title="Search benchmark (ms; end to end includes embedding the query)")
    for column in ("offers", "rows", "index", "build s", "end-to-end p50/p95", "ranking p50/p95", "peak RSS MB",
                   "recall@10 (score ratio) vs flat"):
        table.add_column(column, justify="right")
    for entry in results["sizes"]:
        if "error" in entry:
            continue
        for kind in ("flat", "ivf", "hnsw"):
            if kind not in entry:
                continue
            m = entry[kind]
            build_s = entry.get("build_s", m.get("faiss_build_s"))
            if entry["size"] == "real" and entry["embedded_rows"] < entry["rows"]:
                build_s = f"{build_s} ({entry['embedded_rows']} rows embedded, the rest cached)"
            if entry["size"] != "real":
                build_s = f"{m['faiss_build_s']} + bm25 {entry['bm25_build_s']}"
            table.add_row(str(entry["offers"]), str(entry["rows"]), kind, str(build_s),
                          f"{m['end_to_end']['p50_ms']} / {m['end_to_end']['p95_ms']}",
                          f"{m['ranking']['p50_ms']} / {m['ranking']['p95_ms']}",
                          str(m.get("peak_rss_mb", entry.get("peak_rss_mb"))),
                          f"{m['recall@10_vs_flat']} ({m['score_ratio@10_vs_flat']})" if "recall@10_vs_flat" in m
                          else "-")
    console.print(table)
    return results
