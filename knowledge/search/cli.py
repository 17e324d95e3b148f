"""`brobygger index build|show`, `brobygger search`, `brobygger search-eval`, `brobygger bench search`.

Registered in bot/cli.py; heavy imports happen inside the commands.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(stderr=True)
out = Console()
index_app = typer.Typer(help="The faiss search index of the catalogue.", no_args_is_help=True)


def _settings():
    from bot.settings import get_settings

    return get_settings()


def _catalogue():
    from knowledge.catalogue import CatalogueError, default_catalogue

    try:
        return default_catalogue()
    except CatalogueError as exc:
        console.print(f"[red]The catalogue has problems; fix them first (brobygger catalogue check):[/red]\n"
                      f"{escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from exc


def _embedder():
    from knowledge.embeddings import EmbeddingModelError, embedder_for

    settings = _settings()
    try:
        with console.status(f"Loading the embedding model {settings.embedding_model}…"):
            return embedder_for(settings)
    except EmbeddingModelError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc


def _search():
    from knowledge.index import load_or_build
    from knowledge.search.engine import OfferSearch

    settings = _settings()
    catalogue, embedder = _catalogue(), _embedder()
    index = _with_progress(lambda progress: load_or_build(settings.search_index_dir, catalogue, embedder,
                                                          progress=progress))
    return OfferSearch(catalogue, index, embedder)


def _with_progress(work):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = None

        def report(done: int, total: int) -> None:
            nonlocal task
            if task is None:
                task = progress.add_task("Embedding offer texts", total=total)
            progress.update(task, completed=done, total=total)

        return work(report)


@index_app.command("build")
def index_build(
    force: bool = typer.Option(False, help="rebuild even if the index matches the catalogue and model"),
    index_type: str = typer.Option("auto", help="auto (exact flat index, IVF for very large catalogues), flat, "
                                   "ivf or hnsw"),
) -> None:
    """Embed every language version of every offer and save the faiss index (atomic swap)."""
    from knowledge.index import build, fingerprint, read_manifest, staleness

    if index_type not in ("auto", "flat", "ivf", "hnsw"):
        console.print(f"[red]unknown index type {escape(index_type)!r}: auto, flat, ivf or hnsw[/red]")
        raise typer.Exit(2)
    settings = _settings()
    catalogue, embedder = _catalogue(), _embedder()
    directory = settings.search_index_dir
    reason = staleness(read_manifest(directory), fingerprint(catalogue), embedder.name, embedder.dimension)
    if reason is None and not force:
        console.print(f"Index up to date ({directory / 'current'}); use --force to rebuild.")
        return
    started = time.perf_counter()
    kind = None if index_type == "auto" else index_type
    index = _with_progress(lambda progress: build(directory, catalogue, embedder, index_type=kind, progress=progress))
    manifest = index.manifest
    console.print(f"[green]Built[/green] {manifest['index_type']} index: {manifest['offers']} offers, "
                  f"{manifest['rows']} language versions, {manifest['dimension']}-d {manifest['model']}, "
                  f"in {time.perf_counter() - started:.1f} s{_cached_rows(manifest)} → {index.path}", soft_wrap=True)


def _cached_rows(manifest: dict) -> str:
    cached = manifest["rows"] - manifest.get("embedded_rows", manifest["rows"])
    return f" ({cached} of {manifest['rows']} from the embedding cache)" if cached else ""


@index_app.command("show")
def index_show() -> None:
    """The current index's manifest and whether it is stale."""
    from knowledge.index import read_manifest

    manifest = read_manifest(_settings().search_index_dir)
    if manifest is None:
        console.print("No index yet: brobygger index build")
        raise typer.Exit(1)
    print(json.dumps(manifest, indent=2))


def search(
    text: str = typer.Argument(..., help="the need, in the citizen's words"),
    language: str = typer.Option(None, "--language", "-l", help="da, ar, so, tr, fa or en (detected if absent)"),
    municipality: str = typer.Option(None, "--municipality", "-m", help="municipality, town or postcode"),
    limit: int = typer.Option(3, min=1, max=20),
    as_json: bool = typer.Option(False, "--json", help="the API's JSON instead of a table"),
) -> None:
    """Search the catalogue like the chat and the API do."""
    from knowledge.search.api import result_payload

    engine = _search()
    started = time.perf_counter()
    result = engine.run(text, language=language, municipality=municipality, limit=limit)
    payload = result_payload(result, (time.perf_counter() - started) * 1000)
    if as_json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    location = result.location
    where = location.municipality or "national offers only"
    console.print(f"language {result.language} · {where} · topics "
                  + ", ".join(f"{t} {p:.2f}" for t, p in result.topics) + f" · {payload['took_ms']} ms")
    if location.notice:
        console.print(f"[yellow]{escape(location.notice)}[/yellow]")
    table = Table(show_lines=False)
    for column in ("#", "score", "where", "offer", "topics", "contact"):
        table.add_column(column, overflow="fold")
    for number, hit in enumerate(result.hits, 1):
        card = hit.card(result.language)
        place = f"{hit.tier}" + (f" ({hit.place})" if hit.place else "")
        table.add_row(str(number), f"{hit.score:.3f}", place, f"{card['title']}\n[dim]{hit.offer.id}[/dim]",
                      ", ".join(card["topics"]), card["contact"] or "-")
    out.print(table)


