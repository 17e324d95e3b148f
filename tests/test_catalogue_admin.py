"""The administrators' catalogue API: stale report, import with its validation report, re-index jobs."""

import json
import shutil
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bot.app import create_app
from bot.cli import app as cli
from bot.settings import REPO_ROOT
from bot.users.auth import CSRF_HEADER, SESSION_COOKIE
from bot.users.service import add_user
from bot.users.sessions import login, set_password
from knowledge.admin.jobs import TakingTurns
from knowledge.admin.router import IMPORT_MAX_BODY_BYTES
from knowledge.catalogue import Catalogue, Offer, dump_offers
from knowledge.csv_import import offers_to_csv
from knowledge.hsds import export_catalogue, shared_dir
from tests.conftest import make_settings
from tests.test_catalogue import GOOD, csv_text, entry

BUNDLED = REPO_ROOT / "knowledge" / "data" / "offers"
IMPORT = "/api/admin/catalogue/import"
STALE = "/api/admin/catalogue/stale"
REBUILD = "/api/admin/index/rebuild"
NEW_ID = GOOD[0]  # "mandefaellesskab-odense": in the CSV row, not in the bundled catalogue
REPORT_KEYS = {"valid", "offers", "added", "replaced", "written", "target", "problems"}


def admin_client(tmp_path: Path, catalogue_dir: Path) -> TestClient:
    """An app over its own catalogue folder and its own index folder (never the repository's)."""
    settings = make_settings(tmp_path / "var", rasa_timeout_s=2.0, catalogue_dir=catalogue_dir,
                             index_dir=tmp_path / "index")
    return TestClient(create_app(settings))


def token_for(client: TestClient, role: str) -> dict[str, str]:
    _, token = add_user(client.app.state.services.store, f"{role}-{uuid.uuid4().hex[:8]}", role, ["da"])
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def bundled_copy(tmp_path) -> Path:
    folder = tmp_path / "offers"
    shutil.copytree(BUNDLED, folder)
    return folder


@pytest.fixture
def api(tmp_path, bundled_copy):
    with admin_client(tmp_path, bundled_copy) as client:
        client.headers.update(token_for(client, "admin"))
        yield client


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def upload(client: TestClient, content: bytes | str, fmt: str | None = "csv", **params):
    if fmt is not None:
        params["format"] = fmt
    body = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(IMPORT, params=params, content=body)


# --- stale report ----------------------------------------------------------------------------------

def test_stale_report_lists_never_and_long_ago_verified_offers_with_their_age(tmp_path):
    today = date.today()
    folder = tmp_path / "offers"
    folder.mkdir()
    (folder / "a.yml").write_text(yaml.safe_dump([
        entry(id="checked-400-days-ago", last_verified=today - timedelta(days=400)),
        entry(id="checked-last-week", last_verified=today - timedelta(days=7)),
        entry(id="never-checked", last_verified=None, organisation="Ingen Dato"),
    ], allow_unicode=True, sort_keys=False), encoding="utf-8")
    with admin_client(tmp_path, folder) as client:
        client.headers.update(token_for(client, "admin"))
        body = client.get(STALE).json()
        assert body["days"] == 365 and body["total"] == 3
        assert body["stale"] == [
            {"id": "never-checked", "organisation": "Ingen Dato", "last_verified": None, "age_days": None,
             "origin": body["stale"][0]["origin"]},
            {"id": "checked-400-days-ago", "organisation": "Lungeforeningen",
             "last_verified": (today - timedelta(days=400)).isoformat(), "age_days": 400,
             "origin": body["stale"][1]["origin"]},
        ]
        assert all(item["origin"].endswith("a.yml") for item in body["stale"])
        assert [item["id"] for item in client.get(STALE, params={"days": 500}).json()["stale"]] == ["never-checked"]
        assert [(item["id"], item["age_days"]) for item in client.get(STALE, params={"days": 6}).json()["stale"]] == [
            ("never-checked", None), ("checked-400-days-ago", 400), ("checked-last-week", 7)]
        assert client.get(STALE, params={"days": -1}).status_code == 422


def test_stale_report_of_the_bundled_catalogue_counts_every_offer(api, bundled_copy):
    body = api.get(STALE, params={"days": 0}).json()
    assert body["total"] == len(Catalogue.load(bundled_copy)) > 100
    ages = [item["age_days"] for item in body["stale"] if item["age_days"] is not None]
    assert ages == sorted(ages, reverse=True)


# --- import ----------------------------------------------------------------------------------------

