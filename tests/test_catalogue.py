"""The catalogue: schema rejections, loading a folder of files, hash, stale report, CSV import, CLI."""

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import Settings, get_settings
from knowledge import catalogue as catalogue_module
from knowledge.catalogue import (
    CATALOGUE_DIR,
    Catalogue,
    CatalogueError,
    Offer,
    coverage,
    default_catalogue,
    load_catalogue,
    merge_into,
    stale_offers,
    write_atomic,
)
from knowledge.csv_import import COLUMNS, offers_to_csv, read_csv_text
from knowledge.hsds import shared_dir
from knowledge.places import gazetteer
from knowledge.topics import REGIONS, TARGET_GROUPS, TOPICS

runner = CliRunner()


def entry(**overrides) -> dict:
    """A valid catalogue entry in the file format; overrides replace top-level fields."""
    data = {
        "id": "test-lungekor",
        "organisation": "Lungeforeningen",
        "title": {"da": "Lungekor", "en": "Lung choir", "so": "Kooxda heesaha sambabka"},
        "summary": {"da": "Syng sammen med andre, der har KOL.", "en": "Sing with others who have COPD."},
        "topics": ["chronic_disease", "loneliness"],
        "target_groups": ["chronic_illness", "elderly"],
        "where": {"scope": "local", "municipalities": ["Roskilde"], "region": "Sjælland"},
        "address": None,
        "languages": ["da"],
        "cost": "free",
        "cost_note": None,
        "referral": "self",
        "how_to_join": {"da": "Mød op til en prøvetime."},
        "contact": {"phone": None, "email": None, "url": None},
        "hours": None,
        "sources": ["https://example.org/lungekor"],
        "last_verified": date(2023, 5, 1),
        "verified": False,
        "notes": None,
    }
    data.update(overrides)
    return data


def write(folder: Path, name: str, entries: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(CatalogueError) as caught:
        Catalogue.load(folder)
    return [str(problem) for problem in caught.value.problems]


# --- schema -------------------------------------------------------------------------------------

def test_a_valid_entry_loads_with_localized_card(tmp_path):
    write(tmp_path, "a.yml", [entry(demo=True)])
    catalogue = Catalogue.load(tmp_path)
    offer = catalogue.get("test-lungekor")
    assert len(catalogue) == 1 and offer.where.region == "Sjælland"
    card = offer.card("so")
    assert card["title"] == "Kooxda heesaha sambabka"  # Somali title
    assert card["summary"] == "Sing with others who have COPD."  # no Somali summary: English
    assert offer.card("tr")["how_to_join"] == "Mød op til en prøvetime."  # no tr/en: Danish
    assert card["demo"] is True and card["municipality"] == "Roskilde"
    assert catalogue.origins["test-lungekor"].endswith("a.yml")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"topics": ["lonliness"]}, "unknown topic 'lonliness'; did you mean 'loneliness'?"),
        ({"topics": []}, "at least one topic"),
        ({"target_groups": ["pensioners"]}, "unknown target group 'pensioners'"),
        ({"where": {"scope": "local", "municipalities": ["Arhus"], "region": None}},
         "unknown municipality 'Arhus'; did you mean 'Aarhus'?"),
        ({"where": {"scope": "local", "municipalities": ["Atlantis"], "region": None}},
         "unknown municipality 'Atlantis'"),
        ({"where": {"scope": "local", "municipalities": ["Odense"], "region": "Hovedstaden"}},
         "Odense not in region Hovedstaden"),
        ({"where": {"scope": "regional", "municipalities": [], "region": "Jylland"}}, "unknown region 'Jylland'"),
        ({"where": {"scope": "national", "municipalities": ["Aarhus"], "region": None}}, "a national offer lists no"),
        ({"where": {"scope": "local", "municipalities": [], "region": "Sjælland"}}, "a local offer names at least"),
        ({"where": {"scope": "everywhere"}}, "where.scope"),
        ({"title": {"en": "Lung choir"}}, "title: Danish (da) is required"),
        ({"summary": {"da": "  "}}, "summary: no text in any language"),
        ({"title": {"da": "Lungekor", "de": "Lungenchor"}}, "unknown text language(s) de"),
        ({"languages": ["da", "xx"]}, "'xx' is not an ISO 639-1/639-3 language code"),
        ({"cost": "gratis"}, "cost: Input should be 'free', 'paid' or 'unknown'"),
        ({"referral": "doctor"}, "referral: Input should be"),
        ({"contact": {"phone": None, "email": "a@b / c@d", "url": None}}, "is not an e-mail address"),
        ({"contact": {"phone": None, "email": None, "url": "see website"}}, "is not a web address"),
        ({"coordinates": {"lat": 40.4, "lon": -3.7}}, "is not in Denmark"),
        ({"last_verified": date.today() + timedelta(days=30)}, "is in the future"),
        ({"id": "Lung Choir!"}, "is not a stable id"),
        ({"topic": ["smoking"]}, "topic: unknown field"),
    ],
)
def test_schema_rejects_with_a_clear_message(tmp_path, override, expected):
    write(tmp_path, "offers.yml", [entry(**override)])
    problems = problems_of(tmp_path)
    assert any(expected in problem for problem in problems), problems
    assert all("offers.yml, entry 1 (id " in problem for problem in problems)


