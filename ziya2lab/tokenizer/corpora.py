"""Document texts for counting and evaluation: shipped corpora by name (``ziya2lab.data.sources``: People's Daily,
reviews, fortunes-zh, manpages-zh and the classical chinese-poetry, Brown, ...), or the user's files. All the modern
Chinese text there holds about 6,400 distinct characters LLaMA-2 lacks, fewer than Ziya2's 7,400; the classical
poetry supplies the rest.

``ziya2lab.data`` sits beside ``ziya2lab.tokenizer`` in the layering; it owns reading both the shipped sources and
users' files, so the tokenizer counts and evaluates exactly the documents the factory and the trainer would read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ziya2lab.common.jsonl import write_jsonl


def iter_source_texts(name: str, split: str, limit: int | None = None) -> Iterator[str]:
    """Texts of a named ``ziya2lab.data.sources`` corpus, whole documents, in a stable order, restricted to
    ``split``."""
    from ziya2lab.data.sources import iter_source

    for document in iter_source(name, split=split, limit=limit):
        yield document["text"]


def iter_file_texts(path: str | Path, text_field: str = "text") -> Iterator[str]:
    """Documents of the user's files, read by ``ziya2lab.data.readers.read_documents``: JSONL (plain, ``.gz``,
    ``.zst``; ``text_field`` per line), Parquet, or ``.txt`` (the whole file is one document); a path, glob or
    directory. Every document counts, so a malformed record stops the run with an error naming its file and line."""
    from ziya2lab.data.readers import MalformedRecord, read_documents

    for record in read_documents(path, text_field=text_field):
        if isinstance(record, MalformedRecord):
            raise ValueError(f"{record.file}:{record.line}: {record.reason}")
        yield record["text"]


def write_source_jsonl(name: str, split: str, path: str | Path, limit: int | None = None) -> Path:
    """Materialise a source split as JSONL, so an evaluation names a file that can be re-read or shared."""
    records = ({"text": text, "source": name, "split": split} for text in iter_source_texts(name, split, limit))
    write_jsonl(path, records)
    return Path(path)
