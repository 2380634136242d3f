"""Content hashes used as cache keys, so a cache entry is reused only when its inputs are byte-identical."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def hash_bytes(*parts: bytes) -> str:
    """SHA-256 over the parts, length-prefixed so that ("ab", "c") and ("a", "bc") differ."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def hash_texts(texts: Iterable[str]) -> str:
    """Hash of a sequence of texts, order-sensitive."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def hash_config(config: Any) -> str:
    """Hash of a JSON-serialisable config; key order does not matter."""
    return hash_bytes(json.dumps(config, sort_keys=True, default=str).encode())


def hash_file(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
