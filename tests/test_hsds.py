"""HSDS 3.0: export validates against the official compiled schemas, round trip, official examples import."""

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from knowledge import hsds
from knowledge.catalogue import CATALOGUE_DIR, Catalogue, Offer, dump_offers, read_offer_file
from knowledge.hsds import export_catalogue, export_errors, import_document, import_file, schema_errors, shared_dir

runner = CliRunner()


def examples() -> Path:
    return shared_dir() / "hsds" / "examples"


def offers() -> list[Offer]:
    """Offers that use every field and shape the mapping knows."""
    full = {
        "id": "test-full",
        "organisation": "Dansk Røde Kors",
        "title": {"da": "Omsorgscenter for hjemløse", "ar": "مركز رعاية للمشردين", "so": "Xarun daryeel",
                  "tr": "Evsizler için bakım merkezi", "fa": "مرکز مراقبت برای بی‌خانمان‌ها", "en": "Care centre"},
        "summary": {"da": "Et sted at hvile og blive plejet.", "ar": "مكان للراحة والرعاية.",
                    "so": "Meel lagu nasto.", "tr": "Dinlenmek için bir yer.", "fa": "جایی برای استراحت.",
                    "en": "A place to rest and get care."},
        "topics": ["housing", "chronic_disease"],
        "target_groups": ["homeless", "adults"],
        "where": {"scope": "local", "municipalities": ["Herning", "Ikast-Brande"], "region": "Midtjylland"},
        "address": "Eksempelvej 1, 7400 Herning",
        "coordinates": {"lat": 56.136, "lon": 8.976},
        "languages": ["da", "en", "ar"],
        "cost": "free",
        "cost_note": "Gratis for alle.",
        "referral": "self",
        "how_to_join": {"da": "Mød op.", "ar": "تعال مباشرة.", "en": "Just come by."},
        "contact": {"phone": "12 34 56 78", "email": "info@example.dk", "url": "www.example.dk"},
        "hours": "hverdage kl. 9-15",
        "sources": ["https://example.org/a", "Rapport, januar 2024"],
        "last_verified": date(2024, 1, 1),
        "verified": True,
        "demo": True,
        "notes": "Testdata.",
    }
    minimal = {
        "id": "test-national", "organisation": "Livslinien", "title": {"da": "Livslinien"},
        "summary": {"da": "Anonym samtale."}, "topics": ["mental_health"], "where": {"scope": "national"},
        "contact": {"url": "https://example.dk/chat"}, "cost": "paid", "referral": "gp",
    }
    regional = {
        "id": "test-regional", "organisation": "Dansk Røde Kors", "title": {"da": "Besøgstjeneste"},
        "summary": {"da": "Besøg i hjemmet."}, "topics": ["loneliness"], "target_groups": ["elderly"],
        "where": {"scope": "regional", "region": "Nordjylland"}, "last_verified": None,
    }
    return [Offer.model_validate(item) for item in (full, minimal, regional)]


def bundled_offers() -> list[Offer]:
    """The bundled data as it stands (per file, first of a duplicated id), so this test does not
    depend on the catalogue being free of cross-file conflicts (test_catalogue checks that)."""
    found: dict[str, Offer] = {}
    for path in sorted(CATALOGUE_DIR.glob("*.yml")):
        for offer in read_offer_file(path)[0]:
            found.setdefault(offer.id, offer)
    return list(found.values())


def test_export_validates_against_the_official_compiled_schemas():
    document = export_catalogue(offers() + bundled_offers())
    assert document["total_items"] == len(document["contents"]) >= 2
    for organization in document["contents"]:
        assert schema_errors(organization, "organization") == []
        for service in organization["services"]:
            assert schema_errors(service, "service") == []
            # the standalone form (with its organization) validates too
            standalone = {**service, "organization": {k: v for k, v in organization.items() if k != "services"}}
            assert schema_errors(standalone, "service") == []
    assert export_errors(document) == []


def test_the_schema_check_can_fail():
    document = export_catalogue(offers())
    service = document["contents"][0]["services"][0]
    del service["name"]
    service["email"] = "not an email"
    service["id"] = "not-a-uuid"
    errors = schema_errors(service, "service")
    assert any("'name' is a required property" in e for e in errors)
    assert any("is not a 'email'" in e for e in errors) and any("is not a 'uuid'" in e for e in errors)
    assert export_errors(document)