def test_a_district_name_is_not_a_municipality_but_the_message_says_where_it_lies(tmp_path):
    write(tmp_path, "a.yml", [entry(where={"scope": "local", "municipalities": ["Gellerup"], "region": None})])
    assert any("'Gellerup' lies in Aarhus municipality" in problem for problem in problems_of(tmp_path))


def test_staff_languages_accept_iso_639_3_codes(tmp_path):
    write(tmp_path, "a.yml", [entry(languages=["da", "aii", "prs", "ar"])])
    assert Catalogue.load(tmp_path).offers[0].languages == ["da", "aii", "prs", "ar"]


def test_duplicate_id_names_both_files(tmp_path):
    write(tmp_path, "east.yml", [entry()])
    write(tmp_path, "west.yml", [entry(organisation="Another")])
    problems = problems_of(tmp_path)
    assert len(problems) == 1
    assert "west.yml" in problems[0] and "also defined in" in problems[0] and "east.yml" in problems[0]
    assert "duplicate id 'test-lungekor'" in problems[0]


def test_duplicate_id_in_one_file(tmp_path):
    write(tmp_path, "a.yml", [entry(), entry()])
    assert any("duplicate id 'test-lungekor'" in problem for problem in problems_of(tmp_path))


def test_every_problem_in_every_file_is_reported_at_once(tmp_path):
    write(tmp_path, "a.yml", [entry(id="one", topics=["nope"]), entry(id="two")])
    write(tmp_path, "b.yml", [entry(id="three", where={"scope": "local", "municipalities": ["Nowhere"]})])
    (tmp_path / "c.yml").write_text("- id: broken\n  title: [unclosed\n", encoding="utf-8")
    problems = problems_of(tmp_path)
    assert len(problems) == 3
    assert any("a.yml, entry 1 (id one): topics: unknown topic 'nope'" in p for p in problems)
    assert any("b.yml, entry 1 (id three)" in p and "'Nowhere'" in p for p in problems)
    assert any(re.search(r"c\.yml, line \d+: not valid YAML", p) for p in problems)


def test_a_row_that_is_not_a_mapping_is_reported(tmp_path):
    (tmp_path / "a.yml").write_text("- just a string\n", encoding="utf-8")
    assert problems_of(tmp_path) == [f"{tmp_path / 'a.yml'}, entry 1: expected a mapping of fields, got str"]


