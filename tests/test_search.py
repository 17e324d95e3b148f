"""Hybrid search, the faiss index and its manifest, the search API and CLI — on small test catalogues.

The offers below are test fixtures written for these tests (no contact details); the indexes are built
in temporary folders with the real embedding model (converted once under var/models).
"""

import json
import os
from pathlib import Path

import faiss
import numpy as np
import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastapi.testclient import TestClient  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.settings import get_settings  # noqa: E402
from knowledge.catalogue import Catalogue, Offer  # noqa: E402
from knowledge.embeddings import embedder_for  # noqa: E402
from knowledge.index import (  # noqa: E402
    IndexFileError,
    build_offer_index,
    catalogue_rows,
    fingerprint,
    load_build,
    load_or_build,
    read_manifest,
)
from knowledge.search.engine import OfferSearch  # noqa: E402
from knowledge.search.evaluation import Query, evaluate, load_queries, usable  # noqa: E402
from tests.conftest import make_settings  # noqa: E402


def offer(offer_id, topics, where, title, summary, languages=("da",)):
    return Offer.model_validate({
        "id": offer_id, "organisation": "Testforeningen", "title": title, "summary": summary,
        "topics": list(topics), "where": where, "languages": list(languages), "verified": False,
    })


def local(name, region):
    return {"scope": "local", "municipalities": [name], "region": region}


NATIONAL = {"scope": "national"}
OFFERS = [
    offer("test-lemvig-cafe", ["loneliness"], local("Lemvig", "Midtjylland"),
          {"da": "Fællesskabscafé i Lemvig", "en": "Community café in Lemvig"},
          {"da": "Kom og drik kaffe og mød nye mennesker, hvis du føler dig ensom.",
           "en": "Have a coffee and meet new people if you feel lonely."}),
    offer("test-holstebro-cafe", ["loneliness"], local("Holstebro", "Midtjylland"),
          {"da": "Fællesskabscafé i Holstebro", "so": "Kafee wadajir ah oo Holstebro"},
          {"da": "Et mødested for dig, der savner selskab og gerne vil have nye venner.",
           "so": "Meel kulan oo loogu talagalay dadka kelinimada dareema oo raba saaxiibo cusub."}),
    offer("test-aarhus-walk", ["loneliness", "physical_activity"], local("Aarhus", "Midtjylland"),
          {"da": "Gå-fællesskab i Aarhus"},
          {"da": "Ugentlige gåture i godt selskab for alle, der føler sig alene."}),
    offer("test-odense-cafe", ["loneliness"], local("Odense", "Syddanmark"),
          {"da": "Venskabscafé i Odense"},
          {"da": "Et hyggeligt sted at møde andre, hvis du er ensom."}),
    offer("test-national-visits", ["loneliness", "elderly"], NATIONAL,
          {"da": "Besøgsven i hele landet", "ar": "صديق زائر في كل الدنمارك"},
          {"da": "En frivillig kommer fast på besøg, hvis du sidder meget alene.",
           "ar": "يزورك متطوع بانتظام إذا كنت تقضي وقتا طويلا وحدك."}, ["da", "ar"]),
    offer("test-national-smoking", ["smoking"], NATIONAL,
          {"da": "Rygestoplinje", "so": "Khadka joojinta sigaarka", "tr": "Sigara bırakma hattı"},
          {"da": "Gratis rådgivning over telefonen, når du vil holde op med at ryge.",
           "so": "La-talin bilaash ah oo taleefan ah marka aad rabto inaad joojiso sigaarka.",
           "tr": "Sigarayı bırakmak istediğinizde telefonla ücretsiz danışmanlık."}, ["da", "tr"]),
    offer("test-national-debt", ["economy"], NATIONAL,
          {"da": "Gratis gældsrådgivning", "so": "Talo deyn oo bilaash ah", "fa": "مشاوره رایگان بدهی"},
          {"da": "Hjælp til at få overblik over gæld, regninger og budget.",
           "so": "Caawimaad lagu helo dulmar deynta, biilasha iyo miisaaniyadda.",
           "fa": "کمک برای مرور بدهی‌ها، قبض‌ها و بودجه."}),
    offer("test-national-pregnancy", ["pregnancy_family"], NATIONAL,
          {"da": "Rådgivning for gravide", "so": "La-talin haweenka uurka leh"},
          {"da": "Samtaler og grupper for gravide og nybagte forældre.",
           "so": "Wadahadal iyo kooxo loogu talagalay haweenka uurka leh iyo waalidiinta cusub."}),
    offer("test-national-grief", ["grief"], NATIONAL,
          {"da": "Sorggrupper"},
          {"da": "Mød andre, der har mistet en, de holdt af."}),
]
LONELY_IN_LEMVIG = "jeg føler mig ensom og vil gerne møde nogen"