def test_export_uses_hsds_fields():
    service = export_catalogue(offers())["contents"][0]["services"][0]
    assert service["name"] == "Omsorgscenter for hjemløse" and service["status"] == "active"
    assert service["description"] == "Et sted at hvile og blive plejet."
    assert service["application_process"] == "Mød op." and service["fees_description"] == "Gratis for alle."
    assert service["assured_date"] == "2024-01-01" and service["email"] == "info@example.dk"
    assert service["url"] == "https://www.example.dk"
    assert service["phones"][0]["number"] == "12 34 56 78"
    assert service["schedules"][0]["description"] == "hverdage kl. 9-15"
    assert [(lang["code"], lang["name"]) for lang in service["languages"]] == [
        ("da", "Danish"), ("en", "English"), ("ar", "Arabic")]
    location = service["service_at_locations"][0]["location"]
    assert (location["latitude"], location["longitude"]) == (56.136, 8.976)
    address = location["addresses"][0]
    assert (address["address_1"], address["city"], address["postal_code"], address["country"]) == (
        "Eksempelvej 1, 7400 Herning", "Herning", "7400", "DK")
    assert [(a["name"], a["description"]) for a in service["service_areas"]] == [
        ("Herning", "kommune"), ("Ikast-Brande", "kommune"), ("Midtjylland", "region")]
    assert service["cost_options"][0]["amount"] == 0
    topics = [a["taxonomy_term"]["code"] for a in service["attributes"] if a["link_type"] == "topic"]
    assert topics == ["housing", "chronic_disease"]
    arabic_title = [a for a in service["attributes"] if a["link_type"] == "translation"
                    and a["taxonomy_term"]["code"] == "title" and a["taxonomy_term"]["language"] == "ar"]
    assert [a["value"] for a in arabic_title] == ["مركز رعاية للمشردين"]
    # stable ids: the same offer always gets the same UUIDs
    assert export_catalogue(offers()) == export_catalogue(offers())


def test_round_trip_gives_an_identical_catalogue():
    original = offers() + bundled_offers()
    document = json.loads(json.dumps(export_catalogue(original), ensure_ascii=False))
    result = import_document(document)
    assert result.problems == []
    assert {o.id: o for o in result.offers} == {o.id: o for o in original}
    assert len(result.offers) == len(original)
    # and a second trip changes nothing, order included
    assert export_catalogue(result.offers) == document


def test_round_trip_keeps_every_language():
    (full,) = [o for o in import_document(export_catalogue(offers())).offers if o.id == "test-full"]
    assert set(full.title) == set(full.summary) == {"da", "ar", "so", "tr", "fa", "en"}
    assert full.how_to_join == {"da": "Mød op.", "ar": "تعال مباشرة.", "en": "Just come by."}
    assert full.contact.url == "www.example.dk"  # kept as the source gave it


def test_official_service_example_imports_without_losing_a_field_we_model():
    document = json.loads((examples() / "service_full.json").read_text(encoding="utf-8"))
    result = import_file(examples() / "service_full.json", text_language="en", lenient=True)
    assert result.problems == []
    (offer,) = result.offers
    location = document["service_at_locations"][0]["location"]
    address = location["addresses"][0]
    assert offer.id == document["id"]
    assert offer.organisation == document["organization"]["name"]
    assert offer.title == {"en": document["name"]}
    assert offer.summary == {"en": document["description"].strip()}
    assert offer.how_to_join == {"en": document["application_process"]}
    assert offer.cost == "paid" and offer.cost_note == document["fees_description"]
    assert offer.contact.phone == document["phones"][0]["number"]
    assert offer.contact.email == document["email"] and offer.contact.url == document["url"]
    assert offer.hours == document["schedules"][0]["description"]
    assert offer.last_verified == date.fromisoformat(document["assured_date"])
    assert offer.languages == [language["code"] for language in document["languages"]]
    for part in ("address_1", "address_2", "city", "postal_code"):
        assert address[part] in offer.address
    assert (offer.coordinates.lat, offer.coordinates.lon) == (location["latitude"], location["longitude"])
    assert offer.where.municipalities == [document["service_areas"][0]["name"]]
    assert offer.notes == document["alert"]


