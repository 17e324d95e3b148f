"""The counsellor console: signing in (Argon2 passwords, lockout, CSRF, logout) through the real app,
and the console driven in real Chromium against the real stack (claim, reply, note, resolve)."""

import re
import uuid

import pytest
from fastapi.testclient import TestClient

from bot.conversations import service
from bot.i18n.bidi import LRM, RLM
from bot.users.models import Password
from bot.users.service import add_user
from bot.users.sessions import MAX_FAILURES, set_password
from tests.browser import artifact, axe_violations

PASSWORD = "korrekt-hest-batteri-9"


def person(store, role: str = "counsellor", languages=("so",)) -> str:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    add_user(store, name, role, list(languages))
    set_password(store, name, PASSWORD)
    return name


def sign_in(client: TestClient, name: str, password: str = PASSWORD):
    form = client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    return client.post("/console/login", data={"name": name, "password": password, "csrf": csrf},
                       follow_redirects=False)


def page_csrf(client: TestClient) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/console").text).group(1)


def test_sign_in_with_a_password_then_the_console_and_the_api_by_cookie(client):
    store = client.app.state.services.store
    name = person(store)
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/login"
    signed = sign_in(client, name)
    assert signed.status_code == 303 and signed.headers["location"] == "/console"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get("/console")
    assert page.status_code == 200 and name in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/api/counsellor/conversations").status_code == 200  # the cookie is enough to read
    with store.session() as session:
        assert all(p.hash.startswith("$argon2id$") for p in session.query(Password))


def test_state_changes_by_cookie_need_the_pages_csrf_token(client):
    store = client.app.state.services.store
    name = person(store)
    sign_in(client, name)
    conversation = service.get_or_create(store, "webchat", uuid.uuid4().hex, "so")
    service.escalate(store, conversation.id, "normal", "request_human")
    path = f"/api/counsellor/conversations/{conversation.id}/claim"
    assert client.post(path).status_code == 403
    assert client.post(path, headers={"X-CSRF-Token": "guess"}).status_code == 403
    assert client.post(path, headers={"X-CSRF-Token": page_csrf(client)}).status_code == 200


def test_a_login_form_without_its_token_is_refused(client):
    name = person(client.app.state.services.store)
    response = client.post("/console/login", data={"name": name, "password": PASSWORD, "csrf": "x"})
    assert response.status_code == 403
    assert "brobygger_session" not in response.headers.get("set-cookie", "")


def test_wrong_passwords_lock_the_account_without_saying_whether_the_name_exists(client):
    name = person(client.app.state.services.store)
    unknown = sign_in(client, "nobody-" + uuid.uuid4().hex[:6], "whatever-123")
    wrong = sign_in(client, name, "wrong-password-1")
    assert unknown.status_code == wrong.status_code == 401
    assert "Forkert navn eller adgangskode" in unknown.text and "Forkert navn eller adgangskode" in wrong.text
    for _ in range(MAX_FAILURES - 2):
        assert sign_in(client, name, "wrong-password-1").status_code == 401
    locked = sign_in(client, name, "wrong-password-1")
    assert locked.status_code == 429
    assert sign_in(client, name).status_code == 429  # even the right password, until the lock ends


def test_logout_ends_the_session(client):
    name = person(client.app.state.services.store)
    sign_in(client, name)
    csrf = page_csrf(client)
    cookie = client.cookies.get("brobygger_session")
    assert client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("brobygger_session", cookie)  # a copy kept by someone else opens nothing either
    assert client.get("/api/counsellor/conversations").status_code == 401


def test_short_passwords_are_refused(client):
    from bot.users.service import UserError

    store = client.app.state.services.store
    add_user(store, "kort", "counsellor", [])
    with pytest.raises(UserError):
        set_password(store, "kort", "kort")