class MemoEmbedder:
    """The real embedder, remembering passages so repeated test builds don't re-embed (counts calls)."""

    def __init__(self, inner):
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.model = inner.model
        self._memo, self.embedded = {}, 0

    def passages(self, texts, progress=None):
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        self.embedded += len(missing)
        if missing:
            for text, vector in zip(missing, self.inner.passages(missing), strict=True):
                self._memo[text] = vector
        if progress:
            progress(len(texts))
        return np.asarray([self._memo[t] for t in texts], dtype=np.float32)

    def query(self, text):
        return self.inner.query(text)

    def queries(self, texts):
        return self.inner.queries(texts)


@pytest.fixture(scope="module")
def embedder():
    settings = get_settings()
    return MemoEmbedder(embedder_for(settings))


@pytest.fixture(scope="module")
def full(tmp_path_factory, embedder):
    catalogue = Catalogue(OFFERS)
    index = load_or_build(tmp_path_factory.mktemp("index"), catalogue, embedder)
    return catalogue, index, OfferSearch(catalogue, index, embedder)


def subset(full, embedder, without: set[str]) -> OfferSearch:
    """A search over the test catalogue minus some offers, reusing the full index's vectors."""
    _, index, _ = full
    keep = [i for i, row in enumerate(index.rows) if row.offer_id not in without]
    catalogue = Catalogue([o for o in OFFERS if o.id not in without])
    part = build_offer_index([index.rows[i] for i in keep], np.asarray(index.vectors)[keep], index.manifest["model"],
                             "subset", topic_vectors=index.topic_vectors)
    return OfferSearch(catalogue, part, embedder)


# --------------------------------------------------------------------------------------------------
# Location tiers
# --------------------------------------------------------------------------------------------------


def test_own_municipality_comes_first(full):
    hits = full[2].search(LONELY_IN_LEMVIG, "Lemvig", limit=5, language="da")
    assert (hits[0].offer.id, hits[0].tier, hits[0].place) == ("test-lemvig-cafe", "municipality", "Lemvig")


def test_tier_fallback_lemvig_to_neighbour_region_and_national(full, embedder):
    # Nothing in Lemvig: the neighbouring Holstebro offer ("nothing in Lemvig, here is one in Holstebro").
    search = subset(full, embedder, {"test-lemvig-cafe"})
    result = search.run(LONELY_IN_LEMVIG, language="da", municipality="Lemvig", limit=5)
    first = result.hits[0]
    assert (first.offer.id, first.tier, first.place) == ("test-holstebro-cafe", "neighbour", "Holstebro")
    assert all(hit.tier != "municipality" for hit in result.hits)

    # Nothing in Lemvig or its neighbours: an offer elsewhere in Midtjylland, then national ones.
    search = subset(full, embedder, {"test-lemvig-cafe", "test-holstebro-cafe"})
    hits = search.search(LONELY_IN_LEMVIG, "Lemvig", limit=5, language="da")
    tiers = {hit.offer.id: (hit.tier, hit.place) for hit in hits}
    assert tiers["test-aarhus-walk"] == ("region", "Aarhus")
    assert {tier for tier, _ in tiers.values()} <= {"region", "national"}

    # Nothing in the region either: national offers only, the best on the topic first.
    search = subset(full, embedder, {"test-lemvig-cafe", "test-holstebro-cafe", "test-aarhus-walk"})
    hits = search.search(LONELY_IN_LEMVIG, "Lemvig", limit=5, language="da")
    assert hits[0].offer.id == "test-national-visits"
    assert all(hit.tier == "national" and hit.place is None for hit in hits)


