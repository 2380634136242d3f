"""Document texts for counting and evaluation: from ``ziya2lab.data.sources`` or from text/JSONL files.

The tokenizer sits beside ``ziya2lab.data`` in the layering, so the sources module is imported only when a named
source is actually read; the conversion and expansion code never needs it.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from ziya2lab.common.atomic import atomic_file
from ziya2lab.tokenizer.cjk import CJK_IDEOGRAPH

LEXICON_NAMES = ("jieba",)


def iter_source_texts(name: str, split: str, limit: int | None = None) -> Iterator[str]:
    """Texts of a shipped corpus (``ziya2lab.data.sources``), whole documents, in the source's stable order."""
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


def lexicon_char_counts(name: str) -> Counter[str]:
    """Character counts implied by a word-frequency lexicon: each word's frequency credited to its characters."""
    if name != "jieba":
        raise KeyError(f"unknown lexicon {name!r} (lexicon_sources); known: {', '.join(LEXICON_NAMES)}")
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    counts: Counter[str] = Counter()
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = line.split()
            if len(fields) < 2 or not fields[1].isdigit():
                raise ValueError(f"{path}:{line_number}: expected 'word frequency [tag]'")
            for char in CJK_IDEOGRAPH.findall(fields[0]):
                counts[char] += int(fields[1])
    return counts
