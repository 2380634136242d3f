"""Stream documents from JSONL (plain, .gz, .zst), Parquet or .txt files, a glob, or a directory of them.

A bad record never stops the stream and is never dropped silently: it comes out as a ``MalformedRecord`` naming
its file and line, so the caller can count it as rejected and go on.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json", ".parquet", ".txt")


@dataclass(frozen=True)
class MalformedRecord:
    file: str
    line: int
    reason: str


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    if path.name.endswith(".zst"):
        import zstandard

        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(path, "rb")), encoding="utf-8")
    return open(path, encoding="utf-8")


def _jsonl(path: Path, text_field: str) -> Iterator[dict | MalformedRecord]:
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                yield MalformedRecord(str(path), number, f"invalid JSON: {error.msg}")
                continue
            if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
                yield MalformedRecord(str(path), number, f"no string field {text_field!r}")
                continue
            record.setdefault("id", f"{path.name}:{number}")
            yield record


def _parquet(path: Path, text_field: str) -> Iterator[dict | MalformedRecord]:
    import pyarrow.parquet as pq

    row = 0
    for batch in pq.ParquetFile(path).iter_batches():
        for record in batch.to_pylist():
            row += 1
            if not isinstance(record.get(text_field), str):
                yield MalformedRecord(str(path), row, f"no string field {text_field!r}")
                continue
            record.setdefault("id", f"{path.name}:{row}")
            yield record


def _text(path: Path, text_field: str) -> Iterator[dict | MalformedRecord]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        yield MalformedRecord(str(path), 0, f"not UTF-8: {error.reason}")
        return
    yield {"id": path.name, text_field: text}


def expand_paths(path_or_glob: str | Path) -> list[Path]:
    """The files a path, glob or directory names, sorted, so every reader sees the same order."""
    path = Path(path_or_glob)
    if path.is_dir():
        files = [child for child in sorted(path.rglob("*")) if child.is_file() and child.name.endswith(SUFFIXES)]
    elif any(char in str(path_or_glob) for char in "*?["):
        files = [Path(name) for name in sorted(glob.glob(str(path_or_glob), recursive=True))]
    else:
        files = [path]
    if not files or not all(file.exists() for file in files):
        raise FileNotFoundError(f"no documents at {path_or_glob} (expected {', '.join(SUFFIXES)} files)")
    return files


def read_documents(path_or_glob: str | Path, text_field: str = "text") -> Iterator[dict | MalformedRecord]:
    for path in expand_paths(path_or_glob):
        if path.name.endswith(".parquet"):
            yield from _parquet(path, text_field)
        elif path.name.endswith(".txt"):
            yield from _text(path, text_field)
        else:
            yield from _jsonl(path, text_field)
