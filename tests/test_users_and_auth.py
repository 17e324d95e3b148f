import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.users.models import User
from bot.users.service import UserError, add_user, hash_token, user_for_token

BROBYGGER = str(Path(sys.executable).parent / "brobygger")


def test_users_add_prints_the_token_last_and_stores_only_its_hash(tmp_path):
    env = dict(os.environ, BROBYGGER_VAR_DIR=str(tmp_path))
    result = subprocess.run([BROBYGGER, "users", "add", "Amina", "--role", "counsellor", "--languages", "so,ar"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert len(token) >= 40

    from bot.store.db import Store

    store = Store(f"sqlite:///{tmp_path / 'brobygger.db'}")
    user = user_for_token(store, token)
    assert (user.name, user.role, user.language_list) == ("Amina", "counsellor", ["so", "ar"])
    with store.session() as session:
        stored = session.query(User).one()
        assert stored.token_hash == hash_token(token) and token not in stored.token_hash


def test_users_add_refuses_bad_roles_clearly(tmp_path):
    env = dict(os.environ, BROBYGGER_VAR_DIR=str(tmp_path))
    result = subprocess.run([BROBYGGER, "users", "add", "X", "--role", "boss"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unknown role" in result.stderr


def test_add_user_validation(client):
    store = client.app.state.services.store
    add_user(store, "Lars", "admin", [])
    with pytest.raises(UserError, match="exists already"):
        add_user(store, "Lars", "admin", [])
    with pytest.raises(UserError, match="unknown language"):
        add_user(store, "Sara", "counsellor", ["de"])
    with pytest.raises(UserError, match="must not be empty"):
        add_user(store, "  ", "counsellor", [])


def test_admin_routes_need_an_admin_token(client):
    store = client.app.state.services.store
    _, counsellor = add_user(store, "Cem", "counsellor", ["tr"])
    _, admin = add_user(store, "Ida", "admin", [])
    body = {"text": "hej"}

    assert client.post("/api/nlu/parse", json=body).status_code == 401
    wrong = client.post("/api/nlu/parse", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    forbidden = client.post("/api/nlu/parse", json=body, headers={"Authorization": f"Bearer {counsellor}"})
    assert forbidden.status_code == 403
    # The admin gets past auth; the engine is down in this fixture, which is a 503, not a 500.
    allowed = client.post("/api/nlu/parse", json=body, headers={"Authorization": f"Bearer {admin}"})
    assert allowed.status_code == 503


def test_action_endpoint_needs_the_shared_token(client):
    call = {"next_action": "action_search_offers", "sender_id": "c1",
            "tracker": {"sender_id": "c1", "slots": {}, "latest_message": {"text": "hej"}}}
    assert client.post("/rasa/actions", json=call).status_code == 401
    assert client.post("/rasa/actions", json=call, headers={"X-Action-Token": "wrong"}).status_code == 401


def test_action_endpoint_rejects_unknown_actions_and_conversations_in_rasas_format(client):
    headers = {"X-Action-Token": client.app.state.services.settings.action_token}
    call = {"next_action": "action_launch_rockets", "sender_id": "c1",
            "tracker": {"sender_id": "c1", "latest_message": {"text": "hej"}}}
    response = client.post("/rasa/actions", json=call, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"action_name": "action_launch_rockets", "error": "unknown action"}

    call["next_action"] = "action_search_offers"
    call["sender_id"] = call["tracker"]["sender_id"] = "c424242"
    response = client.post("/rasa/actions", json=call, headers=headers)
    assert response.status_code == 400 and response.json()["error"] == "unknown conversation"


def test_users_password_sets_the_console_password_from_stdin(tmp_path):
    from bot.store.db import Store
    from bot.users.sessions import LoginRefused, login

    env = dict(os.environ, BROBYGGER_VAR_DIR=str(tmp_path))
    subprocess.run([BROBYGGER, "users", "add", "Sara", "--role", "counsellor"], env=env, check=True,
                   capture_output=True, timeout=60)
    short = subprocess.run([BROBYGGER, "users", "password", "Sara", "--stdin"], input="kort\n", env=env,
                           capture_output=True, text=True, timeout=60)
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    done = subprocess.run([BROBYGGER, "users", "password", "Sara", "--stdin"], input="lang-nok-kode-1\n", env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    store = Store(f"sqlite:///{tmp_path / 'brobygger.db'}")
    _, signed = login(store, "Sara", "lang-nok-kode-1")
    assert signed.user.name == "Sara"
    with pytest.raises(LoginRefused):
        login(store, "Sara", "kort")