def test_local_offers_in_other_regions_are_never_shown(full):
    for municipality in ("Lemvig", "Aarhus", "København", None):
        ids = [hit.offer.id for hit in full[2].search(LONELY_IN_LEMVIG, municipality, limit=20, language="da")]
        assert "test-odense-cafe" not in ids
    odense = [hit.offer.id for hit in full[2].search(LONELY_IN_LEMVIG, "Odense", limit=3, language="da")]
    assert odense[0] == "test-odense-cafe"


def test_without_a_municipality_only_national_offers(full):
    hits = full[2].search("jeg er ensom", None, limit=20, language="da")
    assert hits and all(hit.offer.where.scope == "national" for hit in hits)


def test_a_place_named_in_the_text_is_used_when_no_municipality_is_given(full):
    result = full[2].run("jeg bor i 7620 og føler mig ensom", language="da")
    assert (result.location.municipality, result.location.source) == ("Lemvig", "text")
    assert result.hits[0].offer.id == "test-lemvig-cafe"


def test_unknown_municipality_searches_nationally_and_says_so(full):
    result = full[2].run("jeg er ensom", language="da", municipality="Atlantis")
    assert result.location.source == "unknown" and result.location.municipality is None
    assert "Atlantis" in result.location.notice and "nationally" in result.location.notice
    assert result.hits and all(hit.tier == "national" for hit in result.hits)


# --------------------------------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------------------------------


def test_one_result_per_offer(full):
    _, index, search = full
    assert len(index.rows) > len(OFFERS)  # several language versions per offer are indexed
    hits = search.search("ensom kafee sigaar", "Lemvig", limit=20, language="da")
    ids = [hit.offer.id for hit in hits]
    assert len(ids) == len(set(ids)) == len(OFFERS) - 1  # every offer but Odense's, once each


def test_paging_continues_without_repeats(full):
    search = full[2]
    first = [h.offer.id for h in search.search(LONELY_IN_LEMVIG, "Lemvig", limit=3, offset=0, language="da")]
    second = [h.offer.id for h in search.search(LONELY_IN_LEMVIG, "Lemvig", limit=3, offset=3, language="da")]
    assert len(first) == len(second) == 3 and not set(first) & set(second)


@pytest.mark.parametrize("text, topic", [
    ("sigaarka ayaan rabaa inaan joojiyo", "smoking"),
    ("deyn badan ayaa igu jirta, biilasha ma bixin karo", "economy"),
    ("uur baan leeyahay, koox hooyooyin ma jirtaa", "pregnancy_family"),
])
def test_somali_query_finds_an_offer_on_the_right_topic(full, text, topic):
    result = full[2].run(text, language="so")
    assert topic in result.hits[0].offer.topics
    assert result.topics[0][0] == topic


def test_staff_language_boost(full):
    from dataclasses import replace

    search = full[2]
    found = search.candidates("أشعر بالوحدة", "ar", None)
    ids = [search.offers[number].id for number in found.offers]
    assert found.features[ids.index("test-national-visits"), 2] == 1.0  # its staff speak Arabic
    assert found.features[ids.index("test-national-grief"), 2] == 0.0

    def scores(language_weight):
        ranked = search.rank(found, replace(search.weights, language=language_weight), limit=20)
        return {ids[position]: score for position, score, _ in ranked}

    without, boosted = scores(0.0), scores(0.5)
    assert boosted["test-national-visits"] - without["test-national-visits"] == pytest.approx(0.5)
    assert boosted["test-national-grief"] == pytest.approx(without["test-national-grief"])


def test_a_2000_character_query_is_searched(full):
    text = ("Jeg føler mig ensom og har brug for nogen at tale med. " * 40)[:2000]
    hits = full[2].search(text, "Lemvig", language="da")
    assert hits and "loneliness" in hits[0].offer.topics


# --------------------------------------------------------------------------------------------------
# Index: manifest, staleness, atomic rebuild, broken files
# --------------------------------------------------------------------------------------------------


SMALL = OFFERS[4:7]


