"""Stream documents from JSONL (plain, .gz, .zst), Parquet or .txt files, a glob, or a directory of them.

A bad record never stops the stream and is never dropped silently: it comes out as a ``MalformedRecord`` naming
its file and line (Parquet: row; a file that cannot be opened at all: line 0), so the caller can count it as
rejected and go on. JSONL is read as bytes and decoded line by line, so one line of invalid UTF-8 or binary junk
costs that line only.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json", ".parquet", ".txt")


@dataclass(frozen=True)
class MalformedRecord:
    file: str
    line: int
    reason: str


@dataclass(frozen=True)
class FieldMapping:
    """Which record fields hold the text and id (others, e.g. url and lang, travel along as they are)."""

    text: str = "text"
    id: str = "id"


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.name.endswith(".zst"):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    return open(path, "rb")


def _record(record: Any, fields: FieldMapping, path: Path, number: int) -> dict | MalformedRecord:
    if not isinstance(record, dict):
        return MalformedRecord(str(path), number, f"expected a JSON object, got {type(record).__name__}")
    if not isinstance(record.get(fields.text), str):
        return MalformedRecord(str(path), number, f"no string field {fields.text!r}")
    record = dict(record)
    record["text"] = record.pop(fields.text)
    identifier = record.pop(fields.id, None)
    record["id"] = str(identifier) if identifier not in (None, "") else f"{path.name}:{number}"
    return record


def _jsonl(path: Path, fields: FieldMapping) -> Iterator[dict | MalformedRecord]:
    number = 0
    try:
        with _open_binary(path) as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    yield MalformedRecord(str(path), number, f"not UTF-8: {error.reason} at byte {error.start}")
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    yield MalformedRecord(str(path), number, f"invalid JSON: {error.msg}")
                    continue
                yield _record(record, fields, path, number)
    except (OSError, EOFError, ValueError) as error:  # truncated or corrupt .gz/.zst: the rest of the file is lost
        yield MalformedRecord(str(path), number + 1, f"unreadable from here on: {error}")


def _parquet(path: Path, fields: FieldMapping) -> Iterator[dict | MalformedRecord]:
    import pyarrow.parquet as pq

    row = 0
    try:
        for batch in pq.ParquetFile(path).iter_batches():
            for record in batch.to_pylist():
                row += 1
                yield _record(record, fields, path, row)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        yield MalformedRecord(str(path), row + 1, f"unreadable Parquet from here on: {error}")


def _text(path: Path, fields: FieldMapping) -> Iterator[dict | MalformedRecord]:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        yield MalformedRecord(str(path), 0, f"not UTF-8: {error.reason} at byte {error.start}")
        return
    yield {"id": path.name, "text": text}


def expand_paths(path_or_glob: str | Path) -> list[Path]:
    """The files a path, glob or directory names, sorted, so every reader sees the same order."""
    path = Path(path_or_glob)
    if path.is_dir():
        files = [child for child in sorted(path.rglob("*")) if child.is_file() and child.name.endswith(SUFFIXES)]
    elif any(char in str(path_or_glob) for char in "*?["):
        files = [Path(name) for name in sorted(glob.glob(str(path_or_glob), recursive=True)) if Path(name).is_file()]
    elif not path.exists():
        raise FileNotFoundError(f"{path_or_glob}: no such file or directory")
    else:
        files = [path]
    if not files:
        raise FileNotFoundError(f"no documents at {path_or_glob} (expected {', '.join(SUFFIXES)} files)")
    return files


def read_documents(path_or_glob: str | Path, text_field: str = "text",
                   id_field: str = "id") -> Iterator[dict | MalformedRecord]:
    """Records as ``{"id", "text", ...other fields}``, or ``MalformedRecord`` for what could not be read."""
    fields = FieldMapping(text_field, id_field)
    for path in expand_paths(path_or_glob):
        if path.name.endswith(".parquet"):
            yield from _parquet(path, fields)
        elif path.name.endswith(".txt"):
            yield from _text(path, fields)
        else:
            yield from _jsonl(path, fields)
