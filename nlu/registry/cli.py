"""`brobygger models list|train|promote|rollback` and `brobygger review list|label|noise`."""

import json
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.settings import get_settings

models_app = typer.Typer(help="Model versions: train a candidate, the gate, promote, roll back.",
                         no_args_is_help=True)
review_app = typer.Typer(help="The review queue: what the bot misunderstood, to label for training.",
                         no_args_is_help=True)
console = Console(stderr=True)


@contextmanager
def _store():
    import nlu.registry.models  # noqa: F401  (registers the tables)
    import nlu.review.models  # noqa: F401
    from bot.store.db import Store

    store = Store(get_settings().sqlalchemy_url)
    store.create_schema()
    try:
        yield store
    finally:
        store.dispose()


def _f1(version, language: str) -> str:
    scores = (version.metrics or {}).get("languages", {}).get(language)
    return f"{scores['macro_f1']:.3f}" if scores else "-"


@models_app.command("list")
def models_list() -> None:
    """Every model version with its held-out macro-F1 per language and the gate's verdict."""
    from nlu.evaluation.datasets import EVALUATED_LANGUAGES
    from nlu.registry import service as registry

    with _store() as store:
        versions = registry.versions(store)
    table = Table(title=f"{len(versions)} model version(s)")
    for column in ("id", "name", "source", "state", *EVALUATED_LANGUAGES, "gate"):
        table.add_column(column)
    for v in versions:
        gate = "-" if not v.gate else ("passed" if v.gate["passed"] else "refused")
        table.add_row(str(v.id), v.name, v.source, v.state, *(_f1(v, lang) for lang in EVALUATED_LANGUAGES), gate)
    Console().print(table)


@models_app.command("train")
def models_train() -> None:
    """Train a candidate from the training data + labelled examples, evaluate it, print the gate."""
    from nlu.registry import jobs

    settings = get_settings()
    with _store() as store:
        job = jobs.start(store, settings, None)
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("starting", total=1.0)
            while True:
                current = jobs.get(store, job.id)
                bar.update(task, completed=current.progress, description=escape(current.stage[:60]))
                if current.state in ("done", "failed"):
                    break
                jobs.wait(1.0)
        if current.state == "failed":
            console.print(f"[red]Training failed:[/red] {escape(current.error or '')}")
            raise typer.Exit(1)
        from nlu.registry import service as registry

        version = registry.get(store, current.version_id)
    console.print(f"Candidate v{version.id} ({version.name}): {current.stage}")
    if version.gate:
        for language, row in version.gate["languages"].items():
            console.print(f"  {language}: macro-F1 {row['baseline_f1']:.3f} → {row['candidate_f1']:.3f}, "
                          f"crisis recall {row['crisis_recall']:.2f}")
        verdict = "[green]passed[/green]" if version.gate["passed"] else "[red]refused[/red]: " + escape(
            "; ".join(version.gate["reasons"]))
        console.print(f"Gate {verdict}. Promote with: brobygger models promote {version.id}")


def _go_live(store, version, action: str, reason: str | None) -> None:
    """Record the choice; the running app (nlu.registry.live) loads it into its engine between turns."""
    from nlu.registry import service as registry
    from nlu.registry.live import FOLLOW_EVERY_S

    registry.activate(store, version.id, action, None, reason)
    console.print(f"[green]v{version.id} ({version.name}) is the active model[/green]: a running app loads it "
                  f"within {FOLLOW_EVERY_S:.0f} s (between turns); otherwise it starts with the next brobygger run.")


@models_app.command("promote")
def models_promote(version_id: int, override_reason: str = typer.Option(
        None, help="promote although macro-F1 fell by more than the gate allows (never crisis): why")) -> None:
    """Make a candidate the active model (the gate must have passed)."""
    from nlu.registry import service as registry

    with _store() as store:
        try:
            version = registry.get(store, version_id)
            reason = registry.check_promotable(version, registry.active(store), override_reason)
        except registry.RegistryError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        _go_live(store, version, "promote", reason)


@models_app.command("rollback")
def models_rollback() -> None:
    """Back to the model that was active before the current one."""
    from nlu.registry import service as registry

    with _store() as store:
        try:
            target = registry.rollback_target(store)
        except registry.RegistryError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        _go_live(store, target, "rollback", None)


@review_app.command("list")
def review_list(language: str = typer.Option(None, help="only this language"),
                as_json: bool = typer.Option(False, "--json", help="machine-readable")) -> None:
    """Open items, grouped by similarity (needs the search index's embedding model)."""
    from knowledge.embeddings import embedder_for
    from nlu.review import service

    with _store() as store:
        items = service.queue(store, language)
        settings = get_settings()
        embedder = embedder_for(settings)
        groups = service.clusters(items, embedder.queries) if items else []
    if as_json:
        print(json.dumps([{"language": g.language, "items": [{"id": i.id, "text": i.text, "intent": i.intent,
                                                               "reasons": i.reasons} for i in g.items]}
                          for g in groups], ensure_ascii=False, indent=1))
        return
    for group in groups:
        console.print(f"[bold]{group.language}[/bold], {len(group.items)} message(s):")
        for item in group.items:
            console.print(f"  {item.id:>5}  {escape(item.text)}  [dim]({item.intent} {item.confidence:.2f}; "
                          f"{', '.join(item.reasons)})[/dim]", soft_wrap=True)
    console.print(f"{len(items)} open item(s) in {len(groups)} group(s).")


@review_app.command("label")
def review_label(ids: list[int], intent: str = typer.Option(...), language: str = typer.Option(...)) -> None:
    """Label items with an intent; they are written to the learned training data (or refused, with why)."""
    from bot.engine.process import domain_intents
    from nlu.review import service
    from nlu.review.learned import LearnedData

    with _store() as store:
        try:
            results = service.label(store, LearnedData(get_settings().learned_data_dir), ids, intent, language, 0,
                                    domain_intents())
        except service.ReviewError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
    for result in results:
        console.print(f"  {result.id}: {result.status}" + (f" — {escape(result.reason)}" if result.reason else ""))


@review_app.command("noise")
def review_noise(ids: list[int]) -> None:
    """Take items out of the queue without learning from them."""
    from nlu.review import service

    with _store() as store:
        try:
            console.print(f"{service.mark_noise(store, ids, 0)} item(s) marked as noise")
        except service.ReviewError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
