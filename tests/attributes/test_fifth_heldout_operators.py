"""The fifth held-out operator set does what its docstring claims, deterministically (its pin is in
test_heldout_operators.py with the other sets')."""

from __future__ import annotations

import ast
import difflib
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from ziya2lab.attributes import fifth_heldout_operators as fifth

WORD_ORDER = ["neighbour_swaps", "fronted_phrase", "reversed_run", "length_ladder"]
MILD_WORD_ORDER = ["neighbour_swaps", "fronted_phrase", "reversed_run"]
SHARES = {"neighbour_swaps": 0.5, "fronted_phrase": 0.4, "reversed_run": 0.5, "length_ladder": 0.5}
ALL_OPERATORS = [*fifth.READABILITY, *fifth.COHERENCE]


def _apply(name: str, doc: dict, donors: list[str], seed: int = 0) -> str:
    """Run operator ``name`` on ``doc`` with a fresh generator seeded from ``seed`` and the document id."""
    rng = random.Random(f"{seed}:{doc['id']}")
    if name in fifth.READABILITY:
        return fifth.READABILITY[name](doc["text"], doc["lang"], rng)
    return fifth.COHERENCE[name](doc["text"], doc["lang"], donors, rng)


@pytest.fixture(scope="module")
def outputs(documents: list[dict], donors_for: Callable[[dict], list[str]]) -> dict[str, list[str]]:
    """Every operator's output on every document, computed once for the module."""
    return {name: [_apply(name, doc, donors_for(doc)) for doc in documents] for name in ALL_OPERATORS}


def _squash(text: str) -> str:
    """The text without whitespace, to compare content across line splits."""
    return re.sub(r"\s+", "", text)