def test_official_tabular_package_imports_like_the_json_example():
    tabular = import_file(examples() / "csv", text_language="en", lenient=True)
    assert tabular.problems == []
    (offer,) = tabular.offers
    (from_json,) = import_file(examples() / "service_full.json", text_language="en", lenient=True).offers
    assert offer == from_json
    assert offer.contact.phone == '"+44 1234 234567"'  # as in phones.csv, quotes and all
    assert import_file(examples() / "csv" / "datapackage.json", text_language="en", lenient=True).offers == [offer]


def test_tabular_round_trip_through_the_cli(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "a.yml").write_text(dump_offers(offers() + bundled_offers()), encoding="utf-8")
    package = tmp_path / "package"
    result = runner.invoke(app, ["catalogue", "export", str(package), "--format", "hsds-csv", "--dir", str(source)])
    assert result.exit_code == 0, result.output
    assert {"services.csv", "attributes.csv", "taxonomy_terms.csv", "datapackage.json"} <= {
        p.name for p in package.iterdir()}
    result = import_file(package)
    assert result.problems == []
    original = Catalogue.load(source).offers
    assert {o.id: o for o in result.offers} == {o.id: o for o in original} and len(result.offers) == len(original)
    assert result.offers == import_document(export_catalogue(original)).offers  # same order as the JSON trip
    target = tmp_path / "target" / "imported.yml"
    cli = runner.invoke(app, ["catalogue", "import", str(package), "--into", str(target)])
    assert cli.exit_code == 0, cli.output
    assert Catalogue.load(target).offers == result.offers


def test_official_organization_example_imports():
    (offer,) = import_file(examples() / "organization_full.json", text_language="en", lenient=True).offers
    assert offer.organisation == "Example Organization Inc." and offer.title == {"en": "Community Counselling"}


def test_foreign_data_is_checked_against_our_vocabularies_unless_lenient():
    result = import_file(examples() / "service_full.json")
    messages = [str(problem) for problem in result.problems]
    assert result.offers == []
    assert any("an offer has at least one topic" in m for m in messages)
    assert any("unknown municipality 'The service is available" in m for m in messages)
    assert any("is not in Denmark" in m for m in messages)


def test_import_reports_documents_it_cannot_read(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert "not readable HSDS JSON" in import_file(broken).problems[0].message
    assert import_document({"total_items": 0, "contents": []}).problems[0].message == "no HSDS services found"
    assert "expected HSDS objects" in import_document(["a string"]).problems[0].message


def test_import_of_a_document_with_one_bad_service_gives_no_offers_for_it():
    document = export_catalogue(offers())
    service = document["contents"][0]["services"][0]
    topic = next(a for a in service["attributes"] if a["link_type"] == "topic")
    topic["taxonomy_term"]["code"] = "knitting"
    result = import_document(document)
    assert [p.message for p in result.problems] == ["unknown topic 'knitting' (topics: knowledge/topics.py)"]
    assert "test-full" not in {offer.id for offer in result.offers}


def test_cli_export_then_import_into_an_empty_catalogue(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "a.yml").write_text(dump_offers(offers()), encoding="utf-8")
    exported = tmp_path / "export.json"
    result = runner.invoke(app, ["catalogue", "export", str(exported), "--dir", str(source)])
    assert result.exit_code == 0, result.output
    assert export_errors(json.loads(exported.read_text(encoding="utf-8"))) == []
    target = tmp_path / "target"
    result = runner.invoke(app, ["catalogue", "import", str(exported), "--into", str(target / "imported.yml")])
    assert result.exit_code == 0, result.output
    assert {o.id: o for o in Catalogue.load(target)} == {o.id: o for o in Catalogue.load(source)}


def test_cli_import_of_invalid_hsds_writes_nothing(tmp_path):
    document = export_catalogue(offers())
    document["contents"][0]["services"][0]["service_areas"][0]["name"] = "Atlantis"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    target = tmp_path / "offers" / "imported.yml"
    result = runner.invoke(app, ["catalogue", "import", str(path), "--into", str(target)])
    assert result.exit_code == 1 and "unknown municipality 'Atlantis'" in result.output
    assert not target.exists() and not target.parent.exists()


def test_shared_dir_locator(tmp_path, monkeypatch):
    monkeypatch.setenv("BROBYGGER_SHARED_DIR", str(tmp_path))
    assert shared_dir() == tmp_path
    monkeypatch.setenv("BROBYGGER_SHARED_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        shared_dir()
    monkeypatch.setenv("BROBYGGER_SHARED_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="HSDS compiled schemas not found"):
        hsds.schema_dir()