def test_manifest_and_no_rebuild_when_up_to_date(tmp_path, embedder):
    catalogue = Catalogue(SMALL)
    built = load_or_build(tmp_path, catalogue, embedder)
    manifest = read_manifest(tmp_path)
    assert manifest["model"] == embedder.name and manifest["dimension"] == 384
    assert manifest["fingerprint"] == fingerprint(catalogue) and manifest["index_type"] == "flat"
    assert manifest["rows"] == len(catalogue_rows(catalogue)) and manifest["offers"] == 3 and manifest["built_at"]
    assert (tmp_path / "current").is_symlink()

    class NoEmbedding(MemoEmbedder):
        def passages(self, texts, progress=None):
            raise AssertionError("an up-to-date index must not be rebuilt")

    loaded = load_or_build(tmp_path, catalogue, NoEmbedding(embedder.inner))
    assert loaded.manifest == built.manifest and loaded.offer_ids == [o.id for o in SMALL]


def test_the_topic_model_reads_character_ngrams_and_loads_as_saved(tmp_path, embedder):
    from knowledge.search.topics import TOPICS

    model = load_or_build(tmp_path, Catalogue(SMALL), embedder).topic_model
    assert len(model.ngrams) > 1000 and model.dimension == 384
    loaded = load_build(tmp_path / "current").topic_model
    text = "kiimo ayaan qaataa kansarka darteed"  # Somali: "I get chemo because of the cancer"
    vector = embedder.query(text)
    np.testing.assert_allclose(loaded.predict(vector, text), model.predict(vector, text), atol=1e-6)
    # The letters carry what e5 barely knows in Somali: with them the cancer topic is clearly likelier.
    cancer = TOPICS.index("cancer")
    assert model.predict(vector, text)[cancer] > model.predict(vector, "")[cancer] + 0.1
    assert int(np.argmax(model.predict(vector, text))) == cancer


def test_catalogue_change_rebuilds_and_swaps(tmp_path, embedder):
    old = load_or_build(tmp_path, Catalogue(SMALL), embedder)
    changed = SMALL[0].model_copy(update={"summary": {**SMALL[0].summary, "da": "Ny tekst om besøg og selskab."}})
    catalogue = Catalogue([changed, *SMALL[1:]])
    new = load_or_build(tmp_path, catalogue, embedder)
    assert new.manifest["fingerprint"] != old.manifest["fingerprint"]
    assert (tmp_path / "current").resolve() == new.path != old.path
    assert "Ny tekst om besøg" in load_build(tmp_path / "current").rows[0].text


def test_model_change_makes_the_index_stale(tmp_path, embedder):
    load_or_build(tmp_path, Catalogue(SMALL), embedder)

    class Other(MemoEmbedder):
        pass

    other = Other(embedder.inner)
    other.name, other._memo = "some-other-model", embedder._memo  # same vectors, another name: fast
    rebuilt = load_or_build(tmp_path, Catalogue(SMALL), other)
    assert rebuilt.manifest["model"] == "some-other-model"


def test_a_failed_rebuild_leaves_the_old_index_serving(tmp_path, embedder):
    old = load_or_build(tmp_path, Catalogue(SMALL), embedder)

    class Crashing(MemoEmbedder):
        def passages(self, texts, progress=None):
            raise RuntimeError("killed halfway")

    with pytest.raises(RuntimeError, match="killed halfway"):
        load_or_build(tmp_path, Catalogue(OFFERS[4:8]), Crashing(embedder.inner))
    assert (tmp_path / "current").resolve() == old.path
    assert load_build(tmp_path / "current").manifest == old.manifest
    assert not [p for p in (tmp_path / "builds").iterdir() if p.name.startswith(".")]


def test_wrong_dimension_index_file_is_detected_and_rebuilt(tmp_path, embedder):
    built = load_or_build(tmp_path, Catalogue(SMALL), embedder)
    wrong = faiss.IndexFlatIP(16)
    wrong.add(np.random.default_rng(0).normal(size=(built.index.ntotal, 16)).astype(np.float32))
    faiss.write_index(wrong, str(tmp_path / "current" / "offers.faiss"))
    with pytest.raises(IndexFileError, match="dimension 16"):
        load_build(tmp_path / "current")
    repaired = load_or_build(tmp_path, Catalogue(SMALL), embedder)
    assert repaired.index.d == 384 and repaired.path != built.path