def search_eval(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="queries: [{text, language?, "
                                "municipality?, expect_topics}]"),
    tune: bool = typer.Option(False, help="also grid-search the weights on this file (development queries only)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable results"),
) -> None:
    """hit@1 / hit@3 per language for the hybrid search and a BM25-only baseline, and their ratio."""
    from knowledge.search import evaluation

    try:
        queries = evaluation.load_queries(file)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from exc
    engine = _search()
    with console.status(f"Running {len(queries)} queries…"):
        results = evaluation.evaluate(engine, queries)
    report = _eval_rows(results)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        table = Table(title=f"{file} — {len(queries)} queries, {len(engine.offers)} offers")
        for column in ("language", "n", "hybrid hit@1", "hybrid hit@3", "BM25 hit@1", "BM25 hit@3",
                       "hit@3 ratio", "MRR@10"):
            table.add_column(column, justify="right")
        for row in report:
            table.add_row(row["language"], str(row["n"]), f"{row['hybrid_hit@1']:.2f}", f"{row['hybrid_hit@3']:.2f}",
                          f"{row['bm25_hit@1']:.2f}", f"{row['bm25_hit@3']:.2f}", f"{row['ratio_hit@3']:.2f}",
                          f"{row['hybrid_mrr']:.2f}")
        out.print(table)
        if results["cross_validated"]:
            out.print(f"{results['cross_validated']} of these queries train the topic classifier: their topic "
                      f"signal comes from a classifier fitted without them (5-fold cross-validation).")
    if tune:
        _tune(engine, queries)


def _eval_rows(results: dict) -> list[dict]:
    from knowledge.search.evaluation import LanguageScore

    rows = []
    hybrid, bm25 = results["hybrid"], results["bm25"]
    languages = list(hybrid) + ["all"]
    for language in languages:
        if language == "all":
            h, b = LanguageScore(), LanguageScore()
            for source, target in ((hybrid, h), (bm25, b)):
                for entry in source.values():
                    target.n += entry.n
                    target.reciprocal_rank += entry.reciprocal_rank
                    for k in entry.hits:
                        target.hits[k] += entry.hits[k]
        else:
            h, b = hybrid[language], bm25[language]
        rows.append({"language": language, "n": h.n, "hybrid_hit@1": h.rate(1), "hybrid_hit@3": h.rate(3),
                     "bm25_hit@1": b.rate(1), "bm25_hit@3": b.rate(3),
                     "ratio_hit@3": h.rate(3) / b.rate(3) if b.rate(3) else float("inf"),
                     "hybrid_mrr": h.mrr})
    return rows


def _tune(engine, queries) -> None:
    from knowledge.search.evaluation import local_rate, tune

    with console.status("Grid search over the weights…"):
        outcomes = tune(engine, queries)
    out.print("Best weight settings (dense = 1; objective smoothed over grid neighbours, own objective, MRR@10, "
              "weights, hit@1/hit@3 per language, nearby offer shown):")
    for key, outcome in outcomes[:15]:
        w = outcome["weights"]
        per_language = " ".join(f"{lang} {entry.rate(1):.2f}/{entry.rate(3):.2f}"
                                for lang, entry in outcome["results"].items())
        tiers = f"{w.municipality:.2f}/{w.neighbour:.2f}/{w.region:.2f}"
        out.print(f"  {key[0]:.3f} {key[1]:.3f} {key[2]:.3f}  lexical {w.lexical} topic {w.topic} "
                  f"language {w.language} tiers {tiers}  {per_language}"
                  f"  nearby {local_rate(outcome['results']):.2f}", soft_wrap=True)
    best = outcomes[0][1]
    out.print(f"Best: {best['weights']}", soft_wrap=True)


def bench_search(
    sizes: str = typer.Option("real,10000,100000", help="catalogue sizes: 'real' and/or offer counts"),
    queries: int = typer.Option(200, help="timed searches per size"),
    out_file: Path = typer.Option(Path("var/bench/search.json"), "--out", help="where to write the JSON results"),
) -> None:
    """Search p50/p95, index build time and peak RSS at the real catalogue, 10k and 100k offers."""
    from knowledge.bench import run_search_benchmark

    engine = _search()
    plan = [size.strip() for size in sizes.split(",") if size.strip()]
    results = run_search_benchmark(engine, plan, queries=queries, console=console)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(results, indent=2), encoding="utf-8")
    console.print(f"Results in {out_file}")
    sys.stdout.flush()
