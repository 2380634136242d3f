"""The second held-out operator set: each operator doing what its name says (frozen and deterministic:
test_heldout_operators.py, which checks both sets)."""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter

import jieba

from ziya2lab.attributes import second_heldout_operators
from ziya2lab.attributes.second_heldout_operators import READABILITY

SCRAMBLES = ("local_shuffle", "chunk_moves", "shuffled_paragraph")


def test_no_sentence_punctuation_is_left(documents: list[dict]) -> None:
    for doc in documents:
        spliced = READABILITY["comma_splices"](doc["text"], doc["lang"], random.Random(0))
        for paragraph in spliced.split("\n"):  # one sentence per paragraph, and it ends with no mark
            assert len(second_heldout_operators._sentences(paragraph, doc["lang"])) == 1, (doc["id"], paragraph)
            assert not re.search(r"[。！？.!?][\"'”’)]*$", paragraph.replace("...", "")), (doc["id"], paragraph)
        spoken = READABILITY["transcript_style"](doc["text"], doc["lang"], random.Random(0))
        marks = {char for char in spoken if unicodedata.category(char)[0] in "PS"}
        assert marks <= ({"'", "’", "-", ".", ","} if doc["lang"] == "en" else set()), (doc["id"], marks)
        if doc["lang"] == "en":
            assert not re.search(r"[.,](?!\d)", spoken), doc["id"]  # only inside numbers


def test_scrambles_keep_the_words_the_marks_and_the_paragraph_ends(documents: list[dict]) -> None:
    for doc in documents:
        def words(text: str, lang: str = doc["lang"]) -> Counter:
            return Counter(char for char in text if not char.isspace()) if lang == "zh" else Counter(text.split())

        def marks(text: str) -> list[str]:
            return [char for char in text if unicodedata.category(char)[0] == "P"]

        for name in SCRAMBLES:
            scrambled = READABILITY[name](doc["text"], doc["lang"], random.Random(2))
            assert Counter(marks(scrambled)) == Counter(marks(doc["text"])), (name, doc["id"])
            # the marks around the words stay in place: a paragraph that ended with a mark still does
            before = [line.strip() for line in doc["text"].split("\n") if line.strip()]
            assert all(after[-1] == line[-1] for after, line in zip(scrambled.split("\n"), before, strict=True)
                       if marks(line[-1])), (name, doc["id"])
            if doc["lang"] == "zh":
                assert words(scrambled) == words(doc["text"]), (name, doc["id"])
            else:  # a word keeps its own letters; punctuation glued to it stays in its slot
                assert Counter(re.findall(r"\w+", scrambled)) == Counter(re.findall(r"\w+", doc["text"])), name


def test_chinese_scrambles_move_whole_jieba_words(documents: list[dict]) -> None:
    for doc in (doc for doc in documents if doc["lang"] == "zh"):
        scrambled = READABILITY["shuffled_paragraph"](doc["text"], "zh", random.Random(3))
        changed = [(after, before) for after, before in zip(scrambled.split("\n"), doc["text"].split("\n"),
                                                            strict=True) if after != before]
        assert len(changed) == 1, doc["id"]
        after, before = changed[0]
        assert all(word in after for word in jieba.lcut(before)), doc["id"]


def test_cuts_end_where_they_say(documents: list[dict]) -> None:
    for doc in documents:
        end = READABILITY["truncated_end"](doc["text"], doc["lang"], random.Random(4))
        if end != doc["text"]:  # unchanged: no comma (zh) or long word (en) before the cut point, the doc stays clean
            if doc["lang"] == "zh":
                assert end.endswith("，"), doc["id"]
            else:
                assert re.search(r"[A-Za-z]{2}$", end), doc["id"]
                assert not re.match(re.escape(end) + r"\b", doc["text"]), doc["id"]  # the last word was cut inside
            assert len(end) <= 0.9 * len(doc["text"]) + 25
        cut = READABILITY["fragments"](doc["text"], doc["lang"], random.Random(4))
        if cut != doc["text"]:  # unchanged: no sentence long enough to cut (a poem)
            assert len(cut) < len(doc["text"]), doc["id"]
            sentences = sum(len(parts) for parts in second_heldout_operators._split(doc["text"], doc["lang"]))
            assert sum(len(parts) for parts in second_heldout_operators._split(cut, doc["lang"])) == sentences
