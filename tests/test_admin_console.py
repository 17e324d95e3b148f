"""The admin console (/admin): who may open it, and the page driven in Debian's Chromium against the real
app (no Rasa: the engine is down, so a promotion must end in the API's 502, shown plainly).

Everything the page writes goes to temporary folders: labelled examples to tmp learned/<lang>.yml, imports
to a copy of part of the catalogue, the re-index to a temporary index folder. Review items, model versions
and a running training job are seeded through the services, with metrics from the real evaluation report
(reports/nlu/metrics.json). Screenshots: test-artifacts/admin/.
"""

import copy
import json
import re
import shutil
import uuid
from pathlib import Path

import pytest
import uvicorn
import yaml
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from bot.app import create_app
from bot.settings import REPO_ROOT
from bot.users.service import add_user
from bot.users.sessions import login, set_password
from nlu.registry import service as registry
from nlu.registry.models import ModelVersion, TrainingJob
from nlu.review import service as review
from nlu.review.models import LABELLED, NOISE, OPEN, Understanding
from tests.browser import artifact, axe_violations
from tests.conftest import ThreadedServer, make_settings

PASSWORD = "korrekt-hest-batteri-9"
METRICS = json.loads((REPO_ROOT / "reports" / "nlu" / "metrics.json").read_text("utf-8"))
REPORT = next(iter(METRICS["variants"].values()))  # the product's evaluation: {"languages": {...}, "nonsense"}
WIDE = {"width": 1280, "height": 900}

# Similar messages per language, so the review queue groups them (e5 cosine distance < 0.12).
LONELY_DA = ["jeg er så ensom om aftenen", "jeg føler mig så alene om aftenen", "jeg er meget ensom om aftenen",
             "jeg er ensom hver aften"]
LONELY_SO = ["waxaan ahay kali", "waxaan dareemayaa kalinimo", "kalinimo ayaan dareemayaa"]
LONELY_AR = ["أشعر بالوحدة", "أنا وحيد جدا", "أشعر بالوحدة كل مساء"]
# "hej" is a greet example in nlu/data/da.yml: labelling it anything else is refused with that reason.
CONFLICT_DA = "hej"
MARKUP_DA = "<b>Hvornår</b> åbner I? <img src=x>"

CSV_HEADER = "id,organisation,title_da,summary_da,topics,scope,last_verified\n"
GOOD_ROW = ("test-laesegruppe,Test Bibliotek,Læsegruppe for voksne,Vi læser og snakker sammen.,loneliness,national,"
            "2026-01-05\n")
BAD_ROW = "test-forkert,Test Forening,Forkert tilbud,Et emne der ikke findes.,flyvende_tallerkener,national,\n"


# ---------------------------------------------------------------- who may open the page (no browser)

def _person(store, role: str) -> str:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    add_user(store, name, role, ["da"])
    set_password(store, name, PASSWORD)
    return name


def _sign_in(client: TestClient, name: str, next_path: str | None = None):
    form = client.get("/console/login", params={"next": next_path} if next_path else None)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    data = {"name": name, "password": PASSWORD, "csrf": csrf}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/console/login", data=data, follow_redirects=False)