def test_dry_run_of_a_valid_csv_reports_and_writes_nothing(api, bundled_copy):
    before = snapshot(bundled_copy)
    response = upload(api, csv_text([GOOD]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"valid": True, "offers": 1, "added": 1, "replaced": 0, "written": False,
                    "target": "imported.yml", "problems": []}
    assert snapshot(bundled_copy) == before


def test_dry_run_of_the_official_hsds_service_example_reports_each_problem(api, bundled_copy):
    """The official example is a counselling service in "MyCity": readable HSDS, but not a Danish offer."""
    before = snapshot(bundled_copy)
    example = (shared_dir() / "hsds" / "examples" / "service_full.json").read_bytes()
    response = upload(api, example, "hsds", language="en")
    assert response.status_code == 422
    body = response.json()
    assert set(body) == REPORT_KEYS and body["valid"] is False and body["written"] is False
    assert body["offers"] == 0 and body["added"] == 0
    messages = {(p["field"], p["message"]) for p in body["problems"]}
    assert ("topics", "an offer has at least one topic") in messages
    assert any(field == "coordinates" and "is not in Denmark" in message for field, message in messages)
    assert all(p["source"] == "upload" and p["where"].startswith("service 1 (") for p in body["problems"])
    assert snapshot(bundled_copy) == before


def test_dry_run_of_a_valid_hsds_document(api):
    offers = [Offer.model_validate(entry(id="hsds-one")), Offer.model_validate(entry(id="hsds-two"))]
    document = json.dumps(export_catalogue(offers), ensure_ascii=False)
    body = upload(api, document, "hsds").json()
    assert (body["valid"], body["offers"], body["added"], body["written"]) == (True, 2, 2, False)


def test_import_applies_then_replaces_by_id(api, bundled_copy):
    target = bundled_copy / "imported.yml"
    first = upload(api, csv_text([GOOD]), dry_run="false")
    assert first.status_code == 200, first.text
    assert first.json() | {"problems": []} == {"valid": True, "offers": 1, "added": 1, "replaced": 0, "written": True,
                                               "target": target.name, "problems": []}
    loaded = Catalogue.load(bundled_copy)
    assert loaded.get(NEW_ID).title["da"] == "Mænds mødested" and loaded.origins[NEW_ID].endswith("imported.yml")
    changed = GOOD.copy()
    changed[4] = "Nu også med gåture."
    second = upload(api, csv_text([changed]), dry_run="false").json()
    assert (second["added"], second["replaced"], second["written"]) == (0, 1, True)
    assert Catalogue.load(bundled_copy).get(NEW_ID).summary["da"] == "Nu også med gåture."
    # The CLI goes the same way: its dry run now also says what would change.
    result = CliRunner().invoke(cli, ["catalogue", "import", "--dry-run", "--into", str(target),
                                      str(write_csv(bundled_copy.parent, csv_text([changed])))])
    assert result.exit_code == 0 and "(0 new, 1 replaced)" in result.output, result.output


def write_csv(folder: Path, text: str) -> Path:
    path = folder / "upload.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_invalid_row_is_422_with_the_row_and_the_target_is_unchanged(api, bundled_copy):
    assert upload(api, csv_text([GOOD]), dry_run="false").json()["written"] is True
    before = snapshot(bundled_copy)
    other = GOOD.copy()
    other[0] = "another-new-offer"
    bad = GOOD.copy()
    bad[0], bad[8] = "bad-scope", "worldwide"
    response = upload(api, csv_text([other, bad]), dry_run="false")
    assert response.status_code == 422
    body = response.json()
    assert (body["valid"], body["written"], body["offers"], body["added"]) == (False, False, 1, 0)
    assert [(p["where"], p["field"]) for p in body["problems"]] == [("row 3", "scope")]
    assert body["problems"][0]["message"] == "Input should be 'local', 'regional' or 'national'"
    assert snapshot(bundled_copy) == before


def test_an_id_already_in_another_catalogue_file_is_refused_even_on_a_dry_run(api, bundled_copy):
    existing = Catalogue.load(bundled_copy).offers[0]
    response = upload(api, offers_to_csv([existing]))
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["field"] == "id" and f"duplicate id '{existing.id}': already defined in" in problem["message"]


LATIN1_CSV = ("id,organisation,title_da,summary_da,topics,scope\n"
              "besoegsven,Ældre Sagen,Besøgsven,En besøgsven kommer på besøg.,loneliness,national\n")


@pytest.mark.parametrize(("content", "params", "where", "field", "expected"), [
    (b"", {"format": "csv"}, "file", "", "the file is empty"),
    (b" \n\r\n", {"format": "hsds"}, "file", "", "the file is empty"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", {"format": "csv"}, "file", "", "binary data"),
    ("id,organisation\n".encode("utf-16"), {"format": "csv"}, "file", "", "binary data"),
    (LATIN1_CSV.encode("latin-1"), {"format": "csv"}, "line 2", "", "not UTF-8 text (byte 0xc6"),
    ((LATIN1_CSV + "x" * 200_000 + "\n").encode(), {"format": "csv"}, "row 3", "", "not readable as CSV: field larger"),
    (b'{"contents": [', {"format": "hsds"}, "line 1, column 15", "", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, {"format": "hsds"}, "file", "", "nested too deeply"),
    (b"[1, 2]", {"format": "hsds"}, "document", "", "expected HSDS objects, got int"),
    (b'{"name": "Org", "services": 1.5}', {"format": "hsds"}, "document", "", "services must be a list"),
    (b'{"status": "active", "name": "x", "attributes": ["not an object"]}', {"format": "hsds"},
     "service 1 (x)", "", "unexpected type"),
    (LATIN1_CSV.encode(), {"format": "xml"}, "request", "format", "unknown format 'xml': use hsds or csv"),
    (LATIN1_CSV.encode(), {}, "request", "format", "give the format: format=hsds or format=csv"),
    (b"{}", {"format": "hsds", "language": "de"}, "request", "language", "unknown text language 'de'"),
])
def test_unreadable_uploads_get_a_clear_report_and_nothing_is_written(api, bundled_copy, content, params, where,
                                                                      field, expected):
    before = snapshot(bundled_copy)
    response = api.post(IMPORT, params={**params, "dry_run": "false"}, content=content)
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == REPORT_KEYS and body["valid"] is False and body["written"] is False
    (problem,) = body["problems"]
    assert (problem["where"], problem["field"]) == (where, field) and expected in problem["message"], problem
    assert snapshot(bundled_copy) == before


def test_the_import_route_alone_takes_large_bodies(api):
    over = b"x" * (IMPORT_MAX_BODY_BYTES + 1)
    refused = api.post(IMPORT, params={"format": "csv"}, content=over)
    assert refused.status_code == 413 and str(IMPORT_MAX_BODY_BYTES) in refused.json()["detail"]
    # Chunked, without a Content-Length for the middleware to see: counted while it arrives.
    pieces = (over[start:start + 65536] for start in range(0, len(over), 65536))
    chunked = api.post(IMPORT, params={"format": "csv"}, content=pieces)
    assert chunked.status_code == 413
    # 300 kB is over the app's default limit, but a normal upload size: read and checked (and refused as CSV).
    big_csv = api.post(IMPORT, params={"format": "csv"}, content=b"x" * 300_000)
    assert big_csv.status_code == 422 and big_csv.json()["problems"][0]["where"] == "row 1"
    # Every other route keeps the default limit.
    assert api.post("/api/offers/search", content=b"x" * 300_000).status_code == 413


def test_the_routes_need_an_admin(api):
    anonymous = TestClient(api.app)
    counsellor = token_for(api, "counsellor")
    routes = [("GET", STALE), ("POST", IMPORT + "?format=csv"), ("POST", REBUILD), ("GET", "/api/admin/index/jobs/x")]
    for method, path in routes:
        assert anonymous.request(method, path).status_code == 401, path
        assert api.request(method, path, headers=counsellor).status_code == 403, path
    assert api.get("/api/admin/index/jobs/no-such-job").status_code == 404


def test_a_console_session_posts_only_with_its_csrf_token(api):
    store = api.app.state.services.store
    name = f"admin-{uuid.uuid4().hex[:6]}"
    add_user(store, name, "admin", [])
    set_password(store, name, "korrekt-hest-batteri-9")
    cookie, session = login(store, name, "korrekt-hest-batteri-9")
    browser = TestClient(api.app, cookies={SESSION_COOKIE: cookie})
    assert browser.get(STALE).status_code == 200  # reading needs no token
    assert browser.post(IMPORT, params={"format": "csv"}, content=csv_text([GOOD])).status_code == 403
    allowed = browser.post(IMPORT, params={"format": "csv"}, content=csv_text([GOOD]),
                           headers={CSRF_HEADER: session.csrf_token})
    assert allowed.status_code == 200 and allowed.json()["valid"] is True


# --- re-index --------------------------------------------------------------------------------------

@pytest.fixture
def small_catalogue(tmp_path) -> Path:
    """Five bundled offers: a re-index embeds them in seconds."""
    folder = tmp_path / "small"
    folder.mkdir()
    (folder / "offers.yml").write_text(dump_offers(Catalogue.load(BUNDLED).offers[:5]), encoding="utf-8")
    return folder


def wait_for(client: TestClient, job_id: str, timeout_s: float = 300) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/admin/index/jobs/{job_id}").json()
        if job["state"] != "running":
            return job
        time.sleep(0.2)
    raise AssertionError(f"re-index job {job_id} still running after {timeout_s} s")


def test_imported_offers_are_searchable_after_a_reindex(tmp_path, small_catalogue):
    with admin_client(tmp_path, small_catalogue) as client:
        client.headers.update(token_for(client, "admin"))
        services = client.app.state.services
        assert upload(client, csv_text([GOOD]), dry_run="false").json()["written"] is True
        assert services.catalogue.get(NEW_ID) is None  # imported, not served yet

        started = client.post(REBUILD)
        assert started.status_code == 202
        job_id = started.json()["job_id"]
        job = wait_for(client, job_id)
        assert job["state"] == "done", job
        assert job["done"] == job["total"] == len(services.search.index.rows) > 6  # a row per offer and language
        assert job["message"].startswith("serving 6 offers") and "rebuilt" in job["message"]
        assert job["finished_at"] >= job["started_at"]

        assert services.catalogue.get(NEW_ID) is not None and len(services.catalogue) == 6
        found = client.post("/api/offers/search", json={"text": "mænd der mødes over en kop kaffe",
                                                         "municipality": "Odense", "language": "da"})
        assert found.status_code == 200
        assert NEW_ID in [offer["id"] for offer in found.json()["offers"]]

        # Nothing changed since: the next job reuses the index it just built.
        again = wait_for(client, client.post(REBUILD).json()["job_id"])
        assert again["state"] == "done" and "already matched" in again["message"]
        assert again["done"] == again["total"] == job["total"]


def test_one_reindex_at_a_time(tmp_path, small_catalogue):
    with admin_client(tmp_path, small_catalogue) as client:
        client.headers.update(token_for(client, "admin"))
        first = client.post(REBUILD, params={"force": "true"})
        assert first.status_code == 202
        second = client.post(REBUILD)
        assert second.status_code == 409 and second.json()["job_id"] == first.json()["job_id"]
        progress = client.get(f"/api/admin/index/jobs/{first.json()['job_id']}").json()
        assert progress["state"] == "running" and progress["finished_at"] is None
        assert wait_for(client, first.json()["job_id"])["state"] == "done"
        third = client.post(REBUILD)
        assert third.status_code == 202  # free again
        assert wait_for(client, third.json()["job_id"])["state"] == "done"


def test_a_reindex_of_a_broken_catalogue_fails_and_keeps_serving_the_old_one(tmp_path, small_catalogue):
    with admin_client(tmp_path, small_catalogue) as client:
        client.headers.update(token_for(client, "admin"))
        services = client.app.state.services
        catalogue_before = services.catalogue
        # Someone breaks the catalogue folder while the app serves it.
        (small_catalogue / "broken.yml").write_text(yaml.safe_dump([entry(id="broken", topics=["knitting"])]),
                                                    encoding="utf-8")
        job = wait_for(client, client.post(REBUILD).json()["job_id"])
        assert job["state"] == "failed" and "unknown topic 'knitting'" in job["message"]
        assert job["finished_at"] is not None
        assert services.catalogue is catalogue_before and "search" not in vars(services)
        retry = client.post(REBUILD)
        assert retry.status_code == 202  # a failed job does not block the next one
        assert wait_for(client, retry.json()["job_id"])["state"] == "failed"


# --- sharing the model with live searches -----------------------------------------------------------

class RecordingEmbedder:
    name, dimension = "fake", 2

    def __init__(self) -> None:
        self.calls: list[int] = []

    def passages(self, texts, progress=None):
        self.calls.append(len(texts))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if progress:
            progress(len(texts))
        return np.asarray([[len(text), 1.0] for text in texts], dtype=np.float32)

    def queries(self, texts):
        return self.passages(texts)


def test_the_build_embeds_in_slices_and_keeps_the_input_order():
    inner = RecordingEmbedder()
    texts = [("x" * n) for n in (50, 3, 17, 8, 99, 1, 42)]
    done = []
    vectors = TakingTurns(inner, slice_size=3).passages(texts, progress=done.append)
    assert inner.calls == [3, 3, 1] and sum(done) == len(texts)
    assert vectors[:, 0].tolist() == [len(text) for text in texts]
    assert TakingTurns(inner, slice_size=3).queries([]).shape == (0, 2)
