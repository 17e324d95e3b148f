"""Passage vectors kept on disk between index builds, keyed by the embedding model and the text.

Rebuilding the search index embeds every language version of every offer: about a minute for the
bundled catalogue on two cores, although an import usually changes a handful of offers and `brobygger
run` on a fresh `var/` rebuilds an index this machine has built before. With this cache a rebuild embeds
only texts it has not seen with the same model.

What is kept, and what never is:
- only passages (catalogue rows and topic descriptions: public texts the project publishes); a
  citizen's message is embedded as a query and never reaches this file;
- keys are SHA-256 hashes of the prompt and the text, so the file holds no text at all.

The model's identity is its name, dimension and sequence length plus a hash of the vectors it gives a
few fixed probe texts (rounded): another model, another conversion of the same weights or another
library version that changes the numbers gets its own entries instead of another's vectors.

The cache is an optimisation and nothing depends on it: a file that cannot be opened or written (a
read-only home, a damaged file) is skipped with one warning, and everything is embedded as before.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FILE_NAME = "passages.sqlite3"
# ~1.5 kB a vector at 384 dimensions: 200,000 vectors are ~300 MB. Past that, the oldest fifth goes.
MAX_VECTORS = 200_000
_LOOKUP_CHUNK = 500  # keys per SELECT (SQLite's default limit on bound parameters is 999 in old builds)
PROBE_TEXTS = ("Brobygger", "mødregruppe i Aarhus", "مجموعة دعم", "koox taageero", "destek grubu", "گروه حمایت")


def passage_key(prompt: str | None, text: str) -> bytes:
    return hashlib.sha256(f"{prompt or ''}\x00{text}".encode("utf-8", "surrogatepass")).digest()


def model_identity(name: str, dimension: int, max_seq_length: int | None, probe_vectors: np.ndarray) -> str:
    probes = hashlib.sha256(np.round(np.asarray(probe_vectors, dtype=np.float32), 3).tobytes()).hexdigest()[:16]
    return f"{name}|{dimension}|{max_seq_length}|{probes}"


class PassageCache:
    def __init__(self, directory: Path, max_vectors: int = MAX_VECTORS) -> None:
        self.path = Path(directory) / FILE_NAME
        self.max_vectors = max_vectors
        self._disabled = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")  # an app re-indexing and a CLI build may overlap
        connection.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key BLOB NOT NULL, "
                           "stored_at REAL NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID")
        return connection

    def _failed(self, exc: Exception) -> None:
        self._disabled = True
        log.warning("embedding cache %s is not usable (%s); embedding without it", self.path, exc)

    def get(self, model: str, keys: Iterable[bytes], dimension: int) -> dict[bytes, np.ndarray]:
        keys = list(dict.fromkeys(keys))
        if self._disabled or not keys:
            return {}
        found: dict[bytes, np.ndarray] = {}
        try:
            with closing(self._connect()) as connection:
                for start in range(0, len(keys), _LOOKUP_CHUNK):
                    part = keys[start:start + _LOOKUP_CHUNK]
                    rows = connection.execute(
                        f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({','.join('?' * len(part))})",
                        [model, *part])
                    for key, blob in rows:
                        vector = np.frombuffer(blob, dtype=np.float32)
                        if vector.shape == (dimension,):  # anything else is damage: embed it again
                            found[bytes(key)] = vector
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)
            return {}
        return found

    def put(self, model: str, vectors: dict[bytes, np.ndarray]) -> None:
        if self._disabled or not vectors:
            return
        now = time.time()
        try:
            with closing(self._connect()) as connection, connection:  # closed, and committed or rolled back
                connection.executemany(
                    "INSERT OR REPLACE INTO vectors (model, key, stored_at, vector) VALUES (?, ?, ?, ?)",
                    [(model, key, now, np.asarray(vector, dtype=np.float32).tobytes())
                     for key, vector in vectors.items()])
                (count,) = connection.execute("SELECT COUNT(*) FROM vectors").fetchone()
                if count > self.max_vectors:
                    connection.execute(
                        "DELETE FROM vectors WHERE (model, key) IN (SELECT model, key FROM vectors "
                        "ORDER BY stored_at LIMIT ?)", [count - int(self.max_vectors * 0.8)])
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)