def test_the_admin_page_is_for_signed_in_admins_only(client):
    store = client.app.state.services.store
    anonymous = client.get("/admin", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login?next=/admin"

    _, token = add_user(store, "admin-by-token", "admin", [])
    by_token = client.get("/admin", headers={"Authorization": f"Bearer {token}"}, follow_redirects=False)
    assert by_token.status_code == 303, "the page is for people (a session); scripts use the API"

    _sign_in(client, _person(store, "counsellor"))
    refused = client.get("/admin", follow_redirects=False)
    assert refused.status_code == 403
    assert "Ingen adgang" in refused.text and "administrator" in refused.text
    assert 'lang="da"' in refused.text

    client.cookies.clear()
    _sign_in(client, _person(store, "admin"))
    page = client.get("/admin")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', page.text)
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline for the CSP to refuse
    assert client.get(re.search(r'src="(/admin/static/admin\.js\?v=\w+)"', page.text).group(1)).status_code == 200


def test_the_login_page_sends_people_on_to_local_paths_only(client):
    store = client.app.state.services.store
    assert 'name="next" value="/admin"' in client.get("/console/login", params={"next": "/admin"}).text
    assert 'name="next"' not in client.get("/console/login", params={"next": "https://evil.example/"}).text
    admin = _person(store, "admin")
    assert _sign_in(client, admin, "/admin").headers["location"] == "/admin"
    for elsewhere in ("//evil.example/admin", "https://evil.example/", "/\\evil.example", "admin", "/ad min"):
        client.cookies.clear()
        assert _sign_in(client, admin, elsewhere).headers["location"] == "/console", elsewhere


def test_the_counsellor_console_links_to_administration_for_admins_only(client):
    store = client.app.state.services.store
    _sign_in(client, _person(store, "admin"))
    assert 'href="/admin"' in client.get("/console").text
    client.cookies.clear()
    _sign_in(client, _person(store, "counsellor"))
    assert 'href="/admin"' not in client.get("/console").text


# ---------------------------------------------------------------- the page in Chromium

class Seeded:
    """The running app and what was put into it."""

    def __init__(self, app, url: str, settings, root: Path) -> None:
        self.app, self.url, self.settings, self.root = app, url, settings, root
        self.items: dict[str, int] = {}
        self.versions: dict[str, int] = {}

    @property
    def store(self):
        return self.app.state.services.store

    def item(self, item_id: int) -> Understanding:
        with self.store.session() as session:
            return session.get(Understanding, item_id)


def _log(store, text: str, language: str, intent: str, confidence: float, message_id: int | None = None) -> int:
    understood = {"intent": intent, "confidence": confidence, "source": "model",
                  "ranking": [{"intent": "seek_support", "confidence": 0.41}, {"intent": "greet", "confidence": 0.3}]}
    # thresholds={}: the default bar (0.45), not this checkout's calibration, decides the reason.
    return review.log(store, conversation_key=uuid.uuid4().hex, message_id=message_id, channel="webchat",
                      language=language, text=text, understood=understood, thresholds={}).id


def _metrics(**changes: dict) -> dict:
    """The real evaluation report with some languages' numbers changed."""
    metrics = copy.deepcopy(REPORT)
    for language, values in changes.items():
        metrics["languages"][language].update(values)
    return metrics


def _seed_models(seeded: Seeded) -> None:
    store, models = seeded.store, seeded.root / "models"
    models.mkdir()

    def version(name: str, metrics: dict) -> ModelVersion:
        path = models / f"brobygger-{name}.tar.gz"
        path.write_bytes(b"not a real model: no engine runs in these tests")
        found = registry.register(store, path, "training", learned_examples=3)
        registry.save_evaluation(store, found.id, metrics)
        return found

    active = version("active", REPORT)
    registry.activate(store, active.id, "deployment")
    baseline = registry.get(store, active.id)
    da = REPORT["languages"]["da"]
    passing = version("passing", _metrics(da={"macro_f1": round(da["macro_f1"] + 0.004, 4)}))
    crisis = version("crisis", _metrics(so={"crisis_recall": 0.9}))
    f1_only = version("f1drop", _metrics(fa={"macro_f1": round(REPORT["languages"]["fa"]["macro_f1"] - 0.05, 4)}))
    for candidate in (passing, crisis, f1_only):
        registry.judge(store, candidate.id, baseline)
    assert registry.get(store, passing.id).gate["passed"]
    assert not registry.get(store, crisis.id).gate["crisis_ok"]
    gate = registry.get(store, f1_only.id).gate
    assert gate["crisis_ok"] and not gate["f1_ok"]
    seeded.versions = {"active": active.id, "passing": passing.id, "crisis": crisis.id, "f1": f1_only.id}

    log_path = seeded.root / "train.log"
    log_path.write_text("Starting to train component 'DIETClassifier'\nEpochs:  42%|████      | 42/100\n"
                        "seeded log line for the admin console test\n", encoding="utf-8")
    with store.session() as session:
        session.add(TrainingJob(id=uuid.uuid4().hex, state="training", stage="training DIETClassifier: epoch 42 of 100",
                                progress=0.42, log_path=str(log_path)))


def _seed_review(seeded: Seeded) -> None:
    store = seeded.store
    for number, text in enumerate(LONELY_DA):
        seeded.items[text] = _log(store, text, "da", "seek_support", 0.3, message_id=9000 + number)
    # A counsellor said what the first one meant: the group's intent select starts there.
    with store.session() as session:
        key = session.get(Understanding, seeded.items[LONELY_DA[0]]).conversation_key
    assert review.flag_message(store, key, 9000, "counsellor_corrected", "seek_support")
    for text in LONELY_SO:
        seeded.items[text] = _log(store, text, "so", "nlu_fallback", 0.45)
    for text in LONELY_AR:
        seeded.items[text] = _log(store, text, "ar", "nlu_fallback", 0.45)
    seeded.items[CONFLICT_DA] = _log(store, CONFLICT_DA, "da", "greet", 0.2)
    seeded.items[MARKUP_DA] = _log(store, MARKUP_DA, "da", "offer_details", 0.25)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("admin")
    offers = root / "offers"
    offers.mkdir()
    # A small catalogue (two offers, both last verified long ago) keeps the re-index quick.
    shutil.copy(REPO_ROOT / "knowledge" / "data" / "offers" / "sources.yml", offers / "sources.yml")
    settings = make_settings(root / "var", learned_data_dir=root / "learned", catalogue_dir=offers,
                             index_dir=root / "index", rasa_timeout_s=2.0)
    app = create_app(settings)
    server = ThreadedServer(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                                           access_log=False))
    with server.running():
        found = Seeded(app, f"http://{settings.host}:{settings.port}", settings, root)
        _seed_review(found)
        _seed_models(found)
        yield found


