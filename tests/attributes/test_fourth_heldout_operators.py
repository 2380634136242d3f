"""The fourth held-out operator set: each operator doing what its name says (frozen and deterministic:
test_heldout_operators.py, which checks every set)."""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable

import jieba

from ziya2lab.attributes import fourth_heldout_operators as fourth
from ziya2lab.attributes.fourth_heldout_operators import COHERENCE, READABILITY

IN_SLOTS = ("word_drift", "head_to_tail", "riffled_words")  # words move, punctuation keeps its slots
SENTENCE_END = {"en": re.compile(r"[.!?][\"'”’)\]]*$"), "zh": re.compile(r"[。！？][”’」』）]*$")}


def _marks(text: str) -> Counter:
    return Counter(char for char in text if unicodedata.category(char)[0] == "P")


def _units(text: str, lang: str) -> Counter:
    """What a reorder keeps: the characters (zh) or the words (en)."""
    if lang == "zh":
        return Counter(char for char in text if not char.isspace())
    return Counter(re.findall(r"\w+", text))


def _damaged(doc: dict, out: str, sites: list[tuple[int, int]]) -> int:
    split = fourth._split(doc["text"], doc["lang"])
    return sum(split[p][s] not in out for p, s in sites)  # damaged: not found verbatim


def _clausal(doc: dict) -> list[tuple[int, int]]:
    split = fourth._split(doc["text"], doc["lang"])
    return [(p, s) for p, parts in enumerate(split) for s, sentence in enumerate(parts)
            if fourth._clauses(sentence, doc["lang"]) and len(set(fourth._clauses(sentence, doc["lang"])[0])) > 1]


def _marked(doc: dict) -> list[str]:
    """The sentences that end with a sentence mark and have four words or more."""
    return [sentence for parts in fourth._split(doc["text"], doc["lang"]) for sentence in parts
            if SENTENCE_END[doc["lang"]].search(sentence) and fourth._word_count(sentence, doc["lang"]) >= 4]


NEED_SITES = {"clause_shuffle": _clausal, "shifted_boundaries": _marked}


def test_every_operator_is_deterministic_and_changes_the_text(documents: list[dict], donors_for: Callable[[dict], list[str]]) -> None:
    for doc in documents:
        for name, operator in READABILITY.items():
            out = operator(doc["text"], doc["lang"], random.Random(7))
            assert out == operator(doc["text"], doc["lang"], random.Random(7)), (name, doc["id"])
            if name not in NEED_SITES or NEED_SITES[name](doc):  # no site: may be left unchanged
                assert out != doc["text"], (name, doc["id"])
        for name, operator in COHERENCE.items():
            donors = donors_for(doc)
            out = operator(doc["text"], doc["lang"], donors, random.Random(7))
            assert out == operator(doc["text"], doc["lang"], donors, random.Random(7)), (name, doc["id"])
            assert out != doc["text"], (name, doc["id"])


def test_reorders_keep_the_words_and_marks_and_damage_many_sentences(documents: list[dict]) -> None:
    for doc in documents:
        lang = doc["lang"]
        eligible = fourth._eligible(fourth._split(doc["text"], lang), lang)
        for name in (*IN_SLOTS, "clause_shuffle"):
            out = READABILITY[name](doc["text"], lang, random.Random(2))
            assert _units(out, lang) == _units(doc["text"], lang), (name, doc["id"])
            assert _marks(out) == _marks(doc["text"]), (name, doc["id"])
            assert len(fourth._paragraphs(out)) == len(fourth._paragraphs(doc["text"])), (name, doc["id"])
            if name != "clause_shuffle":
                assert _damaged(doc, out, eligible) >= 0.3 * len(eligible) - 1e-9, (name, doc["id"])
        clausal = _clausal(doc)
        shuffled = READABILITY["clause_shuffle"](doc["text"], lang, random.Random(2))
        assert _damaged(doc, shuffled, clausal) >= 0.3 * len(clausal) - 1e-9, doc["id"]


def test_chinese_reorders_move_whole_jieba_words(documents: list[dict]) -> None:
    for doc in (doc for doc in documents if doc["lang"] == "zh"):
        for name in (*IN_SLOTS, "clause_shuffle"):
            out = READABILITY[name](doc["text"], "zh", random.Random(3))
            for after, before in zip(fourth._paragraphs(out), fourth._paragraphs(doc["text"]), strict=True):
                assert all(word in after for word in jieba.lcut(before)), (name, doc["id"])


def test_head_to_tail_and_riffle_do_what_they_say() -> None:
    rng = random.Random(0)
    sentence = "one two three four five six seven."
    assert fourth._in_slots(sentence, "en", fourth._riffle) == "one five two six three seven four."
    rotated = fourth.head_to_tail(sentence, "en", rng)
    assert rotated in ("three four five six seven one two.", "four five six seven one two three.")


def test_clause_shuffle_keeps_the_final_mark_last(documents: list[dict]) -> None:
    for doc in documents:
        lang = doc["lang"]
        out = READABILITY["clause_shuffle"](doc["text"], lang, random.Random(4))
        for before, after in zip(fourth._split(doc["text"], lang), fourth._split(out, lang), strict=False):
            ends = [bool(SENTENCE_END[lang].search(sentence)) for sentence in before]
            if len(before) == len(after):
                assert ends == [bool(SENTENCE_END[lang].search(sentence)) for sentence in after], doc["id"]


