"""The third held-out operator set: each operator doing what its name says (frozen and deterministic:
test_heldout_operators.py, which checks every set)."""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable

import jieba

from ziya2lab.attributes import third_heldout_operators
from ziya2lab.attributes.third_heldout_operators import COHERENCE, READABILITY

SCRAMBLES = ("adjacent_swaps", "reversed_sentences", "sorted_words", "deep_jumble")
SENTENCE_PUNCTUATION = {"en": re.compile(r"[.!?;]"), "zh": re.compile(r"[。！？；]")}


def _sentence_count(text: str, lang: str) -> int:
    return sum(len(parts) for parts in third_heldout_operators._split(text, lang))


def _marks(text: str) -> Counter:
    return Counter(char for char in text if unicodedata.category(char)[0] == "P")


def _letters(text: str, lang: str) -> Counter:
    """What a scramble keeps: the characters (zh), or each word's letters as a sorted string (en)."""
    if lang == "zh":
        return Counter(char for char in text if not char.isspace())
    return Counter("".join(sorted(word)) for word in re.findall(r"\w+", text))


def test_no_sentence_punctuation_is_left(documents: list[dict]) -> None:
    for doc in documents:
        for name in ("one_run", "wrong_marks"):
            out = READABILITY[name](doc["text"], doc["lang"], random.Random(0))
            assert out != doc["text"], (name, doc["id"])
            assert not SENTENCE_PUNCTUATION[doc["lang"]].search(out), (name, doc["id"])
        run = READABILITY["one_run"](doc["text"], doc["lang"], random.Random(0))
        assert "\n" not in run, doc["id"]  # one unbroken run
        marked = READABILITY["wrong_marks"](doc["text"], doc["lang"], random.Random(0))
        assert marked.count("\n") == len([line for line in doc["text"].split("\n") if line.strip()]) - 1
        words = re.findall(r"\w+", doc["text"])  # only marks change: the words are all still there, in order
        assert re.findall(r"\w+", marked) == words, doc["id"]


def test_scrambles_keep_the_units_and_the_marks_and_damage_many_sentences(documents: list[dict]) -> None:
    for doc in documents:
        lang = doc["lang"]
        before = third_heldout_operators._split(doc["text"], lang)
        eligible = third_heldout_operators._eligible(before, lang)
        for name in SCRAMBLES:
            scrambled = READABILITY[name](doc["text"], lang, random.Random(2))
            assert scrambled != doc["text"], (name, doc["id"])
            assert _letters(scrambled, lang) == _letters(doc["text"], lang), (name, doc["id"])
            assert _marks(scrambled) == _marks(doc["text"]), (name, doc["id"])
            changed = sum(before[p][s] not in scrambled for p, s in eligible)  # damaged: not found verbatim
            assert changed >= 0.3 * len(eligible) - 1e-9, (name, doc["id"], changed)
        if lang == "en":  # whole words move; only deep_jumble touches the letters inside them
            for name in ("adjacent_swaps", "reversed_sentences", "sorted_words"):
                scrambled = READABILITY[name](doc["text"], lang, random.Random(2))
                assert Counter(re.findall(r"\w+", scrambled)) == Counter(re.findall(r"\w+", doc["text"])), name


def test_chinese_scrambles_move_jieba_words_and_deep_jumble_disorders_characters(documents: list[dict]) -> None:
    kept = words_seen = 0
    for doc in (doc for doc in documents if doc["lang"] == "zh"):
        reversed_text = READABILITY["reversed_sentences"](doc["text"], "zh", random.Random(3))
        for after, before in zip(reversed_text.split("\n"), doc["text"].split("\n"), strict=True):
            assert all(word in after for word in jieba.lcut(before)), doc["id"]
        jumbled = READABILITY["deep_jumble"](doc["text"], "zh", random.Random(3))
        words = {word for word in jieba.lcut(doc["text"]) if len(word) >= 3 and _letters(word, "zh") == Counter(word)
                 and not any(unicodedata.category(char)[0] in "PSN" for char in word)}
        kept += sum(word in jumbled for word in words)
        words_seen += len(words)
    # pooled: a one-sentence photo caption may have no three-character word in the sentences it jumbles
    assert kept < 0.9 * words_seen, (kept, words_seen)  # words lost their own character order


def test_repetition_repeats_spans_in_place(documents: list[dict]) -> None:
    for doc in documents:
        repeated = READABILITY["mt_repetition"](doc["text"], doc["lang"], random.Random(5))
        assert len(repeated) > len(doc["text"]), doc["id"]
        if doc["lang"] == "en":
            assert re.search(r"\b(\w+(?: \w+){0,2}) \1\b", repeated), doc["id"]
            original = re.findall(r"\w+", doc["text"])
            added = Counter(re.findall(r"\w+", repeated)) - Counter(original)
            assert added and all(word in original for word in added), doc["id"]
        else:
            assert re.search(r"(\w{1,12})\1", repeated), doc["id"]


def test_coherence_operators_put_foreign_text_in(documents: list[dict], donors_for: Callable[[dict], list[str]]) -> None:
    for index, doc in enumerate(documents):
        lang, donors = doc["lang"], donors_for(doc)
        host_sentences = [s for parts in third_heldout_operators._split(doc["text"], lang) for s in parts]
        donor_sentences = {s for donor in donors for parts in third_heldout_operators._split(donor, lang)
                           for s in parts} - set(host_sentences)
        for name in ("alternating_sentences", "stray_sentences"):
            out = COHERENCE[name](doc["text"], lang, donors, random.Random(index))
            assert out == COHERENCE[name](doc["text"], lang, donors, random.Random(index))
            foreign = [s for s in donor_sentences if s in out]
            assert foreign, (name, doc["id"])
            assert all(s in out for s in host_sentences), (name, doc["id"])  # the host is all there, foreign added
            assert len(out) > len(doc["text"]), (name, doc["id"])
            if name == "alternating_sentences":
                assert len(foreign) >= min(2, len(host_sentences) - 1), (name, doc["id"])
        overlaid = COHERENCE["overlay_text"](doc["text"], lang, donors, random.Random(index))
        lines = overlaid.split("\n")
        assert lines[0] == ("跳转到主要内容" if lang == "zh" else "Skip to main content"), doc["id"]
        assert len(lines) >= len(doc["text"].strip().split("\n")) + 4
        listed = COHERENCE["headline_list"](doc["text"], lang, donors, random.Random(index))
        bullets = [line for line in listed.split("\n") if re.match(r"[·■◆•\-»] ", line)]
        assert 1 <= len(bullets) <= 6 and all(any(line[2:] in donor for donor in donors) for line in bullets)