def _page(browser, seeded: Seeded, role: str = "admin", *, viewport=WIDE, bypass_csp: bool = False):
    """A signed-in page. Without bypass_csp the page runs under its own strict CSP; bypass_csp only lets a
    test inject axe-core."""
    name = _person(seeded.store, role)
    token, _ = login(seeded.store, name, PASSWORD)
    context = browser.new_context(viewport=viewport, base_url=seeded.url, bypass_csp=bypass_csp, locale="da-DK")
    context.add_cookies([{"name": "brobygger_session", "value": token, "url": seeded.url}])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    # A CSP refusal (inline style or script) shows up as a console error. Chromium also logs every HTTP error
    # answer as one; those the tests provoke on purpose (409, 502) and check on the page instead.
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error"
            and not message.text.startswith("Failed to load resource: the server responded") else None)
    return context, page


def _open(page, tab: str) -> None:
    page.goto(f"/admin#{tab}")
    page.wait_for_selector(f"[data-hash='{tab}'][aria-selected='true']")


def _cluster(page, item_id: int):
    """The group showing this item, by the group's own id (it stays findable once the item has gone)."""
    cluster_id = page.locator(f"article.cluster:has(li[data-item='{item_id}'])").get_attribute("data-cluster")
    return page.locator(f"article.cluster[data-cluster='{cluster_id}']")


def _sticking_out(page) -> list[str]:
    """Empty when the page does not scroll sideways; otherwise the elements reaching past the window's right
    edge (tables scroll inside their own box, so what is inside one is listed only if it escapes it)."""
    return page.evaluate("""() => {
        const root = document.documentElement;
        if (root.scrollWidth <= root.clientWidth) return [];
        const escapes = e => !e.closest('.scroll') || getComputedStyle(e).position === 'absolute';
        return [`scrollWidth ${root.scrollWidth}`].concat(Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > root.clientWidth + 0.5 && escapes(e))
            .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' +
                 Math.round(e.getBoundingClientRect().right)).slice(0, 10));
    }""")


def _image_loaded(page, selector: str) -> None:
    page.wait_for_function("s => { const i = document.querySelector(s); "
                           "return i && i.complete && i.naturalWidth > 0; }", arg=selector, timeout=30000)


def test_anonymous_people_sign_in_first_and_counsellors_get_a_403_page(browser, seeded):
    context = browser.new_context(viewport=WIDE, base_url=seeded.url)
    page = context.new_page()
    try:
        page.goto("/admin")
        assert "/console/login?next=" in page.url
        page.fill("#name", _person(seeded.store, "admin"))
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin")
        page.wait_for_selector("#tab-review[aria-selected='true']")
    finally:
        context.close()

    context, page = _page(browser, seeded, "counsellor")
    try:
        response = page.goto("/admin")
        assert response.status == 403
        assert page.locator("h1").inner_text() == "Ingen adgang"
        assert page.evaluate("document.documentElement.lang") == "da"
        assert page.locator("a[href='/console']").count() == 1
    finally:
        context.close()