def test_loading_works_on_what_is_there(tmp_path):
    (tmp_path / "empty.yml").write_text("# being written\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a catalogue file", encoding="utf-8")
    write(tmp_path, "west.yml", [entry()])
    assert [offer.id for offer in Catalogue.load(tmp_path)] == ["test-lungekor"]
    assert len(Catalogue.load(tmp_path / "west.yml")) == 1  # one file also works
    empty = tmp_path / "none"
    empty.mkdir()
    assert len(Catalogue.load(empty)) == 0
    with pytest.raises(CatalogueError, match="no such catalogue file or directory"):
        Catalogue.load(tmp_path / "missing")


def test_catalogue_dir_setting_and_env(tmp_path, monkeypatch):
    write(tmp_path / "cat", "x.yml", [entry(id="from-env")])
    monkeypatch.setenv("BROBYGGER_CATALOGUE_DIR", str(tmp_path / "cat"))
    assert Settings().catalogue_dir == tmp_path / "cat"
    get_settings.cache_clear()
    try:
        assert [offer.id for offer in default_catalogue()] == ["from-env"]
    finally:
        monkeypatch.delenv("BROBYGGER_CATALOGUE_DIR")
        get_settings.cache_clear()
    assert Settings().catalogue_dir == CATALOGUE_DIR


def test_a_loaded_catalogue_is_reused_until_its_files_change(tmp_path):
    write(tmp_path / "cat", "x.yml", [entry(id="first")])
    loaded = load_catalogue(tmp_path / "cat")
    assert load_catalogue(tmp_path / "cat") is loaded  # apps built in one process share it
    write(tmp_path / "cat", "y.yml", [entry(id="second")])
    assert sorted(offer.id for offer in load_catalogue(tmp_path / "cat")) == ["first", "second"]
    write(tmp_path / "cat", "x.yml", [entry(id="first-renamed")])
    assert sorted(offer.id for offer in load_catalogue(tmp_path / "cat")) == ["first-renamed", "second"]


def test_content_hash_ignores_formatting_and_follows_content(tmp_path):
    write(tmp_path / "a", "one.yml", [entry(), entry(id="second")])
    write(tmp_path / "b", "one.yml", [entry(), entry(id="second")])
    (tmp_path / "b" / "one.yml").write_text("# a comment\n" + yaml.safe_dump(
        [entry(), entry(id="second")], allow_unicode=True, default_flow_style=True, width=60), encoding="utf-8")
    first, same = Catalogue.load(tmp_path / "a"), Catalogue.load(tmp_path / "b")
    assert first.content_hash() == same.content_hash() and len(first.content_hash()) == 64
    changed = entry(summary={"da": "Syng sammen med andre, der har astma."})
    write(tmp_path / "c", "one.yml", [changed, entry(id="second")])
    assert Catalogue.load(tmp_path / "c").content_hash() != first.content_hash()


def test_vocabularies_match_design_and_gazetteer():
    design = (shared_dir() / "DESIGN.md").read_text(encoding="utf-8")
    paragraph = design.split("**Topics**", 1)[1].split("\n\n", 1)[0]
    assert tuple(re.findall(r"`([a-z_]+)`", paragraph)) == TOPICS
    assert set(REGIONS) == {m.region for m in gazetteer().municipalities.values()}
    assert len(TARGET_GROUPS) == 22 and "everyone" in TARGET_GROUPS


# --- stale report ---------------------------------------------------------------------------------

def test_stale_report_lists_missing_and_old_dates():
    today = date(2025, 6, 1)
    offers = [
        Offer.model_validate(entry(id="fresh", last_verified=today - timedelta(days=10))),
        Offer.model_validate(entry(id="never", last_verified=None)),
        Offer.model_validate(entry(id="old", last_verified=today - timedelta(days=400))),
        Offer.model_validate(entry(id="older", last_verified=today - timedelta(days=900))),
        Offer.model_validate(entry(id="edge", last_verified=today - timedelta(days=365))),
    ]
    catalogue = Catalogue(offers)
    report = stale_offers(catalogue, 365, today=today)
    assert [(s.offer.id, s.age_days) for s in report] == [("never", None), ("older", 900), ("old", 400)]
    assert [s.offer.id for s in stale_offers(catalogue, 5, today=today)] == ["never", "older", "old", "edge", "fresh"]


