"""The citizen's web chat page and the embeddable widget in real headless Chromium, against the real
stack (Rasa with the trained model + the app). Screenshots go to test-artifacts/webchat/."""

import http.server
import threading
import uuid
from functools import partial

import pytest
import yaml
from sqlalchemy import select

from bot.conversations import service
from bot.conversations.models import Conversation
from bot.i18n.bidi import LRM, RLM
from bot.settings import REPO_ROOT
from tests.browser import artifact, axe_violations

pytestmark = pytest.mark.slow

LANGUAGES = ["da", "ar", "so", "tr", "fa"]
RTL = {"ar", "fa"}
SCRIPTS = {s["language"]: s for s in yaml.safe_load(
    (REPO_ROOT / "tests" / "data" / "dialogue" / "scripts.yml").read_text("utf-8"))["scripts"]
    if s["name"] == "greeting first"}
# The scripts' greetings vary ("hej hej" is also how Danes say goodbye); the page tests greet plainly.
GREETING = {"da": "hej", "ar": "مرحبا", "so": "see tahay", "tr": "selam", "fa": "سلام"}
PHONE = {"width": 360, "height": 740}


def plain(text: str) -> str:
    return " ".join(text.replace(LRM, "").replace(RLM, "").split())


@pytest.fixture
def page(browser, live):
    context = browser.new_context(viewport=PHONE, base_url=live.url, locale="da-DK")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield page
    context.close()
    assert not errors, f"the page logged errors: {errors}"


def bot_texts(page) -> list[str]:
    return [plain(t) for t in page.locator("#log .msg.bot p").all_text_contents()]


def say(page, text: str, *, enter: bool = False) -> None:
    """Type like a citizen and wait for the whole answer (typing indicator gone)."""
    before = page.locator("#log .msg").count()
    page.fill("#input", text)
    if enter:
        page.press("#input", "Enter")
    else:
        page.click("#send")
    page.wait_for_function("n => document.querySelectorAll('#log .msg').length > n + 1", arg=before, timeout=60000)
    page.wait_for_selector("#typing", state="hidden", timeout=60000)


def rendered(live, key: str, language: str, **args) -> str:
    return plain(live.services.renderer.render(key, language, args).text)


def conversation_id(page) -> str:
    return page.evaluate("localStorage.getItem('brobygger.conversation')")


def stored(live, external_id: str) -> Conversation:
    with live.services.store.session() as session:
        return session.scalar(select(Conversation).where(Conversation.channel == "webchat",
                                                         Conversation.external_id == external_id))


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_whole_conversation_in_the_language_with_offer_cards_that_survive_a_reload(page, live, language):
    script = SCRIPTS[language]
    page.goto(f"/?lang={language}")
    direction = "rtl" if language in RTL else "ltr"
    assert page.evaluate("document.documentElement.lang") == language
    assert page.evaluate("getComputedStyle(document.body).direction") == direction
    assert page.locator(f"#languages [data-language={language}]").get_attribute("aria-pressed") == "true"
    assert plain(page.locator("#send").inner_text()) == plain(live.services.renderer.text("web_send", language))

    _, need, place = script["turns"]
    say(page, GREETING[language], enter=True)
    assert rendered(live, "welcome", language) in bot_texts(page)
    assert page.evaluate("document.activeElement.id") == "input", "focus stays in the text box after sending"
    bubble = page.locator("#log .msg.bot").first
    assert bubble.evaluate("e => getComputedStyle(e).direction") == direction
    say(page, need)
    say(page, place)

    cards = page.locator("#log .msg.bot .card")
    assert cards.count() >= 1, bot_texts(page)
    titles = [plain(t) for t in cards.locator("h3").all_text_contents()]
    assert titles[0].startswith("1. ")
    calls = cards.locator("a.call")
    for href in calls.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        assert href.startswith("tel:") and href[4:].lstrip("+").isdigit(), href
    for href in cards.locator("a[target=_blank]").evaluate_all("links => links.map(a => a.href)"):
        assert href.startswith(("https://", "http://")), href
    assert calls.count() + cards.locator("a").count() >= 1, "every card offers a way to reach the offer"
    page.screenshot(path=artifact("webchat", f"{language}.png"), full_page=True)

    messages_before = page.locator("#log .msg").count()
    cid = conversation_id(page)
    page.reload()
    page.wait_for_function("n => document.querySelectorAll('#log .msg').length === n", arg=messages_before)
    assert conversation_id(page) == cid
    assert [plain(t) for t in page.locator("#log .card h3").all_text_contents()] == titles
    assert stored(live, cid).language == language


