"""The fifth held-out corruption set: new methods, written before the raters were changed again, and never
used to tune a rater.

The four earlier held-out sets have all been looked at while or after the raters were changed, so their
figures are no longer fresh. This set corrupts the same attributes by methods unlike theirs and is meant to be
run once, as the headline of the next rater validation. It was designed from the Fig. 8 rubric alone, without
reading the raters, the development operators or the earlier held-out sets, and without scoring anything on
its output. **This file is frozen**: a test pins its sha256; change it and it becomes one more development
set. It is self-contained (its own paragraph, sentence and word splitting; only ``jieba`` from outside the
standard library), so that a change to the raters' text helpers cannot change what these operators do.

Readability (Fig. 8: "grammatical errors or punctuation errors"; text a fluent reader finds hard to read). A
word is a jieba word in Chinese and a whitespace token in English, whose leading and trailing punctuation
stays where it was unless the family says otherwise:
- ``neighbour_swaps`` (word order, mild): in half of the sentences, one to three non-overlapping pairs of
  neighbouring words (no punctuation between them) exchanged, one pair per eight words;
- ``fronted_phrase`` (word order, medium): in 40% of the sentences, a run of two to four words without
  punctuation taken from the second half of the sentence and put at its front;
- ``reversed_run`` (word order, medium): in half of the sentences, a run of three to five neighbouring words
  without punctuation between them put in reverse order;
- ``length_ladder`` (word order, strong): in half of the sentences, the words re-ordered longest first (words
  of equal length in random order), at least 60% of them leaving their place; punctuation stays in its slots;
- ``stripped_stops`` (punctuation): every sentence-final mark deleted (English . ! ? at a sentence end,
  Chinese 。！？ everywhere), nothing put in its place, so the document has no sentence ends;
- ``wrong_function_words`` (grammar): in 60% of the sentences that have any, one function word per ten words
  (one to three) replaced by a wrong one of its kind: English articles, prepositions, agreeing auxiliaries and
  pronoun cases; Chinese 的/地/得, 了/着/过, 把/被, 和/或, 因为/所以 and the like;
- ``clipped_words`` (spelling and inflection): in half of the sentences, one word per ten (one to three) loses
  a piece: an English lower-case word of five letters or more its inflectional ending (-ing, -ed, -ly, -s) or,
  with none, one inner letter; a Chinese word of two Chinese characters or more one of its characters.

Coherence (Fig. 8: meaningless information; pieces of information not related to each other):
- ``interleaved_donor``: after every host sentence that ends in a sentence mark, one sentence of unrelated
  documents (in their own order), so that host and foreign sentences alternate one by one;
- ``comment_thread``: a reader-comment widget (a count line, three off-topic comments with user names, times
  and reply/like lines, a "load more" line) put as its own lines at a sentence boundary near the middle of the
  document, splitting the paragraph there if need be (Chinese in Chinese);
- ``classified_ads``: a block of four unrelated classified advertisements (cars, rooms, lost pets, jobs, with
  prices and telephone numbers) put in the same way near the middle of the document (Chinese in Chinese).

Every operator is deterministic given its ``random.Random``: ``(text, lang, rng)`` for readability and
``(text, lang, donors, rng)`` for coherence, ``donors`` being texts of unrelated documents of the same
language. An operator that finds no site returns the text unchanged."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jieba

ReadabilityOperator = Callable[[str, str, random.Random], str]
CoherenceOperator = Callable[[str, str, Sequence[str], random.Random], str]

_ZH_END = "。！？"
_ZH_CLOSERS = "”’」』）》"
_EN_END_RE = re.compile(r"[.!?]+[\"'”’)\]]*$")
_EN_OPENER_RE = re.compile(r"[\"'“‘(\[]*[A-Z0-9]")
_EN_ABBREVIATIONS = frozenset({
    "Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Gen", "Col", "Lt", "Capt", "Sgt", "Sen", "Rep", "Gov",
    "Prof", "Rev", "Mt", "Ft", "Jan", "Feb", "Mar", "Apr", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "No",
    "Co", "Corp", "Inc", "Ltd", "Bros", "vs", "Ave", "Nos", "Messrs",
})
_AFFIX_RE = re.compile(r"^([^\w]*)(.*?)([^\w]*)$", re.S)
# Capitalised words that open English sentences and are not names: moved mid-sentence, they are lower-cased.
_EN_OPENERS = frozenset({
    "The", "A", "An", "It", "He", "She", "They", "We", "You", "This", "That", "These", "Those", "In", "On",
    "At", "But", "And", "As", "For", "If", "When", "While", "After", "Before", "Some", "Many", "Most",
    "Its", "His", "Her", "Their", "Our", "There", "Here", "Of", "To", "From", "With", "By", "Under", "Over",
    "Since", "Although", "Though", "Yet", "So", "Or", "Nor", "Not", "No", "One", "Two", "Three", "All",
    "Both", "Each", "Every", "Such", "What", "Which", "Who", "How", "Why", "Where", "Then", "Now", "Also",
    "However",
})


# ------------------------------------------------------------------------------------------------------------
# Splitting: paragraphs are lines; sentences are spans of a line; words are tokens of a sentence.


@dataclass(frozen=True)
class _Sentence:
    """One sentence: the index of its line, its span in that line and its text (no surrounding whitespace)."""

    line: int
    start: int
    end: int
    text: str


def _trimmed(line: str, start: int, end: int) -> tuple[int, int]:
    """The span without the whitespace at its ends, so a rewrite never eats the gap between sentences."""
    while start < end and line[start].isspace():
        start += 1
    while end > start and line[end - 1].isspace():
        end -= 1
    return start, end


def _zh_spans(line: str) -> list[tuple[int, int]]:
    """Chinese sentences end at 。！？ (runs of them) with any closing quotes or brackets that follow."""
    spans, start, i = [], 0, 0
    while i < len(line):
        if line[i] in _ZH_END:
            j = i + 1
            while j < len(line) and (line[j] in _ZH_END or line[j] in _ZH_CLOSERS):
                j += 1
            spans.append((start, j))
            start = i = j
        else:
            i += 1
    spans.append((start, len(line)))
    return spans


def _en_sentence_ends_at(token: str, following: str | None) -> bool:
    """Whether an English token closes a sentence: a final mark, then a capital or digit, no abbreviation."""
    mark = _EN_END_RE.search(token)
    if not mark:
        return False
    if following is None:
        return True
    if not _EN_OPENER_RE.match(following):
        return False
    if token[mark.start()] != "." or mark.group().startswith(".."):
        return True
    word = token[:mark.start()].lstrip("\"'“‘([")
    abbreviation = (word in _EN_ABBREVIATIONS or re.fullmatch(r"[A-Z]", word) is not None
                    or re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word) is not None)
    return not abbreviation


def _en_spans(line: str) -> list[tuple[int, int]]:
    """English sentences: runs of whitespace tokens up to one that closes a sentence."""
    tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", line)]
    spans: list[tuple[int, int]] = []
    start = None
    for k, (s, e) in enumerate(tokens):
        start = s if start is None else start
        following = line[tokens[k + 1][0]:tokens[k + 1][1]] if k + 1 < len(tokens) else None
        if _en_sentence_ends_at(line[s:e], following):
            spans.append((start, e))
            start = None
    if start is not None:
        spans.append((start, tokens[-1][1]))
    return spans


def _sentences(text: str, lang: str) -> list[_Sentence]:
    """All sentences of the text, line by line, in order; empty spans dropped."""
    found = []
    for number, line in enumerate(text.split("\n")):
        for start, end in (_zh_spans(line) if lang == "zh" else _en_spans(line)):
            start, end = _trimmed(line, start, end)
            if end > start:
                found.append(_Sentence(number, start, end, line[start:end]))
    return found


def _rewrite(text: str, sentences: list[_Sentence], replacements: dict[int, str]) -> str:
    """The text with the given sentences replaced in place; everything else byte for byte as it was."""
    lines = text.split("\n")
    for index in sorted(replacements, key=lambda i: (sentences[i].line, -sentences[i].start)):
        s = sentences[index]
        lines[s.line] = lines[s.line][:s.start] + replacements[index] + lines[s.line][s.end:]
    return "\n".join(lines)


def _is_wordy(token: str) -> bool:
    """Whether a token holds a letter or digit (a word), not only punctuation, symbols or spaces."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in token)


