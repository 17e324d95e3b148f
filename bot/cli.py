"""The `brobygger` command line."""

import signal
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import typer
from rich.console import Console

from bot.settings import get_settings
from knowledge.search import cli as search_cli
from nlu.registry import cli as registry_cli

app = typer.Typer(help="Brobygger: local communities and health support, in five languages.",
                  no_args_is_help=True, add_completion=False)
users_app = typer.Typer(help="Counsellor and administrator accounts.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (numbers for the README).", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(bench_app, name="bench")
catalogue_app = typer.Typer(help="The catalogue of offers: check, import, export, stale.", no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")
# Search: index build/show, search, search-eval, bench search (knowledge/search/cli.py).
app.add_typer(search_cli.index_app, name="index")
app.command("search")(search_cli.search)
app.command("search-eval")(search_cli.search_eval)
bench_app.command("search")(search_cli.bench_search)
# The review-and-retrain loop (nlu/registry/cli.py).
app.add_typer(registry_cli.models_app, name="models")
app.add_typer(registry_cli.review_app, name="review")
console = Console(stderr=True)


def _ensure_model(force: bool = False):
    from bot.engine.process import ensure_model

    settings = get_settings()
    status = console.status("Checking the dialogue model…")
    status.start()

    def on_start(log_path):
        status.update(f"Training the dialogue model (a few minutes; log: {log_path})…")

    try:
        model = ensure_model(settings, on_start=on_start, force=force)
    finally:
        status.stop()
    if model.trained:
        console.print(f"[green]Trained[/green] {model.path.name} in {model.seconds:.0f} s")
    else:
        console.print(f"Model up to date: {model.path.name}")
    return model


@app.command()
def train(force: bool = typer.Option(False, help="train even if a cached model matches the inputs")) -> None:
    """Train the dialogue model and fit the crisis classifier if their inputs changed (cached by their hash)."""
    try:
        _ensure_model(force)
    except (RuntimeError, FileNotFoundError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    _ensure_crisis_classifier()


def _ensure_crisis_classifier() -> None:
    from knowledge.embeddings import EmbeddingModelError, embedder_for
    from nlu.crisis.classifier import load_or_fit

    settings = get_settings()
    try:
        embedder = embedder_for(settings)
    except EmbeddingModelError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    status = console.status("Fitting the crisis classifier (every training and development message is embedded)…")
    fitting: list[float] = []  # when fitting started, if it had to
    try:
        classifier = load_or_fit(embedder, [settings.models_dir, settings.model_cache_dir],
                                 on_fit=lambda: (fitting.append(time.perf_counter()), status.start()))
    finally:
        status.stop()
    if fitting:
        console.print(f"[green]Fitted[/green] {classifier.name} in {time.perf_counter() - fitting[0]:.0f} s")
    else:
        console.print(f"Crisis classifier up to date: {classifier.name}")


@app.command()
def evaluate(
    compare: bool = typer.Option(False, help="also train and evaluate the pipeline without dense features"),
    out: str = typer.Option("reports/nlu", help="where to write the reports"),
) -> None:
    """Per-language intent F1, language id, crisis recall and nonsense handling on held-out data."""
    import platform
    from datetime import UTC, datetime
    from pathlib import Path

    from bot.engine.process import ensure_model
    from nlu.evaluation.evaluate import evaluate as run_evaluation
    from nlu.evaluation.report import write_reports
    from nlu.evaluation.variants import sparse_only

    settings = get_settings()
    variants = {"dense + sparse (product)": _ensure_model().path}
    if compare:
        with console.status("Training the sparse-only pipeline for comparison…"):
            variants["sparse only"] = ensure_model(settings, inputs=sparse_only(settings)).path
    results = {}
    for name, model in variants.items():
        with console.status(f"Evaluating {name} ({model.name})…"):
            results[name] = run_evaluation(settings, model)
    meta = {"date": datetime.now(UTC).date().isoformat(), "machine": f"{platform.machine()}, 2 cores",
            "model": next(iter(variants.values())).name}
    summary = write_reports(results, Path(out), meta)
    console.print(summary.read_text())
    console.print(f"Reports in {out}/")


@app.command()
def calibrate(model: str = typer.Option(None, help="reuse this calibration model instead of training one")) -> None:
    """Fit per-language fallback thresholds on a validation split of the training data."""
    from nlu.evaluation.calibrate import THRESHOLDS_FILE
    from nlu.evaluation.calibrate import calibrate as run_calibration

    status = console.status("Training the calibration model (80 % of the training data)…")
    status.start()
    try:
        document = run_calibration(get_settings(), model_path=Path(model) if model else None)
    finally:
        status.stop()
    for language, fitted in document["validation"].items():
        console.print(f"{language}: threshold {fitted['threshold']:.2f} "
                      f"(validation macro-F1 {fitted['validation_macro_f1']:.3f}, n={fitted['n']})")
    console.print(f"Wrote {THRESHOLDS_FILE}")


@app.command()
def run() -> None:
    """Start Rasa and the app, print the URLs, stop both on Ctrl-C."""
    from bot.runner import StackError, start_stack
    from nlu.registry.service import startup_model

    settings = get_settings()
    model = _ensure_model()
    # The registry decides: an administrator's promotion or rollback outlives a restart.
    with registry_cli._store() as store:
        model_path = startup_model(store, model.path)
    if model_path != model.path:
        console.print(f"Starting the active model {model_path.name} (promoted in the admin console)")
    # SIGTERM (e.g. from a process manager) stops the stack the same way Ctrl-C does. Ctrl-C itself is
    # armed explicitly: a shell that starts us in the background (`make run &`, a CI script) hands SIGINT
    # over ignored, and Python then never raises KeyboardInterrupt (uvicorn arms both signals the same way).
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = None
    try:
        with console.status("Starting the dialogue engine and the app (Rasa needs ~1 min)…"):
            stack = start_stack(settings, model_path)
        url = stack.app_url
        console.print(f"\n[bold green]Brobygger is running[/bold green] (ready in {stack.rasa_ready_s:.0f} s)")
        console.print(f"  Web chat      {url}/  (embed on any site: <script src=\"{settings.app_url}/widget.js\" "
                      'data-lang="so" defer></script>)')
        console.print(f"  Web chat API  POST {url}/api/webchat/messages")
        console.print(f"  Counsellors   {url}/console  (brobygger users add NAME --role counsellor; "
                      "brobygger users password NAME)")
        console.print(f"  Admin         {url}/admin  (review queue, retraining, catalogue; "
                      "brobygger users add NAME --role admin)")
        console.print(f"  API docs      {url}/docs")
        console.print(f"  Health        {url}/healthz")
        # Twilio must reach the public URL it signs; paste this into the number's "A message comes in".
        console.print(f"  SMS/WhatsApp  {settings.app_url}/channels/twilio/sms  (Twilio console → your number → "
                      "Messaging → \"A message comes in\", HTTP POST)")
        if not settings.twilio_auth_token:
            console.print("                [yellow]TWILIO_AUTH_TOKEN is not set: the SMS webhook refuses every "
                          "request until it is (set BROBYGGER_PUBLIC_URL to the URL Twilio reaches)[/yellow]")
        console.print(f"  Rasa (local)  {settings.rasa_url}  (token-protected)")
        console.print(f"  Logs          {stack.log_dir}")
        console.print("  Try it        brobygger chat --language so\n  Stop with Ctrl-C.")
        while True:
            stack.check_alive()
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("\nStopping…")
    except StackError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        if stack is not None:
            stack.stop()
    console.print("Stopped.")


@app.command()
def chat(
    language: str = typer.Option(None, "--language", "-l", help="da, ar, so, tr, fa or en (detected if absent)"),
    url: str = typer.Option(None, help="app URL (default: from settings)"),
) -> None:
    """Chat with the running app in the terminal."""
    settings = get_settings()
    base = url or settings.app_url
    conversation_id = f"cli-{uuid.uuid4().hex[:12]}"
    console.print(f"Chatting with {base} (empty line or Ctrl-D to quit)")
    with httpx.Client(base_url=base, timeout=30) as client:
        while True:
            try:
                text = input("you> ")
            except (EOFError, KeyboardInterrupt):
                break
            if not text.strip():
                break
            body = {"conversation_id": conversation_id, "text": text}
            if language:
                body["language"] = language
            response = client.post("/api/webchat/messages", json=body)
            if response.status_code != 200:
                console.print(f"[red]{response.status_code}: {response.json().get('detail')}[/red]")
                continue
            reply = response.json()
            for message in reply["messages"]:
                print(f"bot[{reply['language']}]> {message['text']}")


@users_app.command("add")
def users_add(
    name: str,
    role: str = typer.Option(..., help="counsellor or admin"),
    languages: str = typer.Option("", help="comma-separated language codes, e.g. so,ar"),
    organisation: str = typer.Option("", help="the counsellor's organisation, e.g. 'Røde Kors Aarhus'"),
    regions: str = typer.Option("", help="regions the counsellor covers, e.g. Midtjylland,Nordjylland"),
) -> None:
    """Add a user; the new API token is the last line of the output (it is not stored)."""
    from bot.users.service import add_user

    codes = [code.strip().lower() for code in languages.split(",") if code.strip()]
    covered = [region for region in regions.split(",") if region.strip()]
    with _user_store() as store:
        user, token = add_user(store, name, role, codes, organisation or None, covered)
    console.print(f"Added {user.role} {user.name!r} (languages: {user.languages or '-'}). API token:")
    print(token)
    sys.stdout.flush()


@users_app.command("password")
def users_password(
    name: str,
    stdin: bool = typer.Option(False, "--stdin", help="read the password from standard input (scripts)"),
) -> None:
    """Set the password a person signs in to the console with (at least 10 characters)."""
    from bot.users.sessions import set_password

    password = sys.stdin.readline().rstrip("\n") if stdin else typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    with _user_store() as store:
        user = set_password(store, name, password)
    console.print(f"Password set for {user.role} {user.name!r}; sign in at {get_settings().app_url}/console")


@contextmanager
def _user_store():
    """The configured store for account commands; a refused change is printed and exits with 2."""
    from bot.store.db import Store
    from bot.users.service import UserError

    store = Store(get_settings().sqlalchemy_url)
    store.create_schema()
    try:
        yield store
    except UserError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        store.dispose()


@bench_app.command("parse")
def bench_parse(turns: int = typer.Option(200, help="parses per path")) -> None:
    """Parse p50/p95 through the app and Rasa alone; what the dense featurizer adds; Rasa RSS; training."""
    from bot.bench import run_parse_benchmark
    from bot.engine.process import ensure_model
    from nlu.evaluation.variants import sparse_only

    settings = get_settings()
    product = _ensure_model()
    with console.status("Training (or loading) the sparse-only pipeline for comparison…"):
        sparse = ensure_model(settings, inputs=sparse_only(settings))
    run_parse_benchmark(settings, product, sparse, turns=turns)


@bench_app.command("turn")
def bench_turn(
    turns: int = typer.Option(200, help="turns per measurement"),
    concurrency: int = typer.Option(8, help="parallel senders for the throughput run"),
) -> None:
    """Full web chat turn vs Rasa's REST turn alone, RSS, start and training time."""
    from bot.bench import run_turn_benchmark

    model = _ensure_model()
    run_turn_benchmark(get_settings(), model, turns=turns, concurrency=concurrency)


@bench_app.command("handoff")
def bench_handoff(rounds: int = typer.Option(50, help="citizen ⇄ counsellor exchanges")) -> None:
    """Citizen message → counsellor API, and counsellor reply → the citizen's live web chat, p50/p95."""
    from bot.bench import run_handoff_benchmark

    run_handoff_benchmark(get_settings(), _ensure_model(), rounds=rounds)


@bench_app.command("retrain")
def bench_retrain(
    examples: int = typer.Option(50, help="labelled examples added before training"),
    clients: int = typer.Option(4, help="citizens chatting in parallel while the model is swapped"),
    config: Path = typer.Option(None, help="Rasa config to train with (default: the product's config.yml)"),
) -> None:
    """Time from N labelled examples to a promoted model; failed turns while the engine swaps models."""
    from nlu.registry.bench import run_retrain_benchmark

    settings = get_settings()
    run_retrain_benchmark(settings, _ensure_model(), examples, clients, config or settings.training_config)


@bench_app.command("dialogue")
def bench_dialogue() -> None:
    """Turns from "hello" to a first offer over the dialogue scripts; SMS segments per message per language."""
    from bot.bench import run_dialogue_benchmark

    run_dialogue_benchmark(get_settings(), _ensure_model())


# --- catalogue ---------------------------------------------------------------------------------------

def _catalogue_problems(problems, title: str = "Problems") -> None:
    from rich.markup import escape

    console.print(f"[red bold]{escape(title)}[/red bold]")
    for problem in problems:
        field = f" [yellow]{escape(problem.field)}[/yellow]:" if problem.field else ""
        console.print(f"  [bold]{escape(problem.source)}, {escape(problem.where)}[/bold]:{field} "
                      f"{escape(problem.message)}", soft_wrap=True)


def _load_catalogue(directory):
    from knowledge.catalogue import Catalogue, CatalogueError

    try:
        return Catalogue.load(directory)
    except CatalogueError as exc:
        _catalogue_problems(exc.problems, title=f"The catalogue has {len(exc.problems)} problem(s)")
        raise typer.Exit(1) from exc


@catalogue_app.command("import")
def catalogue_import(
    file: Path = typer.Argument(..., help="HSDS JSON file, HSDS tabular folder (or its datapackage.json), or CSV"),
    fmt: str = typer.Option(None, "--format", "-f", help="hsds, hsds-csv or csv (default: from the file name)"),
    into: Path = typer.Option(None, help="catalogue file to add the offers to (default: <catalogue_dir>/imported.yml)"),
    language: str = typer.Option("da", help="language of the texts in foreign HSDS data"),
    dry_run: bool = typer.Option(False, "--dry-run", help="check only; write nothing"),
) -> None:
    """Import offers, all or nothing: any problem is reported per row/service and nothing is written."""
    from knowledge.admin.imports import FORMATS, default_target, guess_format, import_offers, read_path

    if not file.exists():
        console.print(f"[red]{file}: no such file or folder[/red]", soft_wrap=True)
        raise typer.Exit(2)
    kind = fmt or guess_format(file)
    if kind not in FORMATS:
        console.print(f"[red]unknown format {kind!r}: use {', '.join(FORMATS)}[/red]")
        raise typer.Exit(2)
    offers, problems = read_path(file, kind, language)
    report = import_offers(offers, problems, into or default_target(get_settings().catalogue_dir), dry_run)
    if report.refused_by == "catalogue":
        _catalogue_problems(report.problems, title="Nothing imported: the catalogue would not be valid")
        raise typer.Exit(1)
    if report.problems:
        _catalogue_problems(report.problems, title=f"Nothing imported: {len(report.problems)} problem(s)")
        raise typer.Exit(1)
    changes = f"({report.added} new, {report.replaced} replaced)"
    if dry_run:
        console.print(f"[green]{len(report.offers)} offer(s) are valid[/green] {changes}; nothing written (--dry-run)")
        return
    console.print(f"[green]Imported {len(report.offers)} offer(s)[/green] into {report.target} {changes}",
                  soft_wrap=True)


@catalogue_app.command("export")
def catalogue_export(
    path: Path = typer.Argument(..., help="file to write"),
    fmt: str = typer.Option("hsds", "--format", "-f",
                            help="hsds (JSON), hsds-csv (tabular package folder) or csv (our import format)"),
    directory: Path = typer.Option(None, "--dir", help="catalogue folder (default: setting catalogue_dir)"),
) -> None:
    """Export the catalogue as HSDS 3.0 JSON (checked against the official schemas), HSDS tabular, or CSV."""
    import json

    from knowledge import csv_import, hsds
    from knowledge.catalogue import write_atomic

    catalogue = _load_catalogue(directory)
    if fmt == "csv":
        write_atomic(path, csv_import.offers_to_csv(catalogue.offers))
    elif fmt == "hsds-csv":
        hsds.export_tabular(catalogue.offers, path)
    elif fmt == "hsds":
        document = hsds.export_catalogue(catalogue.offers)
        try:
            errors = hsds.export_errors(document)
        except FileNotFoundError as exc:
            console.print(f"[yellow]Not checked against the HSDS schemas: {exc}[/yellow]")
            errors = []
        if errors:
            for error in errors[:20]:
                console.print(f"[red]{error}[/red]", soft_wrap=True)
            console.print(f"[red]{len(errors)} schema error(s); nothing written[/red]")
            raise typer.Exit(1)
        write_atomic(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    else:
        console.print(f"[red]unknown format {fmt!r}: use hsds, hsds-csv or csv[/red]")
        raise typer.Exit(2)
    console.print(f"[green]Exported {len(catalogue)} offer(s)[/green] to {path} ({fmt})", soft_wrap=True)


@catalogue_app.command("stale")
def catalogue_stale(
    days: int = typer.Option(365, help="an offer is stale when last verified more than this many days ago"),
    directory: Path = typer.Option(None, "--dir", help="catalogue folder (default: setting catalogue_dir)"),
) -> None:
    """Offers whose last_verified date is missing or older than --days."""
    from rich.table import Table

    from knowledge.catalogue import stale_offers

    if days < 0:
        console.print("[red]--days must be 0 or more[/red]")
        raise typer.Exit(2)
    catalogue = _load_catalogue(directory)
    stale = stale_offers(catalogue, days)
    table = Table(title=f"{len(stale)} of {len(catalogue)} offers not verified in the last {days} days")
    for column in ("id", "organisation", "last verified", "age (days)", "file"):
        table.add_column(column, overflow="fold")
    for item in stale:
        verified = item.offer.last_verified.isoformat() if item.offer.last_verified else "never"
        table.add_row(item.offer.id, item.offer.organisation, verified,
                      "-" if item.age_days is None else str(item.age_days), item.origin)
    Console().print(table)


@catalogue_app.command("check")
def catalogue_check(
    directory: Path = typer.Option(None, "--dir", help="catalogue folder (default: setting catalogue_dir)"),
) -> None:
    """Validate the catalogue and print offers per region, topic and language."""
    from rich.columns import Columns
    from rich.table import Table

    from knowledge.catalogue import coverage
    from knowledge.topics import TEXT_LANGUAGES

    catalogue = _load_catalogue(directory)
    counts = coverage(catalogue)
    total = len(catalogue)

    def table(title: str, counter, percent: bool = False) -> Table:
        result = Table(title=title)
        result.add_column(title.split()[0].lower())
        result.add_column("offers", justify="right")
        for key, n in sorted(counter.items(), key=lambda item: (-item[1], item[0])):
            shown = f"{n} ({100 * n / total:.0f} %)" if percent and total else str(n)
            result.add_row(key, f"[red]{shown}[/red]" if n == 0 else shown)
        return result

    out = Console()
    out.print(f"[green]{total} valid offers[/green] in {len(set(catalogue.origins.values()))} file(s); "
              f"hash {catalogue.content_hash()[:16]}")
    summaries = {language: counts["summary_language"][language] for language in TEXT_LANGUAGES}
    out.print(Columns([table("Region", counts["region"]), table("Topic", counts["topic"]),
                       table("Summary language", summaries, percent=True),
                       table("Staff language", counts["staff_language"]), table("Status", counts["status"])]))
    missing = [name for name, n in counts["topic"].items() if n == 0]
    if missing:
        out.print(f"[yellow]Topics with no offer: {', '.join(missing)}[/yellow]")


if __name__ == "__main__":
    app()