@pytest.mark.parametrize("language", ["so", "fa"])
def test_a_counsellor_message_arrives_live_without_reload(page, live, language):
    page.goto(f"/?lang={language}")
    say(page, GREETING[language])
    conversation = stored(live, conversation_id(page))
    page.wait_for_timeout(300)  # the stream opens after the first reply
    text = {"so": "Salaan, waxaan ahay la-taliye. Sideen kuu caawin karaa?",
            "fa": "سلام، من مشاور هستم. چطور می‌توانم کمکتان کنم؟"}[language]
    # What the counsellor console does when a counsellor answers: store the message (from another thread).
    service.add_message(live.services.store, conversation.id, "out", "counsellor", text, language, "sent")
    counsellor = page.locator("#log .msg.counsellor")
    counsellor.wait_for(timeout=5000)
    assert plain(counsellor.locator("p").inner_text()) == plain(text)
    assert plain(counsellor.locator(".who").inner_text()) == plain(live.services.renderer.text("web_counsellor",
                                                                                              language))


def test_without_event_streams_the_page_polls_for_later_messages(browser, live):
    context = browser.new_context(viewport=PHONE, base_url=live.url)
    context.add_init_script("delete window.EventSource")
    page = context.new_page()
    try:
        page.goto("/?lang=tr")
        say(page, "merhaba")
        conversation = stored(live, conversation_id(page))
        service.add_message(live.services.store, conversation.id, "out", "counsellor", "Merhaba, ben danışmanım.",
                            "tr", "sent")
        page.locator("#log .msg.counsellor").wait_for(timeout=12000)
        assert page.locator("#log .msg.counsellor").count() == 1
    finally:
        context.close()


def test_talk_to_a_person_is_one_tap_and_queues_the_conversation(page, live):
    page.goto("/?lang=so")
    page.click("#human")
    page.wait_for_selector("#typing", state="hidden")
    page.wait_for_function("() => document.querySelectorAll('#log .msg.bot').length >= 1")
    assert rendered(live, "human_handoff", "so") in bot_texts(page)
    assert stored(live, conversation_id(page)).state == "queued"


def test_citizen_text_is_shown_as_text_never_as_html(page, live):
    page.goto("/?lang=da")
    attack = '<img src=x onerror="window.__pwned=1"><b>fed</b> 😀 مرحبا'
    say(page, attack)
    mine = page.locator("#log .msg.citizen p").first
    assert mine.inner_text() == attack
    assert page.locator("#log img, #log b").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_a_message_that_cannot_be_sent_is_kept_and_sent_on_retry(browser, live):
    context = browser.new_context(viewport=PHONE, base_url=live.url)
    page = context.new_page()
    try:
        _send_fails_then_retry(page)
    finally:
        context.close()


def _send_fails_then_retry(page):
    page.goto("/?lang=ar")
    page.route("**/api/webchat/messages", lambda route: route.abort() if route.request.method == "POST"
               else route.continue_())
    page.fill("#input", "مرحبا")
    page.click("#send")
    page.locator("#error").wait_for()
    assert page.input_value("#input") == "مرحبا"
    assert page.locator("#log .msg").count() == 0
    page.unroute("**/api/webchat/messages")
    page.click("#retry")
    page.wait_for_function("() => document.querySelectorAll('#log .msg.bot').length >= 1", timeout=60000)
    assert page.locator("#error").is_hidden()
    assert page.locator("#log .msg.citizen").count() == 1
    assert page.input_value("#input") == ""


def test_choosing_a_language_switches_the_page_and_the_next_reply(page, live):
    page.goto("/")
    assert page.evaluate("document.documentElement.lang") == "da"  # the browser asks for Danish
    page.click("#languages [data-language=fa]")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert plain(page.locator("#human").inner_text()) == plain(live.services.renderer.text("web_talk_to_person", "fa"))
    say(page, "hello")
    assert stored(live, conversation_id(page)).language == "fa"
    assert rendered(live, "welcome", "fa") in bot_texts(page)


