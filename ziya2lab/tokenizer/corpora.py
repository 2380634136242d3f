"""Document texts for counting and evaluation: shipped corpora by name (``ziya2lab.data.sources``: People's Daily,
reviews, fortunes-zh, manpages-zh and the classical chinese-poetry, Brown, ...), or text/JSONL files. All the modern
Chinese text there holds about 6,400 distinct characters LLaMA-2 lacks, fewer than Ziya2's 7,400; the classical
poetry supplies the rest."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from ziya2lab.common.atomic import atomic_file


def iter_source_texts(name: str, split: str, limit: int | None = None) -> Iterator[str]:
    """Texts of a named ``ziya2lab.data.sources`` corpus, whole documents, in a stable order, restricted to
    ``split``. The data factory shares these sources; ``data.sources`` sits beside ``ziya2lab.tokenizer`` in the
    layering, so it is imported only when a source is read."""
    from ziya2lab.data.sources import iter_source

    for document in iter_source(name, split=split, limit=limit):
        yield document["text"]


def iter_file_texts(path: str | Path, text_field: str = "text") -> Iterator[str]:
    """Documents of a JSONL file (``.jsonl``/``.jsonl.gz``, one object with ``text_field`` per line) or of a text
    file (one document per non-empty line). A malformed line raises naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"corpus file {path} does not exist")
    is_jsonl = ".jsonl" in path.suffixes or ".json" in path.suffixes
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if not is_jsonl:
                yield line.rstrip("\n")
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{line_number}: not valid JSON ({error.msg})") from error
            text = record.get(text_field) if isinstance(record, dict) else None
            if not isinstance(text, str):
                raise ValueError(f"{path}:{line_number}: no string field {text_field!r}")
            yield text


def write_source_jsonl(name: str, split: str, path: str | Path, limit: int | None = None) -> Path:
    """Materialise a source split as JSONL, so an evaluation names a file that can be re-read or shared."""
    path = Path(path)
    with atomic_file(path) as handle:
        for text in iter_source_texts(name, split, limit):
            handle.write(json.dumps({"text": text, "source": name, "split": split}, ensure_ascii=False) + "\n")
    return path