def test_cli_stale_and_check(tmp_path):
    old = date.today() - timedelta(days=500)
    write(tmp_path, "a.yml", [entry(id="old-one", last_verified=old), entry(id="recent", last_verified=date.today())])
    stale = runner.invoke(app, ["catalogue", "stale", "--dir", str(tmp_path), "--days", "100"])
    assert stale.exit_code == 0, stale.output
    assert "old-one" in stale.output and "recent" not in stale.output and "500" in stale.output
    assert "1 of 2 offers" in stale.output
    check = runner.invoke(app, ["catalogue", "check", "--dir", str(tmp_path)])
    assert check.exit_code == 0, check.output
    assert "2 valid offers" in check.output
    assert re.search(r"chronic_disease\s*│\s*2", check.output) and re.search(r"Sjælland\s*│\s*2", check.output)
    assert "Topics with no offer:" in check.output and "smoking" in check.output


def test_cli_check_fails_on_a_broken_catalogue(tmp_path):
    write(tmp_path, "a.yml", [entry(topics=["knitting"])])
    result = runner.invoke(app, ["catalogue", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "unknown topic 'knitting'" in result.output


def test_coverage_counts():
    catalogue = Catalogue([Offer.model_validate(entry()), Offer.model_validate(entry(
        id="national-one", where={"scope": "national"}, summary={"da": "x", "ar": "y"}))])
    counts = coverage(catalogue)
    assert counts["region"]["Sjælland"] == 1 and counts["region"]["national"] == 1
    assert counts["region"]["Nordjylland"] == 0 and counts["topic"]["smoking"] == 0
    assert counts["summary_language"]["da"] == 2 and counts["summary_language"]["ar"] == 1
    assert counts["summary_language"]["so"] == 0


# --- CSV import ----------------------------------------------------------------------------------

HEADER = ["id", "organisation", "title_da", "title_ar", "summary_da", "summary_en", "topics", "target_groups", "scope",
          "municipalities", "region", "lat", "lon", "languages", "cost", "referral", "email", "last_verified",
          "verified", "how_to_join_so"]


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


GOOD = ["mandefaellesskab-odense", "Forum for Mænds Sundhed", "Mænds mødested", "ملتقى الرجال",
        "Et sted hvor mænd mødes over kaffe.", "A place where men meet over coffee.", "men_health; loneliness",
        "men; elderly", "local", "Odense; Nyborg", "Syddanmark", "55,40", "10.39", "da; ar", "free", "self",
        "", "2024-02-01", "ja", "Kaalay oo nala fadhiiso."]


def test_csv_rows_become_offers():
    result = read_csv_text(csv_text([GOOD]))
    assert result.ok, [str(p) for p in result.problems]
    (offer,) = result.offers
    assert offer.title == {"da": "Mænds mødested", "ar": "ملتقى الرجال"}
    assert offer.topics == ["men_health", "loneliness"] and offer.target_groups == ["men", "elderly"]
    assert offer.where.municipalities == ["Odense", "Nyborg"] and offer.where.region == "Syddanmark"
    assert (offer.coordinates.lat, offer.coordinates.lon) == (55.40, 10.39)  # decimal comma accepted
    assert offer.languages == ["da", "ar"] and offer.verified is True and offer.demo is False
    assert offer.last_verified == date(2024, 2, 1) and offer.how_to_join == {"so": "Kaalay oo nala fadhiiso."}


def test_csv_with_semicolon_delimiter_from_danish_excel():
    result = read_csv_text("\ufeff" + csv_text([GOOD], delimiter=";"))
    assert result.ok and result.offers[0].topics == ["men_health", "loneliness"]


def test_csv_error_report_names_row_column_and_message():
    bad_topic = GOOD.copy()
    bad_topic[0], bad_topic[6] = "row-three", "men_health; knitting"
    bad_email = GOOD.copy()
    bad_email[0], bad_email[16] = "row-four", "not-an-email"
    bad_coordinates = GOOD.copy()
    bad_coordinates[0], bad_coordinates[12] = "row-five", ""
    no_danish = GOOD.copy()
    no_danish[0], no_danish[2], no_danish[9] = "row-six", "", "Arhus"
    duplicate = GOOD.copy()
    bad_flag = GOOD.copy()
    bad_flag[0], bad_flag[18] = "row-eight", "maybe"
    result = read_csv_text(csv_text([GOOD, bad_topic, bad_email, bad_coordinates, no_danish, duplicate, bad_flag]))
    report = {(p.where, p.field, p.message) for p in result.problems}
    assert ("row 3", "topics", "unknown topic 'knitting' (topics: knowledge/topics.py)") in report
    assert ("row 4", "email", "'not-an-email' is not an e-mail address") in report
    assert ("row 5", "lon", "give both lat and lon, or neither") in report
    assert ("row 6", "title_da", "Danish (da) is required") in report
    assert any(where == "row 6" and field == "municipalities" and "'Arhus'" in message
               for where, field, message in report)
    assert ("row 7", "id", "duplicate id 'mandefaellesskab-odense' (first in row 2)") in report
    assert ("row 8", "verified", "'maybe' is not true or false") in report
    assert {p.where for p in result.problems} == {f"row {n}" for n in range(3, 9)}


def test_csv_header_problems():
    text = "id,organisation,title_da,summary_da,topic,scope\nx,y,z,w,smoking,national\n"
    report = {(p.where, p.field, p.message) for p in read_csv_text(text).problems}
    assert report == {("row 1", "topic", "unknown column (see knowledge/csv_import.py)"),
                      ("row 1", "topics", "required column missing")}
    assert read_csv_text("").problems[0].message == "empty file: no header row"


def test_csv_export_and_import_round_trip():
    offers = [Offer.model_validate(entry(coordinates={"lat": 55.64, "lon": 12.08}, demo=True,
                                         contact={"phone": "70 10 10 10", "email": "a@b.dk", "url": "www.b.dk"})),
              Offer.model_validate(entry(id="national-one", where={"scope": "national"}, last_verified=None))]
    text = offers_to_csv(offers)
    assert text.splitlines()[0].split(",") == list(COLUMNS)
    result = read_csv_text(text)
    assert result.ok and result.offers == offers


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_csv_import_with_one_bad_row_changes_nothing(tmp_path):
    catalogue_dir = tmp_path / "offers"
    write(catalogue_dir, "imported.yml", [entry(id="already-here")])
    write(catalogue_dir, "other.yml", [entry(id="elsewhere")])
    before = _snapshot(catalogue_dir)
    bad = GOOD.copy()
    bad[0], bad[8] = "bad-scope", "worldwide"
    source = tmp_path / "new.csv"
    source.write_text(csv_text([GOOD, bad]), encoding="utf-8")
    result = runner.invoke(app, ["catalogue", "import", str(source), "--into", str(catalogue_dir / "imported.yml")])
    assert result.exit_code == 1
    assert "Nothing imported" in result.output and "row 3" in result.output and "scope" in result.output
    assert _snapshot(catalogue_dir) == before  # same files, same bytes, no temporary files left


def test_csv_import_applies_fully_and_replaces_by_id(tmp_path):
    catalogue_dir = tmp_path / "offers"
    write(catalogue_dir, "other.yml", [entry(id="elsewhere")])
    source = tmp_path / "new.csv"
    source.write_text(csv_text([GOOD]), encoding="utf-8")
    target = catalogue_dir / "imported.yml"
    first = runner.invoke(app, ["catalogue", "import", str(source), "--into", str(target)])
    assert first.exit_code == 0, first.output
    assert "1 new, 0 replaced" in first.output
    changed = GOOD.copy()
    changed[4] = "Nu også med gåture."
    source.write_text(csv_text([changed]), encoding="utf-8")
    second = runner.invoke(app, ["catalogue", "import", str(source), "--format", "csv", "--into", str(target)])
    assert second.exit_code == 0 and "0 new, 1 replaced" in second.output
    loaded = Catalogue.load(catalogue_dir)
    assert [offer.id for offer in loaded] == ["mandefaellesskab-odense", "elsewhere"]  # imported.yml < other.yml
    assert loaded.get("mandefaellesskab-odense").summary["da"] == "Nu også med gåture."


def test_import_refuses_an_id_defined_in_another_file(tmp_path):
    catalogue_dir = tmp_path / "offers"
    write(catalogue_dir, "other.yml", [entry(id="mandefaellesskab-odense")])
    before = _snapshot(catalogue_dir)
    source = tmp_path / "new.csv"
    source.write_text(csv_text([GOOD]), encoding="utf-8")
    result = runner.invoke(app, ["catalogue", "import", str(source), "--into", str(catalogue_dir / "new.yml")])
    assert result.exit_code == 1 and "already defined in" in result.output and "other.yml" in result.output
    assert _snapshot(catalogue_dir) == before


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = write(tmp_path, "imported.yml", [entry()])
    before = target.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(catalogue_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        merge_into(target, [Offer.model_validate(entry(id="new-one"))])
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["imported.yml"]
    with pytest.raises(OSError):
        write_atomic(tmp_path / "fresh.yml", "x")
    assert [p.name for p in tmp_path.iterdir()] == ["imported.yml"]


def test_cli_import_reports_missing_file_and_unknown_format(tmp_path):
    missing = runner.invoke(app, ["catalogue", "import", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    (tmp_path / "x.csv").write_text("id\n", encoding="utf-8")
    unknown = runner.invoke(app, ["catalogue", "import", str(tmp_path / "x.csv"), "--format", "xml"])
    assert unknown.exit_code == 2 and "unknown format 'xml'" in unknown.output


# --- the bundled catalogue ------------------------------------------------------------------------

def _bundled_entries() -> list[tuple[Path, dict]]:
    found = []
    for path in sorted(CATALOGUE_DIR.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            found.append((path, item))
    return found


def test_bundled_catalogue_is_valid():
    catalogue = Catalogue.load(CATALOGUE_DIR)
    assert catalogue.get("nyborg-kommune-roegfri-sammen") is not None
    assert catalogue.get("folkesundhed-aarhus-globus1-gellerup").languages == ["da", "ar", "fa", "so", "tr"]


def test_no_invented_contact_details():
    """Every phone, e-mail and URL in the bundled catalogue appears verbatim (whitespace-normalised; for a URL
    without its scheme) in the shared facts or sources."""
    root = shared_dir()
    texts = [p.read_text(encoding="utf-8") for p in sorted((root / "facts").glob("*.yml"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((root / "sources").iterdir()) if p.is_file()]
    assert texts, f"no facts or sources in {root}"
    corpus = " ".join(" ".join(text.split()) for text in texts)
    checked, invented = 0, []
    for path, item in _bundled_entries():
        for kind, value in (item.get("contact") or {}).items():
            if value in (None, ""):
                continue
            checked += 1
            needle = " ".join(str(value).split())
            if kind == "url":  # the scheme and a trailing slash are not part of what a source states
                needle = re.sub(r"^https?://", "", needle).rstrip("/")
            if needle not in corpus:
                invented.append(f"{path.name}: {item.get('id')}: {kind} {value!r}")
    assert checked > 0
    assert not invented, "contact details not found in shared/facts or shared/sources:\n" + "\n".join(invented)
