"""The passage cache: a rebuild embeds only texts it has not seen with the same model, returns the same
vectors, never keeps a citizen's message or any text, and never stops a build when its file is bad."""

import logging
import os
import sqlite3

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.settings import get_settings  # noqa: E402
from knowledge.catalogue import Catalogue  # noqa: E402
from knowledge.embeddings import Embedder, embedder_for  # noqa: E402
from knowledge.index import load_or_build  # noqa: E402
from knowledge.passage_cache import FILE_NAME, PassageCache, passage_key  # noqa: E402
from tests.test_search import OFFERS, offer  # noqa: E402

TEXTS = ["Fællesskabscafé i Lemvig", "مشاوره رایگان بدهی", "Khadka joojinta sigaarka", "Sigara bırakma hattı",
         "Fællesskabscafé i Lemvig", "🙂 kaffe ☕"]


class Counting(Embedder):
    """The real model; counts the texts it actually runs through the network (probe texts included)."""

    def __init__(self, model, name, cache) -> None:
        super().__init__(model, name, cache)
        self.encoded: list[str] = []

    def _encode(self, texts, prompt, batch_size=32, progress=None):
        self.encoded += texts
        return super()._encode(texts, prompt, batch_size=batch_size, progress=progress)


@pytest.fixture(scope="module")
def model():
    return embedder_for(get_settings()).model


def counting(model, directory) -> Counting:
    return Counting(model, "multilingual-e5-small", PassageCache(directory))


def test_second_call_embeds_nothing_and_returns_the_same_vectors(model, tmp_path):
    uncached = Embedder(model, "multilingual-e5-small").passages(TEXTS)
    first = counting(model, tmp_path)
    done: list[int] = []
    vectors = first.passages(TEXTS, progress=done.append)
    np.testing.assert_allclose(vectors, uncached, atol=1e-5)
    assert sum(done) == len(TEXTS) and first.encoded.count("Fællesskabscafé i Lemvig") == 1

    later = counting(model, tmp_path)  # another process, the same file
    done.clear()
    again = later.passages(list(reversed(TEXTS)), progress=done.append)
    np.testing.assert_array_equal(again, vectors[::-1])
    assert sum(done) == len(TEXTS)
    assert set(later.encoded) <= set(first.encoded) - set(TEXTS)  # only the probe texts, to know the model


def test_queries_and_texts_never_reach_the_file(model, tmp_path):
    embedder = counting(model, tmp_path)
    embedder.passages(["Sorggrupper for voksne"])
    embedder.queries(["jeg hedder Amina og bor på Gellerupvej 12"])
    embedder.query("mit nummer er 20 30 40 50")
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("SELECT COUNT(*) FROM vectors").fetchone() == (1,)
    raw = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    for text in ("Sorggrupper", "Amina", "Gellerupvej", "20 30 40 50"):
        assert text.encode() not in raw


def test_another_model_does_not_read_these_vectors(tmp_path):
    cache = PassageCache(tmp_path)
    key = passage_key("passage", "Sorggrupper")
    cache.put("model-a|384|512|0000", {key: np.ones(384, dtype=np.float32)})
    assert cache.get("model-b|384|512|1111", [key], 384) == {}
    assert cache.get("model-a|384|512|0000", [key], 384)[key].tolist() == [1.0] * 384
    assert cache.get("model-a|384|512|0000", [key], 768) == {}  # a vector of the wrong size is not used


def test_a_damaged_file_is_skipped_with_a_warning_and_the_build_goes_on(model, tmp_path, caplog):
    (tmp_path / FILE_NAME).write_bytes(b"\x00not a database\xff" * 64)
    embedder = counting(model, tmp_path)
    with caplog.at_level(logging.WARNING, logger="knowledge.passage_cache"):
        vectors = embedder.passages(TEXTS[:2])
        embedder.passages(TEXTS[:2])
    np.testing.assert_allclose(vectors, Embedder(model, "multilingual-e5-small").passages(TEXTS[:2]), atol=1e-5)
    assert "not usable" in caplog.text and caplog.text.count("not usable") == 1
    assert embedder.encoded.count(TEXTS[0]) == 2  # without a cache, embedded each time


def test_the_oldest_vectors_go_when_the_cache_is_full(tmp_path):
    cache = PassageCache(tmp_path, max_vectors=10)
    keys = [passage_key(None, str(i)) for i in range(13)]
    for key in keys:
        cache.put("m", {key: np.zeros(4, dtype=np.float32)})
    kept = cache.get("m", keys, 4)
    assert len(kept) <= 10 and keys[-1] in kept and keys[0] not in kept


def test_a_catalogue_change_embeds_only_the_changed_rows(model, tmp_path):
    embedder = counting(model, tmp_path / "cache")
    first = load_or_build(tmp_path / "index", Catalogue(OFFERS), embedder)
    changed = [o for o in OFFERS if o.id != "test-odense-cafe"] + [
        offer("test-odense-cafe", ["loneliness"], {"scope": "local", "municipalities": ["Odense"],
                                                   "region": "Syddanmark"},
              {"da": "Venskabscafé i Odense C"}, {"da": "Et hyggeligt sted at møde andre, hvis du er ensom."})]
    embedder.encoded.clear()
    second = load_or_build(tmp_path / "index", Catalogue(changed), embedder)
    assert second.manifest["fingerprint"] != first.manifest["fingerprint"]
    odense_rows = [row.text for row in second.rows if row.offer_id == "test-odense-cafe"]
    assert embedder.encoded and set(embedder.encoded) <= set(odense_rows)  # nothing else went through the model
    assert second.manifest["embedded_rows"] == len(embedder.encoded) < len(second.rows)
