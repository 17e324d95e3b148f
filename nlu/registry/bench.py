"""`brobygger bench retrain`: the time from N labelled examples to a promoted model, and whether citizens
notice the swap.

A private stack (own ports, database, labelled-data folder and model cache, so the candidate is really
trained) starts on the product model. N misspelt variants of training examples (the last letter
dropped: how citizens type) go through the review queue and are labelled through the admin API. A
training job runs with the chosen config; then parallel senders keep chatting while the candidate is
promoted and rolled back again, and every turn is checked: an HTTP error, a timeout or the "technical
problem" reply counts as failed. Latency while the engine swaps is compared with the window before it.
"""

import secrets
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.table import Table

from bot.bench import _percentile, _save, console
from bot.engine.process import CONFIG, DIALOGUE_DATA, NLU_DATA, TrainedModel, TrainingInputs, ensure_model
from bot.i18n.render import Renderer
from bot.runner import start_stack
from bot.settings import REPO_ROOT, Settings
from bot.store.db import Store
from bot.users.service import add_user
from nlu.evaluation.datasets import EVALUATED_LANGUAGES, training_examples
from nlu.registry import service as registry
from nlu.review import service as review
from nlu.review.learned import LearnedData

# What the parallel senders say, per language: needs and small talk, cycled.
CHAT = {
    "da": ["hej", "jeg føler mig ensom", "tak", "jeg har gæld og brug for hjælp"],
    "ar": ["مرحبا", "أشعر بالوحدة", "شكرا", "عندي ديون وأحتاج مساعدة"],
    "so": ["salaan", "waxaan dareemayaa kali", "mahadsanid", "deyn ayaa igu jirta"],
    "tr": ["merhaba", "kendimi yalnız hissediyorum", "teşekkürler", "borcum var yardım lazım"],
    "fa": ["سلام", "احساس تنهایی می کنم", "ممنون", "بدهی دارم و کمک لازم دارم"],
}


# Seconds of chatting before the first swap, and the windows measured before and after each swap.
WARM_UP_S, SETTLE_S = 15.0, 5.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def labelled_variants(count: int, learned: LearnedData) -> list[tuple[str, str, str]]:
    """(language, text, intent): training examples without their last letter, spread over the languages,
    only those the learned data would accept (not already known, not in the held-out tests)."""
    pools = {language: [e for e in training_examples(language) if len(e.text) > 6]
             for language in EVALUATED_LANGUAGES}
    chosen: list[tuple[str, str, str]] = []
    index = 0
    while len(chosen) < count and index < max(len(pool) for pool in pools.values()):
        for language, pool in pools.items():
            if index < len(pool) and len(chosen) < count:
                example = pool[(index * 7) % len(pool)]  # a spread over intents, not the file's first block
                variant = example.text[:-1]
                if learned.check(variant, example.intent, language) is None and \
                        variant not in {text for _, text, _ in chosen}:
                    chosen.append((language, variant, example.intent))
        index += 1
    return chosen


@dataclass
class Senders:
    """Citizens chatting in parallel, each turn recorded as (start, seconds, ok)."""

    url: str
    count: int
    failed_texts: set[str]
    samples: list[tuple[float, float, bool]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, index: int) -> None:
        language = EVALUATED_LANGUAGES[index % len(EVALUATED_LANGUAGES)]
        conversation = f"bench-retrain-{index}-{secrets.token_hex(8)}"
        with httpx.Client(base_url=self.url, timeout=30) as client:
            turn = 0
            while not self.stop.is_set():
                text = CHAT[language][turn % len(CHAT[language])]
                started = time.monotonic()
                try:
                    response = client.post("/api/webchat/messages", json={
                        "conversation_id": conversation, "text": text, "language": language})
                    messages = response.json().get("messages") if response.status_code == 200 else None
                    ok = bool(messages) and not any(m["text"] in self.failed_texts for m in messages)
                except (httpx.HTTPError, ValueError):
                    ok = False
                self.samples.append((started, time.monotonic() - started, ok))
                turn += 1

    def __enter__(self) -> "Senders":
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(self.count)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def window(self, start: float, end: float) -> dict:
        """Turns that overlapped [start, end]."""
        inside = [(s, d, ok) for s, d, ok in self.samples if s <= end and s + d >= start]
        latencies = [d * 1000 for _, d, _ in inside]
        return {"turns": len(inside), "failed": sum(not ok for *_, ok in inside),
                "p50_ms": round(_percentile(latencies, 50), 1) if latencies else None,
                "p95_ms": round(_percentile(latencies, 95), 1) if latencies else None,
                "max_ms": round(max(latencies), 1) if latencies else None}