def test_quick_replies_are_buttons_that_answer(page, live):
    page.goto("/?lang=da")
    say(page, "qwpoeiruty zxmcnbv")  # not understood: the two likeliest meanings come as buttons
    buttons = page.locator("#quick button")
    assert buttons.count() >= 1
    before = page.locator("#log .msg").count()
    label = buttons.first.inner_text()
    buttons.first.click()
    page.wait_for_function("n => document.querySelectorAll('#log .msg').length > n + 1", arg=before, timeout=60000)
    assert plain(page.locator("#log .msg.citizen p").last.inner_text()) == plain(label)


def test_keyboard_only(page, live):
    page.goto("/?lang=da")
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.dataset.language || ''"))
    assert "human" in reached and "da" in reached and "input" in reached and "send" in reached, reached
    page.focus("#input")
    page.keyboard.type("hej")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#log .msg.bot').length >= 1", timeout=60000)
    assert page.evaluate("document.activeElement.id") == "input"


@pytest.mark.parametrize("width", [320, 640])  # 640 CSS px is a 1280 px screen at 200 % zoom
def test_narrow_screens_and_zoom_need_no_sideways_scrolling(browser, live, width):
    context = browser.new_context(viewport={"width": width, "height": 568}, base_url=live.url)
    page = context.new_page()
    try:
        page.goto("/?lang=ar")
        for turn in SCRIPTS["ar"]["turns"]:
            say(page, turn)
        assert page.locator("#log .card").count() >= 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.locator("#input").is_visible() and page.locator("#human").is_visible()
        page.screenshot(path=artifact("webchat", f"ar-{width}px.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("language", ["da", "fa"])
def test_axe_finds_no_serious_or_critical_violations(browser, live, language):
    context = browser.new_context(viewport=PHONE, base_url=live.url, bypass_csp=True)  # to inject axe
    page = context.new_page()
    try:
        page.goto(f"/?lang={language}")
        assert axe_violations(page) == []
        for turn in SCRIPTS[language]["turns"]:
            say(page, turn)
        page.wait_for_selector("#log .card")
        assert axe_violations(page) == []
    finally:
        context.close()


def test_the_page_loads_nothing_from_elsewhere_and_stays_small(browser, live):
    context = browser.new_context(viewport=PHONE, base_url=live.url)
    page = context.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto("/?lang=so")
        page.wait_for_load_state("networkidle")
        assert requested and all(url.startswith(live.url) for url in requested), requested
        transferred = page.evaluate("""() => performance.getEntriesByType('navigation')
            .concat(performance.getEntriesByType('resource')).reduce((sum, e) => sum + e.transferSize, 0)""")
        assert 0 < transferred < 100_000
    finally:
        context.close()


@pytest.fixture
def host_page(live, tmp_path):
    """Someone else's website (another origin) that embeds the widget."""
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Kommune</title></head><body>'
        '<h1>Sundhed i kommunen</h1>'
        f'<script src="{live.url}/widget.js" data-lang="so" defer></script></body></html>', "utf-8")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_the_widget_opens_the_chat_on_another_site(browser, live, host_page):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(host_page)
        opener = page.locator("button[data-brobygger=open]")
        assert plain(opener.inner_text()) == plain(live.services.renderer.text("web_open_chat", "so"))
        opener.click()
        frame = page.frame_locator("iframe[data-brobygger=chat]")
        frame.locator("#input").fill("see tahay")
        frame.locator("#send").click()
        frame.locator("#log .msg.bot").first.wait_for(timeout=60000)
        assert rendered(live, "welcome", "so") in [plain(t) for t in frame.locator("#log .msg.bot p")
                                                   .all_text_contents()]
        page.screenshot(path=artifact("webchat", "widget-so.png"))
        frame.locator("#close").click()  # the frame asks its host page to close it (postMessage)
        page.locator("iframe[data-brobygger=chat]").wait_for(state="hidden", timeout=5000)
        assert opener.get_attribute("aria-expanded") == "false"
        assert page.evaluate("document.activeElement.getAttribute('data-brobygger')") == "open"
        opener.click()
        frame.locator("#input").wait_for()
        page.keyboard.press("Escape")
        page.locator("iframe[data-brobygger=chat]").wait_for(state="hidden", timeout=5000)
    finally:
        context.close()


def test_unknown_conversations_and_short_ids_are_not_readable(live):
    assert live.http.get("/api/webchat/messages", params={"conversation_id": uuid.uuid4().hex}).status_code == 404
    assert live.http.get("/api/webchat/messages", params={"conversation_id": "e2e-1"}).status_code == 422
