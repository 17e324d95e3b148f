"""The `brobygger` command line."""

import signal
import sys
import time
import uuid

import httpx
import typer
from rich.console import Console

from bot.settings import get_settings

app = typer.Typer(help="Brobygger: local communities and health support, in five languages.",
                  no_args_is_help=True, add_completion=False)
users_app = typer.Typer(help="Counsellor and administrator accounts.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (numbers for the README).", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(bench_app, name="bench")
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
    """Train the dialogue model if its inputs changed (cached by their hash)."""
    try:
        _ensure_model(force)
    except (RuntimeError, FileNotFoundError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


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
def calibrate() -> None:
    """Fit per-language fallback thresholds on a validation split of the training data."""
    from nlu.evaluation.calibrate import THRESHOLDS_FILE
    from nlu.evaluation.calibrate import calibrate as run_calibration

    status = console.status("Training the calibration model (80 % of the training data)…")
    status.start()
    try:
        document = run_calibration(get_settings())
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

    settings = get_settings()
    model = _ensure_model()
    # SIGTERM (e.g. from a process manager) stops the stack the same way Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    stack = None
    try:
        with console.status("Starting the dialogue engine and the app (Rasa needs ~1 min)…"):
            stack = start_stack(settings, model.path)
        url = stack.app_url
        console.print(f"\n[bold green]Brobygger is running[/bold green] (ready in {stack.rasa_ready_s:.0f} s)")
        console.print(f"  Web chat API  POST {url}/api/webchat/messages")
        console.print(f"  API docs      {url}/docs")
        console.print(f"  Health        {url}/healthz")
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
) -> None:
    """Add a user; the new API token is the last line of the output (it is not stored)."""
    from bot.store.db import Store
    from bot.users.service import UserError, add_user

    settings = get_settings()
    store = Store(settings.sqlalchemy_url)
    store.create_schema()
    codes = [code.strip().lower() for code in languages.split(",") if code.strip()]
    try:
        user, token = add_user(store, name, role, codes)
    except UserError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        store.dispose()
    console.print(f"Added {user.role} {user.name!r} (languages: {user.languages or '-'}). API token:")
    print(token)
    sys.stdout.flush()


@bench_app.command("turn")
def bench_turn(
    turns: int = typer.Option(200, help="turns per measurement"),
    concurrency: int = typer.Option(8, help="parallel senders for the throughput run"),
) -> None:
    """Full web chat turn vs Rasa's REST turn alone, RSS, start and training time."""
    from bot.bench import run_turn_benchmark

    model = _ensure_model()
    run_turn_benchmark(get_settings(), model, turns=turns, concurrency=concurrency)


if __name__ == "__main__":
    app()
