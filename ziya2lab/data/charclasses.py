"""Unicode character classes as lookup tables over all code points, so that a per-character test runs as one
numpy indexing operation instead of a Python loop over every character of every document.

Each table is built by testing every code point with the predicate the Python loop used, so counts and removals
are exactly the loop's; that takes ~0.3 s, so the tables are kept in ``$ZIYA2LAB_CACHE/charclasses``, one file per
table and Unicode version (a process loads them in milliseconds).
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from collections.abc import Callable

import numpy as np

from ziya2lab.common.atomic import atomic_file
from ziya2lab.common.paths import cache_dir

UNICODE_SIZE = 0x110000


@functools.cache
def _characters() -> list[str]:
    return [chr(code) for code in range(UNICODE_SIZE)]


@functools.cache
def _categories() -> list[str]:
    return [unicodedata.category(char) for char in _characters()]


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _cached(build: Callable[[], np.ndarray]) -> Callable[[], np.ndarray]:
    """A table, built once per Unicode and Python version and then read from the cache."""

    @functools.cache
    def table() -> np.ndarray:
        version = f"{unicodedata.unidata_version}-py{sys.version_info.major}.{sys.version_info.minor}"
        path = cache_dir("charclasses") / f"{build.__name__}-{version}.npy"
        if path.exists():
            return np.load(path)
        built = build()
        with atomic_file(path, "wb", encoding=None) as handle:
            np.save(handle, built)
        return built

    table.__doc__ = build.__doc__
    return table


@_cached
def symbol_or_other() -> np.ndarray:
    """Unicode category S* or C*, not whitespace (the rules' symbol count)."""
    return np.array([category[0] in "SC" and not char.isspace()
                     for char, category in zip(_characters(), _categories(), strict=True)])


@_cached
def digit() -> np.ndarray:
    """``str.isdigit`` (regex ``\\d`` is ``isdecimal``, a smaller set)."""
    return np.array([char.isdigit() for char in _characters()])


@_cached
def control_or_format() -> np.ndarray:
    """Unicode category C* (control, format, surrogate, private use, unassigned) other than newline and tab."""
    table = np.array([category[0] == "C" for category in _categories()])
    table[[ord("\n"), ord("\t")]] = False
    return table


@functools.cache
def latin_letter() -> np.ndarray:
    """The rules' Latin letters: A-Z, a-z and U+00C0-024F (Latin-1 Supplement to Latin Extended-B)."""
    table = np.zeros(UNICODE_SIZE, dtype=bool)
    table[ord("A") : ord("Z") + 1] = table[ord("a") : ord("z") + 1] = table[0xC0 : 0x24F + 1] = True
    return table


@_cached
def latin_upper() -> np.ndarray:
    """Those Latin letters that are upper-case (``str.isupper``)."""
    table = latin_letter().copy()
    table[table] = [chr(code).isupper() for code in np.flatnonzero(table)]
    return table


def count(table: np.ndarray, text: str) -> int:
    """Characters of ``text`` in the class."""
    return int(np.count_nonzero(table[_codes(text)]))


def remove(table: np.ndarray, text: str) -> str:
    """``text`` without the characters of the class."""
    codes = _codes(text)
    return codes[~table[codes]].tobytes().decode("utf-32-le", "surrogatepass")