@dataclass
class _Tokens:
    """A sentence's tokens and the whitespace after each; a word's core is its token less punctuation."""

    lang: str
    tokens: list[str]
    gaps: list[str]

    @classmethod
    def parse(cls, sentence: str, lang: str) -> _Tokens:
        """Chinese: jieba words (punctuation comes out as tokens of its own); English: whitespace tokens."""
        if lang == "zh":
            tokens = jieba.lcut(sentence)
            return cls(lang, tokens, [""] * len(tokens))
        pairs = re.findall(r"(\S+)(\s*)", sentence)
        return cls(lang, [t for t, _ in pairs], [g for _, g in pairs])

    def render(self) -> str:
        """The sentence again: tokens and their original gaps, so only what an edit moved is different."""
        return "".join(t + g for t, g in zip(self.tokens, self.gaps, strict=True))

    def affixes(self, i: int) -> tuple[str, str, str]:
        """(leading punctuation, core, trailing punctuation) of token ``i``; Chinese tokens have none."""
        token = self.tokens[i]
        if self.lang == "zh":
            return ("", token, "") if _is_wordy(token) else (token, "", "")
        pre, core, post = _AFFIX_RE.match(token).groups()
        return (pre, core, post) if _is_wordy(core) else (token, "", "")

    def words(self) -> list[int]:
        """Indices of the tokens that hold a word."""
        return [i for i in range(len(self.tokens)) if self.affixes(i)[1]]

    def plain(self, i: int) -> bool:
        """A word with no punctuation attached, which can move without carrying punctuation with it."""
        pre, core, post = self.affixes(i)
        return bool(core) and not pre and not post