def test_echoed_span_repeats_a_span_after_a_gap(documents: list[dict]) -> None:
    for doc in documents:
        lang = doc["lang"]
        split = fourth._split(doc["text"], lang)
        eligible = [(p, s) for p, s in fourth._eligible(split, lang)
                    if fourth._echo_sites(*fourth._tokens(split[p][s], lang))]
        out = READABILITY["echoed_span"](doc["text"], lang, random.Random(5))
        assert len(out) > len(doc["text"]), doc["id"]
        after = fourth._split(out, lang)  # only plain words are inserted: the sentences stay where they were
        changed = sum(split[p][s] != after[p][s] for p, s in eligible)
        assert changed >= 0.3 * len(eligible) - 1e-9, doc["id"]
        if lang == "en":
            assert re.search(r"\b(\w+(?: \w+){1,4}) \w+(?: \w+){0,2} \1\b", out), doc["id"]
            original = re.findall(r"\w+", doc["text"])
            added = Counter(re.findall(r"\w+", out)) - Counter(original)
            assert added and all(word in original for word in added), doc["id"]
        else:
            assert re.search(r"(\w{2,20})\w{1,20}\1", out), doc["id"]
        assert set(_units(out, lang)) == set(_units(doc["text"], lang)), doc["id"]  # nothing new, only repeats


def test_telegraphic_drops_the_function_words_of_many_sentences(documents: list[dict]) -> None:
    for doc in documents:
        lang = doc["lang"]
        split = fourth._split(doc["text"], lang)
        sites = [(p, s) for p, s in fourth._eligible(split, lang)
                 if fourth._without_function_words(split[p][s], lang) != split[p][s]]
        out = READABILITY["telegraphic"](doc["text"], lang, random.Random(6))
        assert len(out) < len(doc["text"]), doc["id"]
        assert _damaged(doc, out, sites) >= 0.3 * len(sites) - 1e-9, doc["id"]
        stripped = [fourth._without_function_words(split[p][s], lang) for p, s in sites]
        assert sum(sentence in out for sentence in stripped) >= 0.3 * len(sites) - 1e-9, doc["id"]
        lost = _units(doc["text"], lang) - _units(out, lang)
        if lang == "en":
            assert all(word.lower() in fourth.EN_FUNCTION_WORDS for word in lost), doc["id"]
        else:
            assert all(any(char in word for word in fourth.ZH_FUNCTION_WORDS) for char in lost), doc["id"]


def test_shifted_boundaries_leave_no_sentence_bounded_where_it_ends(documents: list[dict]) -> None:
    for doc in documents:
        lang = doc["lang"]
        out = READABILITY["shifted_boundaries"](doc["text"], lang, random.Random(8))
        marked = _marked(doc)
        assert not [sentence for sentence in marked if sentence in out], doc["id"]
        assert _marks(out) == _marks(doc["text"]), doc["id"]  # marks moved, none added or lost
        if lang == "zh":
            assert _units(out, lang) == _units(doc["text"], lang), doc["id"]
        else:
            assert re.findall(r"\w+", out.lower()) == re.findall(r"\w+", doc["text"].lower()), doc["id"]


def test_swapped_endings_replace_every_paragraph_ending_with_a_donor_sentence(documents: list[dict], donors_for: Callable[[dict], list[str]]) -> None:
    for index, doc in enumerate(documents):
        lang, donors = doc["lang"], donors_for(doc)
        out = COHERENCE["swapped_endings"](doc["text"], lang, donors, random.Random(index))
        host = fourth._split(doc["text"], lang)
        assert out.startswith(fourth._paragraphs(doc["text"])[0][:20]), doc["id"]
        donor_sentences = {s for donor in donors for parts in fourth._split(donor, lang) for s in parts}
        foreign = [paragraph for paragraph in fourth._paragraphs(out)
                   if any(paragraph.endswith(s) for s in donor_sentences if s not in doc["text"])]
        assert len(foreign) >= 0.3 * len(host) - 1e-9, doc["id"]
        for parts in host:  # everything but the paragraphs' last sentences is still there
            assert all(sentence in out for sentence in parts[:-1]), doc["id"]


def test_contact_footer_inserts_a_footer_block(documents: list[dict], donors_for: Callable[[dict], list[str]]) -> None:
    for index, doc in enumerate(documents):
        lang = doc["lang"]
        out = COHERENCE["contact_footer"](doc["text"], lang, donors_for(doc), random.Random(index))
        lines = out.split("\n")
        first = "关于我们 | 联系我们" if lang == "zh" else "About Us | Contact Us"
        assert sum(line.startswith(first) for line in lines) == 1, doc["id"]
        assert any(line.startswith("友情链接：" if lang == "zh" else "Friendly links: ") for line in lines)
        assert lines[0] == fourth._paragraphs(doc["text"])[0], doc["id"]
        assert [line for line in lines if line in fourth._paragraphs(doc["text"])] == fourth._paragraphs(doc["text"])
        assert len(lines) >= len(fourth._paragraphs(doc["text"])) + 5, doc["id"]