def _swap(api: httpx.Client, senders: Senders, path: str, settle_s: float) -> dict:
    time.sleep(settle_s)  # the window before: the baseline latency of this run
    before_start = time.monotonic() - settle_s
    started = time.monotonic()
    response = api.post(path, json={"override_reason": "benchmark"} if path.endswith("promote") else None)
    finished = time.monotonic()
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.text}")
    time.sleep(settle_s)
    return {"swap_s": round(finished - started, 1), "before": senders.window(before_start, started),
            "during": senders.window(started, finished), "after": senders.window(finished, time.monotonic())}


def run_retrain_benchmark(settings: Settings, product: TrainedModel, examples: int, clients: int,
                          config: Path) -> dict:
    work = Path(settings.var_dir) / "bench" / "retrain"
    shutil.rmtree(work, ignore_errors=True)
    (work / "models").mkdir(parents=True)
    bench = settings.model_copy(update={
        "var_dir": work / "var", "learned_data_dir": work / "learned", "models_dir": work / "models",
        "model_cache_dir": work / "cache", "training_config": config, "port": _free_port(),
        "rasa_port": _free_port(), "rasa_token": secrets.token_urlsafe(16),
        "database_url": None,
        # The search index and embedding model of this checkout (built by `make index`), not new ones.
        "embedding_dir": settings.embedding_models_dir, "index_dir": settings.search_index_dir})
    if Path(config).resolve() != CONFIG.resolve():
        # The gate compares like with like: the starting model is trained with the same config.
        product = ensure_model(settings, inputs=TrainingInputs(name="brobygger", config=Path(config),
                                                                data=(DIALOGUE_DATA, NLU_DATA)))
    start_model = work / "models" / product.path.name
    shutil.copy(product.path, start_model)
    store = Store(bench.sqlalchemy_url)
    store.create_schema()
    registry.startup_model(store, start_model)
    _, token = add_user(store, "bench-admin", "admin", [])
    learned = LearnedData(bench.learned_data_dir)
    chosen = labelled_variants(examples, learned)
    renderer = Renderer()
    failed_texts = {renderer.render("technical_problem", language).text for language in (*EVALUATED_LANGUAGES, "en")}

    extra_env = {"BROBYGGER_LEARNED_DATA_DIR": str(bench.learned_data_dir),
                 "BROBYGGER_MODELS_DIR": str(bench.models_dir), "BROBYGGER_MODEL_CACHE_DIR": str(bench.model_cache_dir),
                 "BROBYGGER_TRAINING_CONFIG": str(config),
                 "BROBYGGER_EMBEDDING_DIR": str(bench.embedding_models_dir),
                 "BROBYGGER_INDEX_DIR": str(bench.search_index_dir)}
    with console.status("Starting Rasa and the app…"):
        stack = start_stack(bench, start_model, extra_env=extra_env)
    results: dict = {"examples": len(chosen), "config": str(Path(config).relative_to(REPO_ROOT))
                     if Path(config).is_relative_to(REPO_ROOT) else str(config), "clients": clients}
    try:
        api = httpx.Client(base_url=stack.app_url, timeout=600, headers={"Authorization": f"Bearer {token}"})
        ids: dict[tuple[str, str], list[int]] = {}
        for language, text, intent in chosen:
            entry = review.log(store, conversation_key="bench", message_id=None, channel="webchat",
                               language=language, text=text,
                               understood={"intent": "nlu_fallback", "confidence": 0.3, "source": "model"})
            ids.setdefault((language, intent), []).append(entry.id)
        labelling = time.monotonic()
        for (language, intent), group in ids.items():
            api.post("/api/admin/review/label", json={"ids": group, "intent": intent, "language": language}
                     ).raise_for_status()
        results["labelling_s"] = round(time.monotonic() - labelling, 2)

        started = time.monotonic()
        job_id = api.post("/api/admin/models/train").json()["job_id"]
        evaluating_at = None
        with console.status(f"Training a candidate with {len(chosen)} new examples ({results['config']})…") as status:
            while True:
                job = api.get(f"/api/admin/models/jobs/{job_id}").json()
                status.update(f"{job['state']}: {job['stage']} ({job['progress']:.0%})")
                if job["state"] == "evaluating" and evaluating_at is None:
                    evaluating_at = time.monotonic()
                if job["state"] in ("done", "failed"):
                    break
                time.sleep(1)
        if job["state"] != "done":
            raise RuntimeError(f"training failed: {job['error']}")
        finished = time.monotonic()
        results["training_s"] = round((evaluating_at or finished) - started, 1)
        results["evaluation_s"] = round(finished - (evaluating_at or finished), 1)
        results["gate"] = {"passed": job["gate"]["passed"], "reasons": job["gate"]["reasons"],
                           "f1": {lang: (row["baseline_f1"], row["candidate_f1"])
                                  for lang, row in job["gate"]["languages"].items()}}
        with console.status(f"Promoting and rolling back while {clients} citizens chat…"), \
                Senders(stack.app_url, clients, failed_texts) as senders:
            time.sleep(WARM_UP_S)  # first turns load the search model in the app: not what is measured
            measured_from = time.monotonic()
            results["promote"] = _swap(api, senders, f"/api/admin/models/{job['version_id']}/promote", SETTLE_S)
            results["rollback"] = _swap(api, senders, "/api/admin/models/rollback", SETTLE_S)
        results["time_to_promoted_s"] = round(finished - labelling + results["promote"]["swap_s"], 1)
        measured = [sample for sample in senders.samples if sample[0] + sample[1] >= measured_from]
        results["failed_turns"] = sum(not ok for *_, ok in measured)
        results["turns"] = len(measured)
    finally:
        stack.stop()
        store.dispose()
    _print(results, _save(settings, "retrain", results))
    return results


def _print(results: dict, out: Path) -> None:
    console.print(f"Retraining with {results['examples']} new examples ({results['config']}): labelling "
                  f"{results['labelling_s']} s, training {results['training_s']} s, evaluation and gate "
                  f"{results['evaluation_s']} s; gate {'passed' if results['gate']['passed'] else 'refused'}; "
                  f"from labelled to live {results['time_to_promoted_s']} s")
    table = Table(title=f"Turns while the engine swaps models — {results['machine']}, {results['date']}")
    for column in ("swap", "seconds", "window", "turns", "failed", "p50 ms", "p95 ms", "max ms"):
        table.add_column(column)
    for swap in ("promote", "rollback"):
        for window in ("before", "during", "after"):
            row = results[swap][window]
            table.add_row(swap if window == "before" else "", str(results[swap]["swap_s"]) if window == "before"
                          else "", window, str(row["turns"]), str(row["failed"]), str(row["p50_ms"]),
                          str(row["p95_ms"]), str(row["max_ms"]))
    console.print(table)
    console.print(f"{results['failed_turns']} of {results['turns']} turns failed across both swaps "
                  f"({results['clients']} parallel senders). Saved {out}")