def test_every_tab_passes_axe_works_by_keyboard_and_fits_320_px(browser, seeded):
    context, page = _page(browser, seeded, bypass_csp=True)
    try:
        _open(page, "gennemgang")
        page.wait_for_selector("article.cluster")
        page.screenshot(path=artifact("admin", "review.png"), full_page=True)
        assert axe_violations(page) == []

        page.focus("#tab-review")
        page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.id") == "tab-models"
        page.wait_for_selector("#versions tbody tr")
        _image_loaded(page, "#history-plot")
        page.click(f"[data-open-version='{seeded.versions['crisis']}']")
        for language in REPORT["languages"]:
            _image_loaded(page, f"#confusions img[data-language='{language}']")
        page.screenshot(path=artifact("admin", "models.png"), full_page=True)
        assert axe_violations(page) == []

        page.focus("#tab-models")
        page.keyboard.press("End")
        assert page.evaluate("document.activeElement.id") == "tab-catalogue"
        assert page.locator("#panel-models").is_hidden()
        page.wait_for_selector("#stale tbody tr")
        page.screenshot(path=artifact("admin", "catalogue.png"), full_page=True)
        assert axe_violations(page) == []

        page.set_viewport_size({"width": 320, "height": 800})
        for tab, name in (("gennemgang", "review"), ("modeller", "models"), ("katalog", "catalogue")):
            _open(page, tab)
            page.wait_for_load_state("networkidle")
            assert _sticking_out(page) == [], f"{tab} scrolls sideways at 320 px"
            page.screenshot(path=artifact("admin", f"{name}-320.png"), full_page=True)
    finally:
        context.close()
    assert not page.errors, page.errors


def test_review_label_a_group_exclude_one_noise_redact_and_see_a_refusal(browser, seeded):
    learned = seeded.settings.learned_data_dir / "da.yml"
    context, page = _page(browser, seeded)
    try:
        _open(page, "gennemgang")
        page.wait_for_selector("article.cluster")
        counts = page.locator("#review-counts tr[data-language='da']")
        assert counts.locator("[data-reason='open']").inner_text() == str(len(LONELY_DA) + 2)
        assert counts.locator("[data-reason='counsellor_corrected']").inner_text() == "1"

        # Citizens' text is text: markup stays visible characters, never elements.
        markup = page.locator(f"li[data-item='{seeded.items[MARKUP_DA]}'] .text")
        assert markup.inner_text() == MARKUP_DA
        assert page.locator("#clusters b, #clusters img").count() == 0
        arabic = page.locator(f"li[data-item='{seeded.items[LONELY_AR[0]]}'] .text")
        assert arabic.get_attribute("dir") == "auto"
        assert arabic.evaluate("e => getComputedStyle(e).direction") == "rtl"

        # Label the Danish group, leaving one message out.
        group = _cluster(page, seeded.items[LONELY_DA[0]])
        assert group.locator("li[data-item]").count() == len(LONELY_DA)
        assert group.locator("select.intent").input_value() == "seek_support"  # the counsellor's suggestion
        assert group.locator("select.language").input_value() == "da"
        assert "seek_support" in group.locator(f"li[data-item='{seeded.items[LONELY_DA[0]]}'] .meta").inner_text()
        left_out = seeded.items[LONELY_DA[-1]]
        group.locator(f"li[data-item='{left_out}'] input[type=checkbox]").uncheck()
        group.locator("button.label-all").click()
        expect(group.locator("li[data-item]")).to_have_count(1)
        assert group.locator(f"li[data-item='{left_out}']").count() == 1
        written = yaml.safe_load(learned.read_text("utf-8"))
        examples = {line[2:] for block in written["nlu"] if block["intent"] == "seek_support"
                    for line in block["examples"].splitlines()}
        assert examples == set(LONELY_DA[:-1])
        assert seeded.item(seeded.items[LONELY_DA[0]]).status == LABELLED
        assert seeded.item(left_out).status == OPEN

        # The one left out is noise: the group is done and leaves the page.
        group.locator(f"li[data-item='{left_out}'] input[type=checkbox]").check()
        expect(group.locator("button.noise")).to_have_text("Støj (1)")
        group.locator("button.noise").click()
        page.wait_for_selector(f"li[data-item='{left_out}']", state="detached")
        assert group.count() == 0
        assert seeded.item(left_out).status == NOISE
        assert LONELY_DA[-1] not in learned.read_text("utf-8")

        # A whole group as noise.
        somali = seeded.items[LONELY_SO[0]]
        assert _cluster(page, somali).locator("li[data-item]").count() == len(LONELY_SO)
        somali_group = _cluster(page, somali)
        somali_group.locator("button.noise").click()
        expect(somali_group).to_have_count(0)
        assert all(seeded.item(seeded.items[text]).status == NOISE for text in LONELY_SO)
        page.wait_for_selector("#review-counts tr[data-language='so']", state="detached")

        # A refusal: "hej" is greet in the training data.
        hello = seeded.items[CONFLICT_DA]
        _cluster(page, hello).locator("select.intent").select_option("seek_support")
        _cluster(page, hello).locator("button.label-all").click()
        refusal = page.locator(f"li[data-item='{hello}'] .refusal")
        refusal.wait_for()
        assert "conflicts with the training data, where it is greet" in refusal.inner_text()
        assert seeded.item(hello).status == OPEN
        assert "hej" not in {line.strip("- ") for line in learned.read_text("utf-8").splitlines()}

        # Redact an Arabic message inline.
        redacted = "أشعر بالوحدة [اسم]"
        row = page.locator(f"li[data-item='{seeded.items[LONELY_AR[0]]}']")
        row.get_by_role("button", name="Rediger tekst").click()
        row.locator("textarea").fill(redacted)
        row.get_by_role("button", name="Gem").click()
        expect(row.locator(".text")).to_have_text(redacted)
        stored = seeded.item(seeded.items[LONELY_AR[0]])
        assert stored.text == redacted and stored.redacted
        assert "redigeret" in row.locator(".meta").inner_text()

        page.reload()  # what the server now says: the done groups stay gone, the refusal is remembered
        page.wait_for_selector("article.cluster")
        assert page.locator(f"li[data-item='{left_out}'], li[data-item='{somali}']").count() == 0
        assert "conflicts with the training data" in page.locator(f"li[data-item='{hello}'] .refusal").inner_text()
        assert page.locator(f"li[data-item='{seeded.items[LONELY_AR[0]]}'] .text").inner_text() == redacted
    finally:
        context.close()
    assert not page.errors, page.errors


