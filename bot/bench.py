"""`brobygger bench turn`: the numbers behind the README's benchmark table.

Measures, in one run on this machine: Rasa's REST turn alone (the floor), the same turn through the
app (web chat API → store → Rasa → render → store), a search turn (custom action + retrieval),
throughput with parallel senders, RSS of both processes, Rasa's start time and the training time.
"""

import asyncio
import json
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.table import Table

from bot.engine.process import TrainedModel, training_seconds
from bot.runner import start_stack
from bot.settings import REPO_ROOT, Settings

console = Console()


def _save(settings: Settings, name: str, results: dict) -> Path:
    """Stamp the results with the machine and date and write var/bench/<name>.json."""
    memory_gib = round(psutil.virtual_memory().total / 2**30)
    results["machine"] = f"{platform.machine()}, {psutil.cpu_count()} cores, {memory_gib} GiB"
    results["date"] = datetime.now(UTC).date().isoformat()
    out = Path(settings.var_dir) / "bench" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return out


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def _summary(samples_ms: list[float]) -> dict:
    return {"n": len(samples_ms), "p50_ms": round(_percentile(samples_ms, 50), 1),
            "p95_ms": round(_percentile(samples_ms, 95), 1)}


async def _timed_sequence(client: httpx.AsyncClient, url: str, bodies: list[dict], params=None) -> list[float]:
    samples = []
    for body in bodies:
        started = time.perf_counter()
        response = await client.post(url, json=body, params=params)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        if not response.json():
            raise RuntimeError(f"empty reply from {url}")
        samples.append(elapsed)
    return samples


async def _timed_sms(client: httpx.AsyncClient, app_url: str, signed_url: str, token: str, turns: int) -> list[float]:
    """The same greeting through the signed Twilio webhook (signature check, claim, turn, TwiML)."""
    from twilio.request_validator import RequestValidator

    validator, samples = RequestValidator(token), []
    for i in range(turns):
        params = {"MessageSid": f"SMbench{uuid.uuid4().hex}", "From": f"+4590{i % 20:06d}", "To": "+4570000000",
                  "Body": "hej", "NumMedia": "0"}
        headers = {"X-Twilio-Signature": validator.compute_signature(signed_url, params)}
        started = time.perf_counter()
        response = await client.post(f"{app_url}/channels/twilio/sms", data=params, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        if "<Message>" not in response.text:
            raise RuntimeError("empty TwiML reply from the SMS webhook")
        samples.append(elapsed)
    return samples


async def _throughput(client: httpx.AsyncClient, url: str, senders: int, turns_each: int,
                      rasa: bool = False) -> tuple[float, int]:
    failures = 0

    async def sender(index: int) -> None:
        nonlocal failures
        conversation = f"bench-tp-{index}-{uuid.uuid4().hex[:6]}"
        body = ({"sender": conversation, "message": "hej"} if rasa
                else {"conversation_id": conversation, "text": "hej", "language": "da"})
        for _ in range(turns_each):
            response = await client.post(url, json=body)
            if response.status_code != 200 or not response.json():
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(sender(i) for i in range(senders)))
    return senders * turns_each / (time.perf_counter() - started), failures


def _rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    return round(sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20)