def test_a_build_without_manifest_is_not_loaded(tmp_path, embedder):
    load_or_build(tmp_path, Catalogue(SMALL), embedder)
    (tmp_path / "current" / "manifest.json").unlink()
    with pytest.raises(IndexFileError, match="no manifest"):
        load_build(tmp_path / "current")


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------


def test_local_offers_elsewhere_do_not_count_as_hits(full):
    search = full[2]
    lemvig = search.resolve_location("Lemvig")
    by_id = {o.id: o for o in OFFERS}
    assert usable(search, by_id["test-holstebro-cafe"], lemvig)
    assert not usable(search, by_id["test-aarhus-walk"], lemvig)
    assert not usable(search, by_id["test-odense-cafe"], lemvig)
    assert usable(search, by_id["test-national-grief"], lemvig)


def test_evaluation_scores_hybrid_above_a_miss(full, tmp_path):
    queries = [Query("sigaarka ayaan rabaa inaan joojiyo", ("smoking",), "so"),
               Query("jeg er ensom", ("cancer",), "da")]  # no cancer offer: a miss in both systems
    results = evaluate(full[2], queries)
    assert results["hybrid"]["so"].rate(1) == 1.0 and results["hybrid"]["da"].rate(3) == 0.0
    assert results["bm25"]["da"].rate(3) == 0.0


def test_query_file_validation(tmp_path):
    path = tmp_path / "q.yml"
    path.write_text(yaml.safe_dump({"queries": [{"text": "hej", "expect_topics": ["not_a_topic"]}]}))
    with pytest.raises(ValueError, match="not_a_topic"):
        load_queries(path)


def test_dev_queries_cover_every_language():
    queries = load_queries(Path("knowledge/eval/dev_queries.yml"))
    counts = {lang: sum(q.language == lang for q in queries) for lang in ("da", "ar", "so", "tr", "fa", "en")}
    assert min(counts.values()) >= 15, counts


# --------------------------------------------------------------------------------------------------
# HTTP API
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path, full):
    settings = make_settings(tmp_path / "var", rasa_timeout_s=2.0, search_rate_limit="5/minute")
    with TestClient(create_app(settings)) as client:
        client.app.state.services.search = full[2]
        yield client


