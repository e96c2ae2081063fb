"""An on-disk embedding cache keyed by encoder and text, so retraining on a grown export embeds only new
tickets. One SQLite file; the key is a hash of the text, so the cache holds no ticket text.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS embedding (encoder TEXT, text_hash BLOB, vector BLOB, PRIMARY KEY (encoder, text_hash))"
)
_CHUNK = 500


def _hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class EmbeddingCache:
    """Get-or-compute embeddings from ``path`` (an SQLite file, created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as db:
            db.execute(_SCHEMA)
        self.hits = 0
        self.misses = 0

    def get_or_compute(
        self, encoder_key: str, texts: Sequence[str], compute: Callable[[list[str]], np.ndarray], dim: int
    ) -> np.ndarray:
        """Embeddings of ``texts``: cached rows are read, the rest computed by ``compute`` and stored."""
        hashes = [_hash(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        with sqlite3.connect(self.path) as db:
            unique = list(dict.fromkeys(hashes))
            for i in range(0, len(unique), _CHUNK):
                chunk = unique[i : i + _CHUNK]
                rows = db.execute(
                    f"SELECT text_hash, vector FROM embedding WHERE encoder = ? AND text_hash IN "
                    f"({','.join('?' * len(chunk))})",
                    [encoder_key, *chunk],
                )
                found.update((h, np.frombuffer(v, dtype=np.float32)) for h, v in rows)
            todo = {h: t for h, t in zip(hashes, texts, strict=True) if h not in found}
            self.hits += len(texts) - sum(1 for h in hashes if h in todo)
            self.misses += len(todo)
            if todo:
                vectors = np.asarray(compute(list(todo.values())), dtype=np.float32)
                db.executemany(
                    "INSERT OR REPLACE INTO embedding VALUES (?, ?, ?)",
                    [(encoder_key, h, v.tobytes()) for h, v in zip(todo, vectors, strict=True)],
                )
                found.update(zip(todo, vectors, strict=True))
        out = np.empty((len(texts), dim), dtype=np.float32)
        for i, h in enumerate(hashes):
            out[i] = found[h]
        return out