@pytest.mark.slow
def test_the_console_in_chromium_claim_reply_note_and_resolve(browser, live):
    store = live.services.store
    name = person(store, languages=("so",))
    cid = uuid.uuid4().hex
    live.http.post("/api/webchat/messages", json={"conversation_id": cid, "text": "QOF", "language": "so"})
    conversation_id = service.find(store, "webchat", cid).id
    hit = uuid.uuid4().hex  # a crisis waiting too: its row says what kind
    live.http.post("/api/webchat/messages", json={"conversation_id": hit, "language": "so",
                                                  "text": "ninkayga ayaa hadda i garaacaya, caawa wuu i dilayaa"})
    hit_id = service.find(store, "webchat", hit).id

    # bypass_csp only lets the test inject axe-core; the page itself runs under its policy elsewhere.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live.url, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/console")
        page.fill("#name", name)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console")
        urgent_row = page.locator(f"tr:has([data-open='{hit_id}'])")
        urgent_row.wait_for()
        assert urgent_row.locator("td").first.inner_text().split() == ["AKUT", "vold"]
        page.click(f"[data-open='{conversation_id}']")
        page.wait_for_selector("#transcript li.citizen")
        # Opening a conversation may scroll the queue sideways; the priority column stays in view.
        queue_box, priority_box = page.locator(".queue").bounding_box(), urgent_row.locator("td").first.bounding_box()
        assert priority_box["x"] >= queue_box["x"] - 1
        assert "QOF" in page.locator("#transcript li.citizen").first.inner_text()
        page.click("#claim")
        page.wait_for_function("() => !document.getElementById('reply').disabled")
        page.locator("#canned button").first.wait_for()
        page.locator("#canned button").first.click()
        assert name in page.input_value("#reply")  # the canned answer names the counsellor
        page.fill("#reply", "Salaan, waxaan ahay la-taliye. <b>Sideen</b> kuu caawin karaa?")
        page.click("#reply-form button[type=submit]")
        page.wait_for_selector("#transcript li.counsellor")
        assert page.locator("#transcript b").count() == 0  # shown as text
        page.fill("#note", "Borgeren har gæld; henvis til gældsrådgivning.")
        page.click("#note-form button[type=submit]")
        page.wait_for_selector("#notes li")
        page.screenshot(path=artifact("console", "conversation.png"), full_page=True)
        assert axe_violations(page) == []
        citizen_view = live.http.get("/api/webchat/messages", params={"conversation_id": cid}).json()["messages"]
        assert citizen_view[-1]["author"] == "counsellor"
        assert "<b>Sideen</b>" in citizen_view[-1]["text"]
        assert all("gæld" not in m["text"] for m in citizen_view)  # notes stay internal
        page.click("#close")
        page.wait_for_function("() => document.getElementById('conversation-meta').textContent.includes('Afsluttet')")
        page.screenshot(path=artifact("console", "resolved.png"), full_page=True)
        assert service.find(store, "webchat", cid).state == "closed"
        closed = live.http.get("/api/webchat/messages", params={"conversation_id": cid}).json()["messages"][-1]
        assert closed["text"].replace(LRM, "").replace(RLM, "") == live.services.renderer.text(
            "conversation_closed", "so")
    finally:
        context.close()
    assert not errors, errors


def test_the_audit_log_shows_who_opened_which_conversation_to_admins_only(client):
    store = client.app.state.services.store
    _, counsellor_token = add_user(store, "Hodan-audit", "counsellor", ["so"])
    _, admin_token = add_user(store, "Admin-audit", "admin", [])
    conversation = service.get_or_create(store, "webchat", uuid.uuid4().hex, "so")
    service.escalate(store, conversation.id, "normal", "request_human")
    as_counsellor = {"Authorization": f"Bearer {counsellor_token}"}
    assert client.get(f"/api/counsellor/conversations/{conversation.id}/messages",
                      headers=as_counsellor).status_code == 200
    assert client.post(f"/api/counsellor/conversations/{conversation.id}/claim",
                       headers=as_counsellor).status_code == 200
    assert client.get("/api/admin/audit", headers=as_counsellor).status_code == 403
    assert client.get("/api/admin/audit").status_code == 401
    entries = client.get("/api/admin/audit", params={"conversation_id": conversation.id},
                         headers={"Authorization": f"Bearer {admin_token}"}).json()
    assert [(e["user"], e["action"]) for e in entries] == [("Hodan-audit", "claim"), ("Hodan-audit", "open")]