def test_api_search_returns_cards_with_tiers(api):
    response = api.post("/api/offers/search", json={"text": LONELY_IN_LEMVIG, "municipality": "Lemvig",
                                                    "language": "da", "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert len(body["offers"]) == 2 and body["took_ms"] >= 0 and body["notice"] is None
    first = body["offers"][0]
    assert first["id"] == "test-lemvig-cafe" and first["tier"] == "municipality" and first["place"] == "Lemvig"
    for key in ("id", "title", "summary", "topics", "municipality", "languages", "contact", "score"):
        assert key in first


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_api_empty_text_is_422(api, text):
    assert api.post("/api/offers/search", json={"text": text}).status_code == 422


def test_api_oversized_text_is_422_and_2000_chars_is_fine(api):
    text = ("jeg føler mig ensom " * 200)[:2000]
    ok = api.post("/api/offers/search", json={"text": text, "language": "da"})
    assert ok.status_code == 200 and ok.json()["offers"]
    too_long = api.post("/api/offers/search", json={"text": text + "x"})
    assert too_long.status_code == 422 and "2000" in too_long.json()["detail"]


def test_api_unknown_municipality_searches_nationally(api):
    body = api.post("/api/offers/search", json={"text": "jeg er ensom", "municipality": "Atlantis"}).json()
    assert "Atlantis" in body["notice"] and body["location"]["source"] == "unknown"
    assert body["offers"] and all(card["tier"] == "national" for card in body["offers"])


def test_api_bad_language_and_limit_are_422(api):
    assert api.post("/api/offers/search", json={"text": "hej", "language": "xx"}).status_code == 422
    assert api.post("/api/offers/search", json={"text": "hej", "limit": 0}).status_code == 422


def test_api_is_rate_limited_per_client(api):
    codes = [api.post("/api/offers/search", json={"text": "ensom", "language": "da"}).status_code
             for _ in range(6)]
    assert codes[:5] == [200] * 5 and codes[5] == 429
    limited = api.post("/api/offers/search", json={"text": "ensom"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_api_missing_model_is_503(tmp_path):
    from knowledge.embeddings import EmbeddingModelError

    class WithoutModel:
        def __init__(self, settings):
            self.settings = settings

        @property
        def search(self):
            raise EmbeddingModelError("cannot load embedding model 'absent' (nothing is downloaded)")

    settings = make_settings(tmp_path / "var", rasa_timeout_s=2.0)
    with TestClient(create_app(settings)) as client:
        services = client.app.state.services
        client.app.state.services = WithoutModel(services.settings)
        try:
            response = client.post("/api/offers/search", json={"text": "ensom"})
        finally:
            client.app.state.services = services
    assert response.status_code == 503 and "absent" in response.json()["detail"]


# --------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------


def test_cli_index_build_search_and_eval(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bot.cli import app
    from knowledge.catalogue import dump_offers

    offers_dir = tmp_path / "offers"
    offers_dir.mkdir()
    (offers_dir / "test.yml").write_text(dump_offers(OFFERS), encoding="utf-8")
    queries = tmp_path / "queries.yml"
    queries.write_text(yaml.safe_dump({"queries": [
        {"text": "sigaarka ayaan rabaa inaan joojiyo", "language": "so", "expect_topics": ["smoking"]},
        {"text": "jeg er ensom", "language": "da", "municipality": "Lemvig", "expect_topics": ["loneliness"]},
    ]}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("BROBYGGER_CATALOGUE_DIR", str(offers_dir))
    monkeypatch.setenv("BROBYGGER_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("BROBYGGER_EMBEDDING_DIR", str(get_settings().embedding_models_dir))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        built = runner.invoke(app, ["index", "build"])
        assert built.exit_code == 0, built.output
        assert read_manifest(tmp_path / "index")["offers"] == len(OFFERS)
        again = runner.invoke(app, ["index", "build"])
        assert again.exit_code == 0 and "up to date" in again.output

        found = runner.invoke(app, ["search", LONELY_IN_LEMVIG, "--municipality", "Lemvig", "--json"])
        assert found.exit_code == 0, found.output
        body = json.loads(found.stdout[found.stdout.index("{"):])
        assert body["offers"][0]["id"] == "test-lemvig-cafe"

        scored = runner.invoke(app, ["search-eval", str(queries), "--json"])
        assert scored.exit_code == 0, scored.output
        rows = {row["language"]: row for row in json.loads(scored.stdout[scored.stdout.index("["):])}
        assert rows["so"]["hybrid_hit@1"] == 1.0 and rows["all"]["n"] == 2
        assert "bm25_hit@3" in rows["da"] and "ratio_hit@3" in rows["all"]
    finally:
        get_settings.cache_clear()


def test_ivf_index_and_filtered_nearby_search_agree_with_flat(full, embedder, monkeypatch):
    from knowledge.search import engine as engine_module

    catalogue, index, flat_search = full
    ivf = build_offer_index(index.rows, np.asarray(index.vectors), index.manifest["model"], "ivf-test", "ivf",
                            topic_vectors=index.topic_vectors)
    assert ivf.index_type == "ivf" and ivf.index.ntotal == len(index.rows)
    # Big-catalogue path: nearby offers found by a filtered index search instead of scoring them all.
    monkeypatch.setattr(engine_module, "EXACT_NEARBY_OFFERS", 0)
    ivf_search = OfferSearch(catalogue, ivf, embedder)
    for municipality in ("Lemvig", "Odense", None):
        expected = [h.offer.id for h in flat_search.search(LONELY_IN_LEMVIG, municipality, limit=1, language="da")]
        got = [h.offer.id for h in ivf_search.search(LONELY_IN_LEMVIG, municipality, limit=1, language="da")]
        assert got == expected


def test_every_topic_has_citizen_words_in_the_five_languages():
    from knowledge.search.topics import TOPICS, topic_words

    covered = {topic for _, topic in topic_words()}
    assert covered == set(TOPICS)
    import yaml

    document = yaml.safe_load(Path("knowledge/search/topics.yml").read_text(encoding="utf-8"))
    for topic, entry in document.items():
        assert {"da", "ar", "so", "tr", "fa"} <= set(entry["words"]), topic