def test_models_job_progress_gate_verdicts_and_refusals_shown_plainly(browser, seeded):
    versions = seeded.versions
    context, page = _page(browser, seeded)
    try:
        _open(page, "modeller")
        page.wait_for_selector("#job:not([hidden])")
        assert page.locator("#job-progress").evaluate("e => e.value") == pytest.approx(0.42)
        assert "epoch 42 of 100" in page.locator("#job-stage").inner_text()
        assert "træner" in page.locator("#job-title").inner_text()
        assert page.locator("#train").is_disabled(), "one training job at a time"
        page.click("#job-log-box summary")
        assert "seeded log line" in page.locator("#job-log").inner_text()

        page.wait_for_selector(f"#versions tr[data-version='{versions['f1']}']")
        gate = {name: page.locator(f"#versions tr[data-version='{vid}'] .gate-word").inner_text()
                for name, vid in versions.items()}
        assert gate == {"active": "–", "passing": "Bestået", "crisis": "Afvist: krise", "f1": "Afvist: F1"}
        assert "crisis recall 0.90" in page.locator(f"#versions tr[data-version='{versions['crisis']}']").inner_text()
        da_f1 = page.locator(f"#versions tr[data-version='{versions['active']}'] td[data-language='da']").inner_text()
        assert f"{REPORT['languages']['da']['macro_f1']:.3f}".replace(".", ",") in da_f1
        _image_loaded(page, "#history-plot")

        # The candidate that would miss crisis messages: no button, and why.
        page.click(f"[data-open-version='{versions['crisis']}']")
        assert page.locator("#promote").is_disabled()
        assert page.locator("#override-box").is_hidden()
        assert "krisereglen kan ingen tilsidesætte" in page.locator("#promote-explain").inner_text()
        assert page.locator("#gate tr[data-language='so'] td").last.inner_text() == "afvist"
        _image_loaded(page, "#confusions img[data-language='so']")
        assert page.locator("#confusions img").count() == len(REPORT["languages"])

        # Only F1 fell: promotable with a written reason.
        page.click(f"[data-open-version='{versions['f1']}']")
        assert page.locator("#override-box").is_visible() and page.locator("#promote").is_disabled()
        farsi = page.locator("#gate tr[data-language='fa'] td")
        assert farsi.nth(2).inner_text() == "0,0500" and farsi.nth(3).inner_text() == "afvist"
        page.fill("#override-reason", "Testsættet for farsi er rettet i denne version.")
        assert page.locator("#promote").is_enabled()

        # The passing candidate: the engine is down, and the API's 502 is shown as it is.
        page.click(f"[data-open-version='{versions['passing']}']")
        assert page.locator("#promote").is_enabled()
        page.click("#promote")
        message = page.locator("#promote-message.bad")
        message.wait_for()
        assert "HTTP 502" in message.inner_text()
        assert "the engine did not load brobygger-passing" in message.inner_text()
        assert registry.active(seeded.store).id == versions["active"]

        # Roll back: a confirm step, then the API's 409 (nothing earlier to go back to).
        page.click("#rollback")
        assert page.locator("#rollback-confirm").is_visible()
        assert page.evaluate("document.activeElement.id") == "rollback-yes"
        page.click("#rollback-no")
        assert page.locator("#rollback-confirm").is_hidden()
        page.click("#rollback")
        page.click("#rollback-yes")
        page.wait_for_selector("#models-message.bad")
        text = page.locator("#models-message").inner_text()
        assert "HTTP 409" in text and "no earlier model to roll back to" in text
        assert registry.active(seeded.store).id == versions["active"]
    finally:
        context.close()
    assert not page.errors, page.errors