def test_the_module_imports_only_the_standard_library_and_jieba() -> None:
    """Self-contained: a change to the project's text helpers cannot change what these operators do."""
    tree = ast.parse(Path(fifth.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            roots.add(node.module.split(".")[0])
    assert roots - {"__future__", "jieba"} <= set(sys.stdlib_module_names)


def test_the_families() -> None:
    assert list(fifth.READABILITY) == [*WORD_ORDER, "stripped_stops", "wrong_function_words", "clipped_words"]
    assert list(fifth.COHERENCE) == ["interleaved_donor", "comment_thread", "classified_ads"]


@pytest.mark.parametrize("name", ALL_OPERATORS)
def test_deterministic_given_the_generator(name: str, documents: list[dict], outputs: dict[str, list[str]],
                                           donors_for: Callable[[dict], list[str]]) -> None:
    again = [_apply(name, doc, donors_for(doc)) for doc in documents]
    assert again == outputs[name]
    if name != "stripped_stops":  # it has no random choice to make
        other = [_apply(name, doc, donors_for(doc), seed=1) for doc in documents]
        assert other != outputs[name]


@pytest.mark.parametrize("name", ALL_OPERATORS)
def test_changes_most_documents(name: str, documents: list[dict], outputs: dict[str, list[str]]) -> None:
    changed = [out != doc["text"] for doc, out in zip(documents, outputs[name], strict=True)]
    assert sum(changed) >= 0.9 * len(documents)
    assert all(changed[:14]), "every English document has sites for every family"


@pytest.mark.parametrize("name", ALL_OPERATORS)
@pytest.mark.parametrize("text", ["", "—— ……", "\n"])
def test_no_site_leaves_the_text_alone(name: str, text: str) -> None:
    for lang in ("en", "zh"):
        donors = ["A donor sentence of some length here."]
        assert _apply(name, {"id": "x", "text": text, "lang": lang}, donors) == text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_interleaving_without_donors_leaves_the_text_alone(lang: str, documents: list[dict]) -> None:
    doc = next(d for d in documents if d["lang"] == lang)
    assert _apply("interleaved_donor", doc, []) == doc["text"]


def _bad_lines(text: str) -> int:
    """Lines that are empty, padded or hold a doubled space."""
    return sum(1 for line in text.split("\n") if not line or line != line.strip() or "  " in line)


@pytest.mark.parametrize("name", ALL_OPERATORS)
def test_lines_stay_sane(name: str, documents: list[dict], outputs: dict[str, list[str]]) -> None:
    """No empty lines, stray spaces or doubled spaces appear; readability families keep the line count."""
    for doc, out in zip(documents, outputs[name], strict=True):
        assert _bad_lines(out) <= _bad_lines(doc["text"])
        if name in fifth.READABILITY:
            assert out.count("\n") == doc["text"].count("\n")


def _characters(text: str, lang: str) -> list[Counter]:
    return [Counter(line.lower() if lang == "en" else line) for line in text.split("\n")]


@pytest.mark.parametrize("name", WORD_ORDER)
def test_word_order_keeps_every_character_of_every_line(name: str, documents: list[dict],
                                                       outputs: dict[str, list[str]]) -> None:
    for doc, out in zip(documents, outputs[name], strict=True):
        assert _characters(out, doc["lang"]) == _characters(doc["text"], doc["lang"])
        assert [len(line) for line in out.split("\n")] == [len(line) for line in doc["text"].split("\n")]


def _sentence_pairs(doc: dict, out: str) -> list[tuple[str, str]]:
    """(original, output) sentence pairs: word-order families keep each sentence's span on its line."""
    lines = out.split("\n")
    return [(s.text, lines[s.line][s.start:s.end]) for s in fifth._sentences(doc["text"], doc["lang"])]


def _long(sentence: str, lang: str) -> bool:
    return len(sentence) >= 30 if lang == "zh" else len(sentence.split()) >= 10


@pytest.mark.parametrize("name", WORD_ORDER)
def test_word_order_touches_its_share_of_sentences(name: str, documents: list[dict],
                                                  outputs: dict[str, list[str]]) -> None:
    """Pooled over sentences long enough to be eligible, the share touched is the declared one, roughly."""
    for lang in ("en", "zh"):
        pairs = [pair for doc, out in zip(documents, outputs[name], strict=True) if doc["lang"] == lang
                 for pair in _sentence_pairs(doc, out) if _long(pair[0], lang)]
        share = sum(before != after for before, after in pairs) / len(pairs)
        assert SHARES[name] - 0.1 <= share <= SHARES[name] + 0.1, (lang, share)


def _displaced(before: str, after: str, lang: str) -> float:
    """Share of positions (English whitespace tokens, lower-cased; Chinese characters) now holding another."""
    a, b = (before.lower().split(), after.lower().split()) if lang == "en" else (list(before), list(after))
    if len(a) != len(b):
        return 1.0
    return sum(x != y for x, y in zip(a, b, strict=True)) / len(a)


def _pooled_displacement(name: str, documents: list[dict], outputs: dict[str, list[str]], lang: str) -> float:
    values = [_displaced(before, after, lang) for doc, out in zip(documents, outputs[name], strict=True)
              if doc["lang"] == lang for before, after in _sentence_pairs(doc, out) if before != after]
    return sum(values) / len(values)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_strong_word_order_displaces_most_words(lang: str, documents: list[dict],
                                                outputs: dict[str, list[str]]) -> None:
    assert _pooled_displacement("length_ladder", documents, outputs, lang) >= 0.6


@pytest.mark.parametrize("name", ["neighbour_swaps", "reversed_run"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_mild_word_order_leaves_most_words_in_place(name: str, lang: str, documents: list[dict],
                                                    outputs: dict[str, list[str]]) -> None:
    assert _pooled_displacement(name, documents, outputs, lang) <= 0.35


def test_fronted_phrase_moves_words_from_late_in_the_sentence_to_its_start(
        documents: list[dict], outputs: dict[str, list[str]]) -> None:
    """In English, a touched sentence opens with words that stood in its second half before."""
    opened_late = []
    for doc, out in zip(documents, outputs["fronted_phrase"], strict=True):
        for before, after in _sentence_pairs(doc, out) if doc["lang"] == "en" else []:
            if before != after:
                words = before.lower().split()
                first_two = " ".join(after.lower().split()[:2])
                second_half_from = len(" ".join(words[:len(words) // 2]))
                opened_late.append(" ".join(words).find(first_two, second_half_from) >= 0)
    assert opened_late and sum(opened_late) >= 0.9 * len(opened_late)


def test_stripped_stops_leaves_no_sentence_end(documents: list[dict], outputs: dict[str, list[str]]) -> None:
    for doc, out in zip(documents, outputs["stripped_stops"], strict=True):
        assert re.sub(r"[.!?。！？]", "", out) == re.sub(r"[.!?。！？]", "", doc["text"]), "only marks removed"
        if doc["lang"] == "zh":
            assert not re.search("[。！？]", out)
        else:
            assert not re.search(r"\b[a-z]{4,}[.!?][\"')]*(\s|$)", out)
            assert not any(re.search(r"[.!?][\"')]*$", line) for line in out.split("\n"))


_EN_FUNCTION_WORDS = {
    "the", "a", "an", "of", "in", "on", "to", "for", "with", "from", "at", "by", "into", "is", "are",
    "was", "were", "has", "have", "does", "do", "he", "she", "they", "we", "his", "their", "who", "this",
    "these", "its", "him", "her", "them", "us", "whom", "it",
}
_ZH_FUNCTION_CHARACTERS = set("的地得了着过把被和或在从对以向将与为也又都却就才而并于因为所以虽然但是关于已经正")


def _changed_tokens(before: str, after: str) -> list[tuple[str, str]]:
    pairs = zip(before.split(), after.split(), strict=True)
    return [(re.sub(r"\W", "", x), re.sub(r"\W", "", y)) for x, y in pairs if x != y]


def _zh_edits(before: str, after: str) -> list[tuple[str, str]]:
    opcodes = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    return [(before[i1:i2], after[j1:j2]) for tag, i1, i2, j1, j2 in opcodes if tag != "equal"]


def test_wrong_function_words_only_replaces_function_words(documents: list[dict],
                                                           outputs: dict[str, list[str]]) -> None:
    replaced = 0
    for doc, out in zip(documents, outputs["wrong_function_words"], strict=True):
        for before, after in zip(doc["text"].split("\n"), out.split("\n"), strict=True):
            if doc["lang"] == "en":
                changed = _changed_tokens(before, after)
                assert all(x.lower() in _EN_FUNCTION_WORDS and y.lower() in _EN_FUNCTION_WORDS and x != y
                           for x, y in changed), changed
            else:
                changed = _zh_edits(before, after)
                assert all(set(x + y) <= _ZH_FUNCTION_CHARACTERS for x, y in changed), changed
            replaced += len(changed)
    assert replaced >= 2 * len(documents)


def _is_subsequence(short: str, long: str) -> bool:
    letters = iter(long)
    return all(ch in letters for ch in short)


def test_clipped_words_only_drop_letters(documents: list[dict], outputs: dict[str, list[str]]) -> None:
    for doc, out in zip(documents, outputs["clipped_words"], strict=True):
        assert len(out) <= len(doc["text"])
        for before, after in zip(doc["text"].split("\n"), out.split("\n"), strict=True):
            if doc["lang"] == "en":
                for x, y in _changed_tokens(before, after):
                    assert 1 <= len(x) - len(y) <= 3 and _is_subsequence(y, x) and x.islower(), (x, y)
            else:
                assert all(not y and len(x) == 1 for x, y in _zh_edits(before, after)) or \
                    _is_subsequence(after, before)


def test_interleaved_donor_keeps_the_host_and_adds_donor_sentences(
        documents: list[dict], outputs: dict[str, list[str]],
        donors_for: Callable[[dict], list[str]]) -> None:
    host_chars = added_chars = 0
    for doc, out in zip(documents, outputs["interleaved_donor"], strict=True):
        host, got = _squash(doc["text"]), _squash(out)
        assert _is_subsequence(host, got)
        start = next(i for i, (x, y) in enumerate(zip(host + "\0", got, strict=False)) if x != y)
        assert any(got[start:start + 12] in _squash(donor) for donor in donors_for(doc))
        host_chars, added_chars = host_chars + len(host), added_chars + len(got) - len(host)
    assert added_chars >= 0.6 * host_chars, "about one foreign sentence per host sentence"


def _inserted(host: str, got: str) -> tuple[int, str]:
    """Where one contiguous insertion sits in ``host`` (squashed) and what it is; fails if there are more."""
    prefix = next(i for i, (x, y) in enumerate(zip(host + "\0", got, strict=False)) if x != y)
    suffix = 0
    while suffix < len(host) - prefix and host[len(host) - 1 - suffix] == got[len(got) - 1 - suffix]:
        suffix += 1
    assert prefix + suffix == len(host), "the host text is kept whole, around one inserted block"
    return prefix, got[prefix:len(got) - suffix]


@pytest.mark.parametrize("name", ["comment_thread", "classified_ads"])
def test_blocks_keep_the_host_and_sit_inside_it(name: str, documents: list[dict],
                                                outputs: dict[str, list[str]]) -> None:
    places = []
    for doc, out in zip(documents, outputs[name], strict=True):
        host, got = _squash(doc["text"]), _squash(out)
        at, block = _inserted(host, got)
        assert out.count("\n") >= doc["text"].count("\n") + 4
        assert len(block) >= 80 and block not in host
        if doc["lang"] == "zh":
            assert not re.search("[A-Za-z]", block.replace("Ａ", "")), block
        places.append(at / len(host))
    inside = [0.2 <= place <= 0.8 for place in places]
    assert sum(inside) >= 0.8 * len(places), places