# ------------------------------------------------------------------------------------------------------------
# English capitals: a sentence's first word moved away is lower-cased when it is not a name; the new first
# word is capitalised, so that the damage is to the order and not to the case.


def _lower_vocabulary(text: str) -> frozenset[str]:
    """Words the document writes in lower case: their capitalised forms are sentence openers, not names."""
    return frozenset(w for w in re.findall(r"[A-Za-z][A-Za-z']*", text) if w.islower())


def _with_first_letter(token: str, upper: bool) -> str:
    """The token with its first letter upper- or lower-cased."""
    for k, ch in enumerate(token):
        if ch.isalpha():
            return token[:k] + (ch.upper() if upper else ch.lower()) + token[k + 1:]
    return token


def _recase(tokens: list[str], first: int, old_first_now_at: int, lang: str, common: frozenset[str]) -> None:
    """Fix the case after the word in the first word slot ``first`` moved to ``old_first_now_at``."""
    if lang != "en" or old_first_now_at == first:
        return
    moved = _AFFIX_RE.match(tokens[old_first_now_at]).group(2)
    is_title = moved[:1].isupper() and (moved[1:].islower() or len(moved) == 1) and moved != "I"
    if is_title and (moved in _EN_OPENERS or moved.lower() in common):
        tokens[old_first_now_at] = _with_first_letter(tokens[old_first_now_at], upper=False)
    tokens[first] = _with_first_letter(tokens[first], upper=True)


# ------------------------------------------------------------------------------------------------------------
# The sentence driver: pick a share of the eligible sentences, edit each one.

_Edit = Callable[[_Tokens, random.Random, frozenset[str]], str]


def _choose(pool: list[int], share: float, rng: random.Random) -> list[int]:
    """``share`` of the pool (at least one when the pool is not empty), in text order."""
    if not pool:
        return []
    return sorted(rng.sample(pool, max(1, round(share * len(pool)))))