def test_catalogue_stale_report_import_report_and_reindex(browser, seeded):
    target = Path(seeded.settings.catalogue_dir) / "imported.yml"
    context, page = _page(browser, seeded)
    try:
        _open(page, "katalog")
        page.wait_for_selector("#stale tbody tr")
        ids = page.locator("#stale tbody tr").evaluate_all("rows => rows.map(r => r.dataset.offer)")
        assert "folkesundhed-aarhus-globus1-gellerup" in ids and len(ids) == 2
        assert page.locator("#stale-summary").inner_text().startswith("2 af 2 tilbud")
        page.fill("#stale-days", "36500")
        page.click("#stale-form button[type=submit]")
        expect(page.locator("#stale-summary")).to_have_text(re.compile("^0 af 2 tilbud"))

        # A dry run of a CSV with one bad row: the row's problem, and nothing written.
        page.set_input_files("#import-file", files=[{"name": "tilbud.csv", "mimeType": "text/csv",
                                                     "buffer": (CSV_HEADER + GOOD_ROW + BAD_ROW).encode()}])
        assert page.locator("#import-format").input_value() == "csv"
        page.click("#import-check")
        page.wait_for_selector("#problems tbody tr")
        problem = page.locator("#problems tbody tr").first.inner_text()
        assert "row 3" in problem and "topics" in problem and "flyvende_tallerkener" in problem
        assert "intet er skrevet" in page.locator("#import-summary").inner_text()
        assert not target.exists()

        # The good row alone: checked, then imported into the catalogue copy.
        page.set_input_files("#import-file", files=[{"name": "tilbud.csv", "mimeType": "text/csv",
                                                     "buffer": (CSV_HEADER + GOOD_ROW).encode()}])
        page.click("#import-check")
        expect(page.locator("#import-summary")).to_have_text(re.compile("^Filen er gyldig"))
        assert page.locator("#problems-box").is_hidden()
        assert not target.exists()
        page.click("#import-apply")
        expect(page.locator("#import-summary")).to_have_text(re.compile("^Importeret"))
        assert "test-laesegruppe" in target.read_text("utf-8")

        # Re-index: progress until the app serves the three offers.
        page.click("#reindex")
        page.wait_for_selector("#reindex-job[data-state='done']", timeout=180000)
        assert "serving 3 offers" in page.locator("#reindex-stage").inner_text()
        assert page.locator("#reindex-progress").evaluate("e => e.value") == 1
        assert len(seeded.app.state.services.catalogue) == 3
        assert (Path(seeded.settings.index_dir)).exists()
    finally:
        context.close()
    assert not page.errors, page.errors