async def _measure(stack, turns: int, concurrency: int, sms_token: str) -> dict:
    app, rasa = stack.app_url, stack.settings.rasa_url
    async with httpx.AsyncClient(timeout=60) as client:
        # Warm both paths (first turns load models and compile graphs).
        warm = [{"conversation_id": f"warm-{i}", "text": "hej", "language": "da"} for i in range(5)]
        await _timed_sequence(client, f"{app}/api/webchat/messages", warm)
        await _timed_sequence(client, f"{app}/api/webchat/messages",
                              [{"conversation_id": "warm-s", "text": "jeg er ensom, jeg bor i Odense"}])

        rasa_bodies = [{"sender": f"bench-r-{i % 20}", "message": "hej"} for i in range(turns)]
        app_bodies = [{"conversation_id": f"bench-a-{i % 20}", "text": "hej", "language": "da"} for i in range(turns)]
        search_bodies = [{"conversation_id": f"bench-s-{i}", "text": "jeg føler mig ensom, jeg bor i Odense",
                          "language": "da"} for i in range(max(20, turns // 4))]
        rasa_alone = await _timed_sequence(client, f"{rasa}/webhooks/rest/webhook", rasa_bodies)
        full_turn = await _timed_sequence(client, f"{app}/api/webchat/messages", app_bodies)
        search_turn = await _timed_sequence(client, f"{app}/api/webchat/messages", search_bodies)
        sms_turn = await _timed_sms(client, app, stack.settings.app_url.rstrip("/") + "/channels/twilio/sms",
                                    sms_token, turns)
        per_sender = max(5, turns // concurrency)
        rasa_per_s, rasa_failures = await _throughput(client, f"{rasa}/webhooks/rest/webhook", concurrency,
                                                      per_sender, rasa=True)
        turns_per_s, failures = await _throughput(client, f"{app}/api/webchat/messages", concurrency, per_sender)
    return {
        "rasa_rest_turn": _summary(rasa_alone),
        "app_full_turn": _summary(full_turn),
        "app_search_turn": _summary(search_turn),
        "sms_webhook_turn": _summary(sms_turn),
        "rasa_throughput": {"senders": concurrency, "turns_per_s": round(rasa_per_s, 1), "failures": rasa_failures},
        "throughput": {"senders": concurrency, "turns_per_s": round(turns_per_s, 1), "failures": failures},
    }


def run_turn_benchmark(settings: Settings, model: TrainedModel, turns: int, concurrency: int) -> dict:
    # The SMS path needs a Twilio auth token to verify signatures with; the bench signs as Twilio would.
    sms_token = uuid.uuid4().hex
    with console.status("Starting Rasa and the app…"):
        stack = start_stack(settings, model.path, extra_env={"TWILIO_AUTH_TOKEN": sms_token,
                                                             "BROBYGGER_SMS_RATE_LIMIT": "100000/minute"})
    try:
        with console.status(f"Measuring ({turns} turns per path, {concurrency} parallel senders)…"):
            results = asyncio.run(_measure(stack, turns, concurrency, sms_token))
        results["rss_mb"] = {"app": _rss_mb(stack.processes["app"].pid), "rasa": _rss_mb(stack.processes["rasa"].pid)}
        with console.status("Loading the web chat page in Chromium…"):
            results["web_page"] = web_page_weight(stack.app_url)
    finally:
        stack.stop()
    results["rasa_ready_s"] = round(stack.rasa_ready_s, 1)
    results["training_s"] = training_seconds(settings, model.path)
    ratio = results["app_full_turn"]["p95_ms"] / results["rasa_rest_turn"]["p95_ms"]
    results["full_vs_rasa_p95"] = round(ratio, 2)
    _print(results, _save(settings, "turn", results))
    return results


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


def web_page_weight(app_url: str, turns: int = 10) -> dict:
    """What a phone downloads before the first message (bytes on the wire, as Chromium counts them), and
    the web chat turn as the citizen sees it: from tapping Send to the reply on screen."""
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        return {"error": "chromium is not installed (apt-get install chromium)"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740})
            page.goto(f"{app_url}/?lang=so", wait_until="networkidle")
            entries = page.evaluate("""() => performance.getEntriesByType('navigation')
                .concat(performance.getEntriesByType('resource'))
                .map(e => ({transfer: e.transferSize, decoded: e.decodedBodySize}))""")
            shown = []
            for turn in range(turns):
                count = page.locator("#log .msg").count()
                page.fill("#input", "see tahay")
                started = time.perf_counter()
                page.click("#send")
                page.wait_for_function("n => document.querySelectorAll('#log .msg').length > n + 1", arg=count)
                if turn:  # the first turn opens the conversation and the live stream
                    shown.append((time.perf_counter() - started) * 1000)
        finally:
            browser.close()
    return {"requests": len(entries), "transferred_bytes": sum(e["transfer"] for e in entries),
            "decoded_bytes": sum(e["decoded"] for e in entries), "turn_in_browser": _summary(shown)}


def _print(results: dict, out: Path) -> None:
    table = Table(title=f"Turn benchmark — {results['machine']}, {results['date']}")
    for column in ("measure", "p50 ms", "p95 ms", "n"):
        table.add_column(column)
    for key, label in (("rasa_rest_turn", "Rasa REST turn alone (floor)"),
                       ("app_full_turn", "Full web chat turn (app + Rasa)"),
                       ("app_search_turn", "Search turn (action + retrieval)"),
                       ("sms_webhook_turn", "SMS webhook turn (signature, claim, turn, TwiML)")):
        row = results[key]
        table.add_row(label, str(row["p50_ms"]), str(row["p95_ms"]), str(row["n"]))
    console.print(table)
    throughput = results["throughput"]
    console.print(f"full/Rasa p95 ratio {results['full_vs_rasa_p95']} (target ≤ 1.5); "
                  f"{throughput['turns_per_s']} turns/s with {throughput['senders']} senders "
                  f"({throughput['failures']} failed) vs Rasa alone {results['rasa_throughput']['turns_per_s']}; "
                  f"RSS app {results['rss_mb']['app']} MB, "
                  f"Rasa {results['rss_mb']['rasa']} MB; Rasa ready in {results['rasa_ready_s']} s; "
                  f"training {results['training_s']} s")
    page = results.get("web_page") or {}
    if "transferred_bytes" in page:
        browser_turn = page["turn_in_browser"]
        console.print(f"Web chat page before the first message: {page['transferred_bytes'] / 1000:.1f} kB "
                      f"transferred ({page['decoded_bytes'] / 1000:.1f} kB unpacked, {page['requests']} requests; "
                      f"target < 100 kB); a turn from Send to the reply on screen p50 {browser_turn['p50_ms']} ms, "
                      f"p95 {browser_turn['p95_ms']} ms (Chromium)")
    elif page:
        console.print(f"Web chat page not measured: {page.get('error')}")
    console.print(f"Saved {out}")


# -- parse latency: what understanding costs, and what the dense featurizer adds ---------------------
PARSE_SAMPLES = 12  # training examples per language, cycled through


def _parse_texts() -> list[tuple[str, str]]:
    from nlu.evaluation.datasets import EVALUATED_LANGUAGES, training_examples

    texts = []
    for language in EVALUATED_LANGUAGES:
        examples = training_examples(language)
        step = max(1, len(examples) // PARSE_SAMPLES)
        texts += [(example.text, language) for example in examples[::step][:PARSE_SAMPLES]]
    return texts


async def _measure_parse(rasa_url: str, params: dict, texts: list[tuple[str, str]], turns: int,
                         app_url: str | None = None, token: str | None = None) -> dict:
    bodies = [{"text": texts[i % len(texts)][0]} for i in range(turns)]
    async with httpx.AsyncClient(timeout=60) as client:
        await _timed_sequence(client, f"{rasa_url}/model/parse", bodies[:10], params=params)  # warm up
        results = {"rasa_parse": _summary(await _timed_sequence(client, f"{rasa_url}/model/parse", bodies,
                                                                params=params))}
        if app_url:
            client.headers["Authorization"] = f"Bearer {token}"
            app_bodies = [{"text": texts[i % len(texts)][0], "language": texts[i % len(texts)][1]}
                          for i in range(turns)]
            await _timed_sequence(client, f"{app_url}/api/nlu/parse", app_bodies[:10])
            results["app_parse"] = _summary(await _timed_sequence(client, f"{app_url}/api/nlu/parse", app_bodies))
    return results


def run_parse_benchmark(settings: Settings, product: TrainedModel, sparse: TrainedModel, turns: int) -> dict:
    """Parse p50/p95 through the app and through Rasa alone with the product model, then Rasa alone with
    the same pipeline minus the dense e5 featurizer: the difference is what dense features cost."""
    from bot.store.db import Store
    from bot.users.service import add_user

    texts = _parse_texts()
    results: dict = {"texts": len(texts), "turns": turns}
    for label, model in (("dense", product), ("sparse", sparse)):
        with console.status(f"Starting Rasa with the {label} model ({model.path.name})…"):
            stack = start_stack(settings, model.path)
        try:
            token = None
            if label == "dense":
                _, token = add_user(Store(settings.sqlalchemy_url), f"bench-{uuid.uuid4().hex[:6]}", "admin", [])
            with console.status(f"Measuring parse with the {label} model…"):
                measured = asyncio.run(_measure_parse(
                    settings.rasa_url, {"token": stack.rasa_token}, texts, turns,
                    app_url=stack.app_url if label == "dense" else None, token=token))
            measured["rasa_rss_mb"] = _rss_mb(stack.processes["rasa"].pid)
            measured["training_s"] = training_seconds(settings, model.path)
            measured["model"] = model.path.name
            results[label] = measured
        finally:
            stack.stop()
    results["dense_adds_p50_ms"] = round(results["dense"]["rasa_parse"]["p50_ms"]
                                         - results["sparse"]["rasa_parse"]["p50_ms"], 1)
    out = _save(settings, "parse", results)

    table = Table(title=f"Parse benchmark — {results['machine']}, {results['date']}")
    for column in ("measure", "p50 ms", "p95 ms", "Rasa RSS MB", "training s"):
        table.add_column(column)
    dense, sparse_r = results["dense"], results["sparse"]
    table.add_row("App /api/nlu/parse (dense model)", str(dense["app_parse"]["p50_ms"]),
                  str(dense["app_parse"]["p95_ms"]), "", "")
    table.add_row("Rasa /model/parse, dense + sparse", str(dense["rasa_parse"]["p50_ms"]),
                  str(dense["rasa_parse"]["p95_ms"]), str(dense["rasa_rss_mb"]), str(dense["training_s"]))
    table.add_row("Rasa /model/parse, sparse only", str(sparse_r["rasa_parse"]["p50_ms"]),
                  str(sparse_r["rasa_parse"]["p95_ms"]), str(sparse_r["rasa_rss_mb"]), str(sparse_r["training_s"]))
    console.print(table)
    console.print(f"Dense featurizer adds {results['dense_adds_p50_ms']} ms p50 (target ≤ 15). Saved to {out}")
    return results


# -- dialogue: turns to a first offer, and what each reply costs as SMS ------------------------------
DIALOGUE_SCRIPTS = REPO_ROOT / "tests" / "data" / "dialogue" / "scripts.yml"


def sms_segment_report(renderer, catalogue) -> dict:
    """Per language: segments per SMS over every message key with realistic arguments (bot.i18n.samples)."""
    from bot import SUPPORTED_LANGUAGES
    from bot.i18n import sms
    from bot.i18n.samples import samples

    report = {}
    for language in SUPPORTED_LANGUAGES:
        costs = [(sms.cost(s.message.text), s.key) for s in samples(renderer, catalogue, language, "sms")]
        segments = [cost.segments for cost, _ in costs]
        worst_cost, worst_key = max(costs, key=lambda item: (item[0].segments, item[0].units))
        report[language] = {
            "messages": len(costs),
            "budget": sms.budget(language),
            "mean_segments": round(statistics.mean(segments), 2),
            "max_segments": max(segments),
            "over_budget": sum(1 for s in segments if s > sms.budget(language)),
            "ucs2_share": round(sum(1 for cost, _ in costs if cost.encoding == "UCS-2") / len(costs), 2),
            "longest_key": worst_key,
            "mean_segments_by_key": {key: round(statistics.mean(c.segments for c, k in costs if k == key), 2)
                                     for key in sorted({k for _, k in costs})},
        }
    return report


async def _turns_to_first_offer(app_url: str, scripts: list[dict]) -> list[dict]:
    results = []
    async with httpx.AsyncClient(timeout=60) as client:
        for script in scripts:
            conversation_id = f"bench-dialogue-{uuid.uuid4().hex[:8]}"
            reached = None
            for turn, text in enumerate(script["turns"], start=1):
                body = {"conversation_id": conversation_id, "text": text}
                if turn == 1:
                    body["language"] = script["language"]
                reply = (await client.post(f"{app_url}/api/webchat/messages", json=body)).json()
                if any(message.get("offers") for message in reply["messages"]):
                    reached = turn
                    break
            results.append({"language": script["language"], "name": script["name"], "turns": reached})
    return results


def run_dialogue_benchmark(settings: Settings, model: TrainedModel) -> dict:
    import yaml

    from bot.i18n.render import Renderer
    from knowledge.catalogue import default_catalogue

    scripts = yaml.safe_load(DIALOGUE_SCRIPTS.read_text(encoding="utf-8"))["scripts"]
    with console.status("Rendering every message key for SMS…"):
        segments = sms_segment_report(Renderer(defaults={"days": settings.retention_days}), default_catalogue())
    with console.status("Starting Rasa and the app…"):
        stack = start_stack(settings, model.path)
    try:
        with console.status(f"Running {len(scripts)} conversations…"):
            conversations = asyncio.run(_turns_to_first_offer(stack.app_url, scripts))
    finally:
        stack.stop()
    by_language = {}
    for language in sorted({c["language"] for c in conversations}):
        turns = [c["turns"] for c in conversations if c["language"] == language]
        by_language[language] = {"median": statistics.median(t or 99 for t in turns),
                                  "never": sum(1 for t in turns if t is None)}
    all_turns = [c["turns"] or 99 for c in conversations]
    results = {
        "turns_to_first_offer": {"median": statistics.median(all_turns), "by_language": by_language,
                                 "conversations": conversations},
        "sms_segments": segments,
    }
    out = _save(settings, "dialogue", results)

    table = Table(title="SMS segments per bot message (every key, realistic arguments)")
    for column in ("language", "messages", "budget", "mean", "max", "over budget", "UCS-2 share", "longest"):
        table.add_column(column)
    for language, row in segments.items():
        table.add_row(language, str(row["messages"]), str(row["budget"]), str(row["mean_segments"]),
                      str(row["max_segments"]), str(row["over_budget"]), str(row["ucs2_share"]), row["longest_key"])
    console.print(table)
    medians = ", ".join(f"{lang} {row['median']}" for lang, row in by_language.items())
    console.print(f"Turns to first offer: median {results['turns_to_first_offer']['median']} (target ≤ 3); "
                  f"{medians}")
    console.print(f"Saved {out}")
    return results


# -- hand-off: how fast a citizen and a counsellor reach each other ----------------------------------
async def _measure_handoff(app_url: str, token: str, rounds: int) -> dict:
    cid = uuid.uuid4().hex
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=app_url, timeout=60) as http:
        (await http.post("/api/webchat/messages", json={"conversation_id": cid, "text": "PERSON",
                                                        "language": "da"})).raise_for_status()
        queue = (await http.get("/api/counsellor/conversations", params={"state": "queued"}, headers=headers)).json()
        transcript = (await http.get("/api/webchat/messages", params={"conversation_id": cid})).json()
        conversation_id = max(entry["id"] for entry in queue)
        (await http.post(f"/api/counsellor/conversations/{conversation_id}/claim", headers=headers)).raise_for_status()
        arrived: dict[str, float] = {}
        last_id = max(m["id"] for m in transcript["messages"])

        async def listen() -> None:
            async with http.stream("GET", "/api/webchat/stream",
                                   params={"conversation_id": cid, "after": last_id}) as stream:
                async for line in stream.aiter_lines():
                    if line.startswith("data:"):
                        arrived[json.loads(line[5:])["text"]] = time.perf_counter()

        listener = asyncio.create_task(listen())
        to_console, to_citizen = [], []
        try:
            for turn in range(rounds):
                text = f"Borgerens besked nummer {turn}"
                started = time.perf_counter()
                (await http.post("/api/webchat/messages", json={"conversation_id": cid, "text": text})
                 ).raise_for_status()
                while True:  # what the console's refresh reads
                    seen = (await http.get(f"/api/counsellor/conversations/{conversation_id}/messages",
                                           headers=headers)).json()["messages"]
                    if any(m["text"] == text for m in seen):
                        break
                to_console.append((time.perf_counter() - started) * 1000)
                answer = f"Rådgiverens svar nummer {turn}"
                started = time.perf_counter()
                (await http.post(f"/api/counsellor/conversations/{conversation_id}/reply", json={"text": answer},
                                 headers=headers)).raise_for_status()
                while answer not in arrived:
                    await asyncio.sleep(0.001)
                to_citizen.append((arrived[answer] - started) * 1000)
        finally:
            listener.cancel()
    return {"citizen_to_counsellor_api": _summary(to_console), "counsellor_to_webchat_live": _summary(to_citizen)}


def run_handoff_benchmark(settings: Settings, model: TrainedModel, rounds: int) -> dict:
    from bot.store.db import Store
    from bot.users.service import add_user

    store = Store(settings.sqlalchemy_url)
    store.create_schema()
    _, token = add_user(store, f"bench-{uuid.uuid4().hex[:8]}", "counsellor", ["da"])
    store.dispose()
    with console.status("Starting Rasa and the app…"):
        stack = start_stack(settings, model.path)
    try:
        with console.status(f"Measuring {rounds} exchanges citizen ⇄ counsellor…"):
            results = asyncio.run(_measure_handoff(stack.app_url, token, rounds))
    finally:
        stack.stop()
    out = _save(settings, "handoff", results)
    table = Table(title=f"Hand-off benchmark — {results['machine']}, {results['date']}")
    for column in ("measure", "p50 ms", "p95 ms", "n"):
        table.add_column(column)
    for key, label in (("citizen_to_counsellor_api", "Citizen's web chat message → in the counsellor API"),
                       ("counsellor_to_webchat_live", "Counsellor's reply → on the citizen's live stream")):
        row = results[key]
        table.add_row(label, str(row["p50_ms"]), str(row["p95_ms"]), str(row["n"]))
    console.print(table)
    console.print("The console reads the API every 3 s, so a message shows there within that much more.")
    console.print(f"Saved {out}")
    return results