def _edit_sentences(text: str, lang: str, rng: random.Random, share: float,
                    eligible: Callable[[_Tokens], bool], edit: _Edit) -> str:
    """Apply ``edit`` to ``share`` of the sentences ``eligible`` accepts; the others stay as they were."""
    sentences = _sentences(text, lang)
    parsed = [_Tokens.parse(s.text, lang) for s in sentences]
    chosen = _choose([i for i, p in enumerate(parsed) if eligible(p)], share, rng)
    common = _lower_vocabulary(text) if lang == "en" else frozenset()
    replacements = {}
    for index in chosen:
        edited = edit(parsed[index], rng, common)
        if edited != sentences[index].text:
            replacements[index] = edited
    return _rewrite(text, sentences, replacements)


def _per_ten_words(n_words: int) -> int:
    """How many sites a sentence gets: one per ten words, one to three."""
    return min(3, max(1, n_words // 10))


# ------------------------------------------------------------------------------------------------------------
# Readability: word order.


def _swap_pairs(p: _Tokens) -> list[int]:
    """Left indices of neighbouring plain words that differ, so exchanging them changes the sentence."""
    return [i for i in range(len(p.tokens) - 1)
            if p.plain(i) and p.plain(i + 1) and p.tokens[i].lower() != p.tokens[i + 1].lower()]


def _neighbour_swaps_edit(p: _Tokens, rng: random.Random, common: frozenset[str]) -> str:
    """Exchange one pair of neighbouring words per eight words (one to three), the pairs not overlapping."""
    candidates = _swap_pairs(p)
    rng.shuffle(candidates)
    wanted = min(3, max(1, len(p.words()) // 8))
    taken: list[int] = []
    for i in candidates:
        if len(taken) < wanted and all(abs(i - j) > 1 for j in taken):
            taken.append(i)
    tokens = list(p.tokens)
    for i in taken:
        tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
    _recase(tokens, 0, 1 if 0 in taken else 0, p.lang, common)
    return _Tokens(p.lang, tokens, p.gaps).render()


def neighbour_swaps(text: str, lang: str, rng: random.Random) -> str:
    """Mild word order: a fluent reader stumbles at a few local inversions but still follows the sentence."""
    return _edit_sentences(text, lang, rng, 0.5, lambda p: len(p.words()) >= 4 and bool(_swap_pairs(p)),
                           _neighbour_swaps_edit)


def _plain_runs(p: _Tokens, length: int, first: int) -> list[int]:
    """Start indices (from ``first`` on) of runs of ``length`` plain words."""
    return [i for i in range(first, len(p.tokens) - length + 1) if all(p.plain(i + k) for k in range(length))]


def _front_sites(p: _Tokens) -> list[tuple[int, int, int]]:
    """(insertion point, run start, run length) for runs of 2-4 plain words in the sentence's second half."""
    words = p.words()
    if len(words) < 6 or (p.lang == "en" and p.affixes(0)[0]):
        return []
    front = words[0]
    half = words[len(words) // 2]
    return [(front, start, length) for length in (2, 3, 4)
            for start in _plain_runs(p, length, max(half, front + 2))]


def _fronted_phrase_edit(p: _Tokens, rng: random.Random, common: frozenset[str]) -> str:
    """Lift one run out of the sentence's second half and put it before the sentence's first word."""
    front, start, length = rng.choice(_front_sites(p))
    order = list(range(len(p.tokens)))
    run = order[start:start + length]
    order = order[:front] + run + [i for i in order[front:] if i not in run]
    tokens = [p.tokens[i] for i in order]
    _recase(tokens, 0, order.index(0), p.lang, common)
    return _Tokens(p.lang, tokens, p.gaps).render()


def fronted_phrase(text: str, lang: str, rng: random.Random) -> str:
    """Medium word order: a phrase displaced to the sentence's start leaves the rest of it dangling."""
    return _edit_sentences(text, lang, rng, 0.4, lambda p: bool(_front_sites(p)), _fronted_phrase_edit)


def _reverse_sites(p: _Tokens) -> list[tuple[int, int]]:
    """(start, length) of runs of 3-5 plain words whose reversal changes the text."""
    sites = []
    for length in (3, 4, 5):
        for start in _plain_runs(p, length, 0):
            run = [t.lower() for t in p.tokens[start:start + length]]
            if run != run[::-1]:
                sites.append((start, length))
    return sites


def _reversed_run_edit(p: _Tokens, rng: random.Random, common: frozenset[str]) -> str:
    """Reverse one run of neighbouring words in place."""
    start, length = rng.choice(_reverse_sites(p))
    tokens = list(p.tokens)
    tokens[start:start + length] = tokens[start:start + length][::-1]
    _recase(tokens, 0, length - 1 if start == 0 else 0, p.lang, common)
    return _Tokens(p.lang, tokens, p.gaps).render()


def reversed_run(text: str, lang: str, rng: random.Random) -> str:
    """Medium word order: a backwards stretch of three to five words inside an otherwise normal sentence."""
    return _edit_sentences(text, lang, rng, 0.5, lambda p: len(p.words()) >= 5 and bool(_reverse_sites(p)),
                           _reversed_run_edit)


def _length_ladder_edit(p: _Tokens, rng: random.Random, common: frozenset[str]) -> str:
    """Cores re-ordered longest first (ties shuffled); affixes and punctuation tokens stay in their slots."""
    slots = p.words()
    cores = [p.affixes(i)[1] for i in slots]
    for _ in range(6):
        keyed = [(-len(core), rng.random(), k) for k, core in enumerate(cores)]
        order = [k for _, _, k in sorted(keyed)]
        moved = sum(1 for new, old in enumerate(order) if cores[old] != cores[new])
        if moved >= 0.6 * len(cores):
            break
    else:
        return p.render()
    tokens = list(p.tokens)
    for slot, old in zip(slots, order, strict=True):
        pre, _, post = p.affixes(slot)
        tokens[slot] = pre + cores[old] + post
    _recase(tokens, slots[0], slots[order.index(0)], p.lang, common)
    return _Tokens(p.lang, tokens, p.gaps).render()


def length_ladder(text: str, lang: str, rng: random.Random) -> str:
    """Strong word order: most words of the sentence out of place; only its punctuation is where it was."""
    return _edit_sentences(text, lang, rng, 0.5, lambda p: len(p.words()) >= 5, _length_ladder_edit)


# ------------------------------------------------------------------------------------------------------------
# Readability: punctuation and grammar.


def stripped_stops(text: str, lang: str, rng: random.Random) -> str:
    """No sentence ends anywhere: the reader must find every boundary alone (``rng`` is unused)."""
    if lang == "zh":
        return text.translate({ord(ch): None for ch in _ZH_END})
    sentences = _sentences(text, lang)
    replacements = {}
    for index, s in enumerate(sentences):
        stripped = re.sub(r"[.!?]+(?=[\"'”’)\]]*$)", "", s.text)
        if stripped != s.text and _is_wordy(stripped):
            replacements[index] = stripped
    return _rewrite(text, sentences, replacements)


_EN_FUNCTION_SWAPS = {
    "the": "a", "a": "an", "an": "a", "of": "at", "in": "of", "on": "by", "to": "of", "for": "of",
    "with": "at", "from": "to", "at": "in", "by": "of", "into": "at", "is": "are", "are": "is", "was": "were",
    "were": "was",
    "has": "have", "have": "has", "does": "do", "do": "does", "he": "him", "she": "her", "they": "them",
    "we": "us", "his": "him", "their": "them", "who": "whom", "this": "these", "these": "this", "its": "it",
}
_ZH_FUNCTION_SWAPS = {
    "的": "地", "地": "的", "得": "的", "了": "着", "着": "了", "过": "了", "把": "被", "被": "把", "和": "或",
    "在": "从", "从": "在", "对": "以", "向": "对", "将": "把", "与": "或", "为": "以", "也": "又", "都": "却",
    "就": "才", "而": "和", "并": "也", "以": "对", "于": "向", "因为": "所以", "所以": "因为", "虽然": "但是",
    "但是": "虽然", "对于": "关于", "关于": "对于", "已经": "正在", "正在": "已经",
}


def _function_sites(p: _Tokens) -> list[int]:
    """Tokens whose core is a function word the swap table knows."""
    if p.lang == "zh":
        return [i for i in p.words() if p.tokens[i] in _ZH_FUNCTION_SWAPS]
    words = p.words()
    return [i for i in words if p.affixes(i)[1].lower() in _EN_FUNCTION_SWAPS
            and (p.affixes(i)[1].islower() or (i == words[0] and p.affixes(i)[1][1:].islower()))]


def _wrong_function_words_edit(p: _Tokens, rng: random.Random, common: frozenset[str]) -> str:
    """Replace a few function words by wrong ones of their kind, keeping the case of the first letter."""
    table = _ZH_FUNCTION_SWAPS if p.lang == "zh" else _EN_FUNCTION_SWAPS
    sites = _function_sites(p)
    tokens = list(p.tokens)
    for i in rng.sample(sites, min(len(sites), _per_ten_words(len(p.words())))):
        pre, core, post = p.affixes(i)
        swapped = table[core.lower()]
        tokens[i] = pre + (_with_first_letter(swapped, upper=True) if core[:1].isupper() else swapped) + post
    return _Tokens(p.lang, tokens, p.gaps).render()


def wrong_function_words(text: str, lang: str, rng: random.Random) -> str:
    """Grammar errors a fluent reader notices at once: wrong articles, prepositions, agreement, particles."""
    return _edit_sentences(text, lang, rng, 0.6, lambda p: bool(_function_sites(p)),
                           _wrong_function_words_edit)


def _is_han(word: str) -> bool:
    """Only Chinese characters: clipping digits or Latin letters is not the damage this family claims."""
    return all("CJK UNIFIED" in unicodedata.name(ch, "") for ch in word)


def _clippable(p: _Tokens, i: int) -> bool:
    """English lower-case words of five letters or more; Chinese words of two Chinese characters or more."""
    core = p.affixes(i)[1]
    if p.lang == "zh":
        return len(core) >= 2 and _is_han(core)
    return len(core) >= 5 and core.isalpha() and core.islower()


def _clip(word: str, lang: str, rng: random.Random) -> str:
    """The word less an inflectional ending (English) or one character (an inner letter when no ending)."""
    if lang == "zh":
        k = rng.randrange(len(word))
        return word[:k] + word[k + 1:]
    for ending in ("ing", "ed", "ly", "s"):
        if word.endswith(ending) and not word.endswith("ss") and len(word) - len(ending) >= 3:
            return word[:-len(ending)]
    k = rng.randrange(1, len(word) - 1)
    return word[:k] + word[k + 1:]


def _clipped_words_edit(p: _Tokens, rng: random.Random, common: frozenset[str]) -> str:
    """Clip one word per ten words (one to three) of the sentence."""
    sites = [i for i in p.words() if _clippable(p, i)]
    tokens = list(p.tokens)
    for i in rng.sample(sites, min(len(sites), _per_ten_words(len(p.words())))):
        pre, core, post = p.affixes(i)
        tokens[i] = pre + _clip(core, p.lang, rng) + post
    return _Tokens(p.lang, tokens, p.gaps).render()


def clipped_words(text: str, lang: str, rng: random.Random) -> str:
    """Broken words: missing endings and dropped characters read as careless or garbled text."""
    return _edit_sentences(text, lang, rng, 0.5,
                           lambda p: any(_clippable(p, i) for i in p.words()), _clipped_words_edit)


# ------------------------------------------------------------------------------------------------------------
# Coherence.


def _ends_in_mark(sentence: str, lang: str) -> bool:
    """Whether the sentence is closed by a sentence mark (headlines, captions and bylines are not)."""
    if lang == "zh":
        return sentence.rstrip(_ZH_CLOSERS)[-1:] in tuple(_ZH_END)
    return _EN_END_RE.search(sentence) is not None


def _donor_pool(text: str, lang: str, donors: Sequence[str], needed: int, rng: random.Random) -> list[str]:
    """Closed sentences of substance from the donors, one donor at a time in random order, in their order."""
    order = list(range(len(donors)))
    rng.shuffle(order)
    shortest = 10 if lang == "zh" else 25
    pool: list[str] = []
    for k in order:
        for s in _sentences(donors[k], lang):
            if len(pool) < needed and len(s.text) >= shortest and _ends_in_mark(s.text, lang) \
                    and s.text not in text:
                pool.append(s.text if lang == "zh" else " ".join(s.text.split()))
    return pool


def interleaved_donor(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """Unrelated sentences alternate with the host's, so no two neighbouring sentences share a topic."""
    sentences = _sentences(text, lang)
    hosts = [i for i, s in enumerate(sentences) if _ends_in_mark(s.text, lang)]
    pool = _donor_pool(text, lang, donors, len(hosts), rng)
    joiner = "" if lang == "zh" else " "
    replacements = {i: sentences[i].text + joiner + foreign for i, foreign in zip(hosts, pool, strict=False)}
    return _rewrite(text, sentences, replacements)


def _insert_block(text: str, lang: str, block: list[str], rng: random.Random) -> str:
    """Put ``block`` as lines of its own at the sentence boundary nearest a point 35-65% into the document."""
    sentences = _sentences(text, lang)
    if not any(_is_wordy(s.text) for s in sentences):
        return text
    lines = text.split("\n")
    line_starts = [0]
    for line in lines[:-1]:
        line_starts.append(line_starts[-1] + len(line) + 1)
    target = rng.uniform(0.35, 0.65) * len(text)
    candidates = range(len(sentences) - 1) if len(sentences) > 1 else range(1)
    pick = sentences[min(candidates,
                         key=lambda i: abs(line_starts[sentences[i].line] + sentences[i].end - target))]
    line = lines[pick.line]
    head, tail = line[:pick.end].rstrip(), line[pick.end:].strip()
    return "\n".join([*lines[:pick.line], head, *block, *([tail] if tail else []), *lines[pick.line + 1:]])


_FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")

_EN_COMMENTS = [
    "Does anyone know if the hardware store on Station Street is open on Boxing Day? Need a new garden hose.",
    "First time I tried this with almond flour and the base came out perfect. Five stars.",
    "My cousin had the same problem with her washing machine, turned out to be the filter.",
    "lol who else is still waiting for the bus at the corner of King St",
    "Can someone recommend a good dentist in the northern suburbs that takes walk-ins?",
    "Great photos! What camera did you use for the sunset one?",
    "Selling two concert tickets for Saturday night, message me if interested.",
    "I always add a pinch of nutmeg, trust me it makes all the difference.",
]
_EN_NAMES = ["sunnyside_mel", "darren_k77", "bluegum42", "kate.w", "footyfan_88", "Grandma Joan", "mick_r",
             "jules1990"]
_ZH_COMMENTS = [
    "请问谁知道哪里能买到正宗的云南鲜花饼？在线等，挺急的。",
    "沙发！楼主的照片拍得真不错，用的什么相机？",
    "我家的洗衣机也是这个毛病，后来发现是过滤网堵了。",
    "有没有人一起拼车去机场？周六早上八点出发。",
    "红烧肉里放一点冰糖，颜色特别好看，亲测有效。",
    "求推荐一家好一点的牙科诊所，最好周末也开门。",
    "周末转让两张演唱会门票，价格好商量，有意者私信。",
    "顶一个！上次去那家小店吃的面，到现在还忘不了。",
]
_ZH_NAMES = ["小鱼儿", "快乐的老王", "星星点灯", "江南布衣", "阿强", "蓝色天空", "吃货小李", "清风徐来"]
_ZH_PLACES = ["北京", "广东", "上海", "四川", "湖南", "山东", "浙江", "河南"]


def _comment_block(lang: str, rng: random.Random) -> list[str]:
    """A comment widget: a count line, three off-topic comments with name, time and reply lines."""
    picks = rng.sample(range(len(_EN_COMMENTS)), 3)
    names = rng.sample(range(len(_EN_NAMES)), 3)
    if lang == "zh":
        block = [f"网友评论（共{rng.randint(12, 98)}条）".translate(_FULL_WIDTH_DIGITS)]
        for pick, name in zip(picks, names, strict=True):
            block += [f"[{rng.choice(_ZH_PLACES)}网友] {_ZH_NAMES[name]} {rng.randint(2, 23)}小时前"
                      .translate(_FULL_WIDTH_DIGITS),
                      _ZH_COMMENTS[pick], f"回复 | 支持（{rng.randint(0, 40)}）".translate(_FULL_WIDTH_DIGITS)]
        return [*block, "查看全部评论>>"]
    block = [f"Comments ({rng.randint(12, 98)})"]
    for pick, name in zip(picks, names, strict=True):
        block += [f"{_EN_NAMES[name]} · {rng.randint(2, 23)} hours ago", _EN_COMMENTS[pick],
                  f"Reply · Like ({rng.randint(0, 40)})"]
    return [*block, "Load more comments"]


def comment_thread(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """Off-topic reader chatter in the middle of the document (``donors`` unused): unrelated information."""
    return _insert_block(text, lang, _comment_block(lang, rng), rng)


_EN_ADS = [
    "FOR SALE: Toyota Corolla 1994, 180,000 km, registered till June, $3,200 or near offer. Ph 0412 555 318.",
    "ROOM TO LET: furnished room close to the station, share kitchen and laundry, $140 a week. Call Sue.",
    "LOST: grey tabby cat answering to Milo, red collar, near the shopping centre. Reward offered.",
    "WANTED: experienced kitchen hand for busy cafe, weekends essential. Apply in person to the manager.",
    "PIANO LESSONS: all ages and levels, qualified teacher, first lesson free. Phone 9633 4421.",
    "GARAGE SALE: Saturday 8am, 14 Wattle Crescent. Furniture, toys, books, tools. No early birds.",
    "FIREWOOD: split red gum, delivered, $90 a load. Ring Bill on 0418 202 776.",
    "CARPET CLEANING: three rooms for $79, free quote, fully insured. Call now.",
]
_ZH_ADS = [
    "出售：九成新双门冰箱一台，价格面议。联系电话：６２５４３２１８。",
    "招聘：某贸易公司诚聘会计两名，大专以上学历，有经验者优先。",
    "出租：两居室一套，家具齐全，月租１８００元，看房请与李先生联系。",
    "寻物启事：本人于１２月２８日在公交车上丢失黑色皮包一个，拾到者请打电话６８３１２２４５，必有酬谢。",
    "家教：师范大学学生辅导初中数学、英语，每小时２０元。",
    "转让：小型复印机一台，八成新，价格优惠，欲购从速。",
    "搬家服务：大小车辆齐全，价格合理，随叫随到。电话：６４２２７７３１。",
    "征婚：男，３２岁，身高１．７５米，大学文化，诚觅温柔贤惠女士为伴。",
]


def classified_ads(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """A block of unrelated small ads in the middle of the document (``donors`` unused)."""
    ads = _ZH_ADS if lang == "zh" else _EN_ADS
    block = ["分类广告" if lang == "zh" else "CLASSIFIEDS", *(ads[k] for k in rng.sample(range(len(ads)), 4))]
    return _insert_block(text, lang, block, rng)


READABILITY: dict[str, ReadabilityOperator] = {
    "neighbour_swaps": neighbour_swaps,
    "fronted_phrase": fronted_phrase,
    "reversed_run": reversed_run,
    "length_ladder": length_ladder,
    "stripped_stops": stripped_stops,
    "wrong_function_words": wrong_function_words,
    "clipped_words": clipped_words,
}

COHERENCE: dict[str, CoherenceOperator] = {
    "interleaved_donor": interleaved_donor,
    "comment_thread": comment_thread,
    "classified_ads": classified_ads,
}
