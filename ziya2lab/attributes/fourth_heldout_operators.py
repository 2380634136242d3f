"""The fourth held-out corruption set: new methods, written before the raters were changed in issue #14's fourth
round, and never used to tune a rater.

The three earlier held-out sets (``heldout_operators.py``, ``second_heldout_operators.py``,
``third_heldout_operators.py``) have all been looked at while or after the raters were changed, so their figures
are no longer fresh. This set corrupts the same attributes by methods unlike theirs and is the headline of the
rater validation. It was designed from the Fig. 8 rubric alone, without reading the raters or scoring them on its
output. **This file is frozen**: a test pins its content; change it and it becomes one more development set. It is
self-contained (its own paragraph and sentence splitting; only ``jieba`` from outside), so that a change to the
raters' text helpers cannot change what these operators do.

Readability (Fig. 8: "grammatical errors or punctuation errors"; text a fluent reader finds hard to read):
- ``word_drift`` (word order, mild): in half of the sentences one content word (a jieba word of two characters or
  more) moved two to four word positions away from its place;
- ``head_to_tail`` (word order, medium): in half of the sentences the first two or three words (jieba words)
  moved to the end of the sentence; punctuation stays in its slots;
- ``clause_shuffle`` (word order, medium): in 60% of the sentences with two or more comma-separated clauses, the
  clauses put in another order; the sentence's final mark stays last;
- ``riffled_words`` (word order, strong): in 40% of the sentences the words (jieba words) of the first half
  interleaved with those of the second, as when two halves of a deck are riffled; punctuation stays in its slots;
- ``echoed_span`` (repetition): in half of the sentences with room for it, a span of two to five words (jieba
  words) repeated after a gap of one to three words;
- ``telegraphic`` (omission): in half of the sentences that have any, every function word dropped (articles,
  prepositions, copulas, auxiliaries, conjunctions; Chinese 的/了/在/是/和/把/被/对/从…);
- ``shifted_boundaries`` (punctuation): every sentence's final mark moved to a word boundary 30–70% of the way
  into it (English: the word after it capitalised), so no sentence of three words or more is bounded where it
  ends.

Coherence (Fig. 8: meaningless information; pieces of information not related to each other):
- ``swapped_endings``: the last sentence of every paragraph (but the document's opening sentence) replaced by a
  sentence of an unrelated document;
- ``contact_footer``: a site footer block inside the document: "about us" links, a postal address, telephone,
  fax and e-mail lines, an editor-in-charge line and a friendly-links list (Chinese in Chinese).

Every operator is deterministic given its ``random.Random``: ``(text, lang, rng)`` for readability and
``(text, lang, donors, rng)`` for coherence, ``donors`` being texts of unrelated documents of the same language.
An operator that finds no site returns the text unchanged.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Callable, Sequence

import jieba

ReadabilityOperator = Callable[[str, str, random.Random], str]
CoherenceOperator = Callable[[str, str, Sequence[str], random.Random], str]

_EN_BREAK = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]*[A-Z0-9])")
_ZH_BREAK = re.compile(r"(?<=[。！？])[”’」』）]*")
_EN_SHORT_FORMS = frozenset({"Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Prof", "Gen", "Col", "Lt", "Sgt", "Capt",
                             "Rep", "Sen", "Gov", "Rev", "No", "vs", "Co", "Inc", "Ltd", "Corp", "U.S", "U.N", "U.K",
                             "Jan", "Feb", "Aug", "Sept", "Oct", "Nov", "Dec"})
_FINAL = {"en": re.compile(r"([.!?]+)([\"'”’)\]]*)$"), "zh": re.compile(r"([。！？]+)([”’」』）]*)$")}
_FRAME = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
_PLAIN_EN = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_CLAUSE_MARK = {"en": ",", "zh": "，"}
MIN_WORDS = 5  # a sentence with fewer words (jieba words) is left alone by the word-order and repetition families
EN_FUNCTION_WORDS = frozenset({
    "the", "a", "an", "of", "to", "in", "on", "at", "for", "with", "by", "from", "into", "as", "is", "are", "was",
    "were", "be", "been", "has", "have", "had", "will", "would", "that", "which", "and", "or", "but", "it", "its"})
ZH_FUNCTION_WORDS = frozenset({
    "的", "了", "在", "是", "和", "把", "被", "对", "从", "将", "与", "及", "于", "也", "都", "就", "而", "着",
    "过", "地", "得", "向", "给", "让"})


# --- splitting ------------------------------------------------------------------------------------------------

def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _sentences(paragraph: str, lang: str) -> list[str]:
    pieces, start = [], 0
    for match in (_ZH_BREAK if lang == "zh" else _EN_BREAK).finditer(paragraph):
        if lang == "en":
            before = paragraph[:match.start()].rsplit(None, 1)
            word = before[-1].lstrip("\"'“‘([").rstrip(".!?") if before else ""
            if word in _EN_SHORT_FORMS or (len(word) == 1 and word.isupper()):
                continue
        pieces.append(paragraph[start:match.end()])
        start = match.end()
    pieces.append(paragraph[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


def _join(pieces: Sequence[str], lang: str) -> str:
    return ("" if lang == "zh" else " ").join(pieces)


def _split(text: str, lang: str) -> list[list[str]]:
    return [_sentences(paragraph, lang) for paragraph in _paragraphs(text)]


def _document(split: Sequence[Sequence[str]], lang: str) -> str:
    return "\n".join(_join(parts, lang) for parts in split if parts)


def _is_mark(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _is_word(core: str) -> bool:
    return bool(core) and not all(_is_mark(char) or char.isspace() for char in core)


def _frames(sentence: str, lang: str) -> list[tuple[str, str, str]]:
    """(leading marks, word, trailing marks) per token; a Chinese token is one jieba word (or mark)."""
    if lang == "zh":
        return [("", token, "") for token in jieba.lcut(sentence)]
    return [_FRAME.match(token).groups() for token in sentence.split()]


def _word_count(sentence: str, lang: str) -> int:
    return sum(_is_word(core) for _lead, core, _trail in _frames(sentence, lang))


def _eligible(split: Sequence[Sequence[str]], lang: str) -> list[tuple[int, int]]:
    return [(p, s) for p, parts in enumerate(split) for s, sentence in enumerate(parts)
            if _word_count(sentence, lang) >= MIN_WORDS]


def _share(eligible: list[tuple[int, int]], share: float, rng: random.Random) -> list[tuple[int, int]]:
    """``share`` of the sites (rounded up), drawn at random."""
    return rng.sample(eligible, min(len(eligible), math.ceil(share * len(eligible))))


def _in_slots(sentence: str, lang: str, order: Callable[[list[str]], list[str]]) -> str:
    """The sentence with its words in the order ``order`` gives; punctuation and spacing keep their slots."""
    frames = _frames(sentence, lang)
    slots = [i for i, (_lead, core, _trail) in enumerate(frames) if _is_word(core)]
    words = order([frames[i][1] for i in slots])
    for slot, word in zip(slots, words, strict=True):
        lead, _core, trail = frames[slot]
        frames[slot] = (lead, word, trail)
    return _join(["".join(frame) for frame in frames], lang)


def _reordered(text: str, lang: str, share: float, rng: random.Random,
               order: Callable[[list[str]], list[str]]) -> str:
    split = _split(text, lang)
    changes = [(p, s) for p, s in _eligible(split, lang) if _in_slots(split[p][s], lang, order) != split[p][s]]
    for p, s in _share(changes, share, rng):
        split[p][s] = _in_slots(split[p][s], lang, order)
    return _document(split, lang)


# --- readability: word order ---------------------------------------------------------------------------------

def _content(word: str, lang: str) -> bool:
    if lang == "zh":
        return len(word) >= 2 and word not in ZH_FUNCTION_WORDS and not any(char.isdigit() for char in word)
    return len(word) >= 4 and word.isalpha() and word.lower() not in EN_FUNCTION_WORDS


def word_drift(text: str, lang: str, rng: random.Random) -> str:
    """In half of the sentences, one content word moved two to four word positions away."""
    split = _split(text, lang)
    for p, s in _share(_eligible(split, lang), 0.5, rng):
        def drift(words: list[str]) -> list[str]:
            moves = [(i, j) for i, word in enumerate(words) if _content(word, lang)
                     for j in (i - 4, i - 3, i - 2, i + 2, i + 3, i + 4) if 0 <= j < len(words)]
            rng.shuffle(moves)
            for i, j in moves:
                moved = list(words)
                moved.insert(j, moved.pop(i))
                if moved != words:
                    return moved
            return words
        split[p][s] = _in_slots(split[p][s], lang, drift)
    return _document(split, lang)


def head_to_tail(text: str, lang: str, rng: random.Random) -> str:
    """In half of the sentences, the first two or three words moved to the end; punctuation stays in its slots."""
    k = rng.randint(2, 3)
    return _reordered(text, lang, 0.5, rng, lambda words: words[k:] + words[:k])


def _clauses(sentence: str, lang: str) -> tuple[list[str], str] | None:
    """The sentence's comma-separated clauses and its final mark (with closing quotes), or None under two clauses."""
    final = _FINAL[lang].search(sentence)
    tail = final.group(0) if final else ""
    body = sentence[:len(sentence) - len(tail)]
    mark = _CLAUSE_MARK[lang]
    clauses = [clause.strip() for clause in (re.split(r",\s+", body) if lang == "en" else body.split(mark))]
    if len(clauses) < 2 or not all(_word_count(clause, lang) for clause in clauses):
        return None
    return clauses, tail


def clause_shuffle(text: str, lang: str, rng: random.Random) -> str:
    """In 60% of the sentences of two or more clauses, the clauses in another order; the final mark stays last."""
    split = _split(text, lang)
    sites = [(p, s) for p, parts in enumerate(split) for s, sentence in enumerate(parts)
             if _clauses(sentence, lang) and len(set(_clauses(sentence, lang)[0])) > 1]
    glue = ", " if lang == "en" else "，"
    for p, s in _share(sites, 0.6, rng):
        clauses, tail = _clauses(split[p][s], lang)
        order = rng.sample(clauses, len(clauses))
        if order == clauses:
            order = clauses[1:] + clauses[:1]
        split[p][s] = glue.join(order) + tail
    return _document(split, lang)


def _riffle(words: list[str]) -> list[str]:
    half = (len(words) + 1) // 2
    first, second = words[:half], words[half:]
    out = []
    for i in range(half):
        out.append(first[i])
        if i < len(second):
            out.append(second[i])
    return out


def riffled_words(text: str, lang: str, rng: random.Random) -> str:
    """In 40% of the sentences, the words of the first half interleaved with those of the second."""
    return _reordered(text, lang, 0.4, rng, _riffle)


# --- readability: repetition and omission --------------------------------------------------------------------

def _tokens(sentence: str, lang: str) -> tuple[list[str], list[bool]]:
    """The sentence's tokens (Chinese: jieba words) and whether each is a plain word with no mark attached."""
    if lang == "zh":
        tokens = jieba.lcut(sentence)
        return tokens, [_is_word(token) and not token.isspace() for token in tokens]
    tokens = sentence.split()
    return tokens, [bool(_PLAIN_EN.fullmatch(token)) for token in tokens]


def _echo_sites(tokens: list[str], plain: list[bool]) -> list[tuple[int, int, int]]:
    """(start, length, gap): a run of plain words long enough for a span and its gap."""
    return [(start, length, gap) for length in range(2, 6) for gap in range(1, 4)
            for start in range(len(tokens) - length - gap + 1) if all(plain[start:start + length + gap])]


def _echo(sentence: str, lang: str, rng: random.Random) -> str:
    tokens, plain = _tokens(sentence, lang)
    sites = _echo_sites(tokens, plain)
    if not sites:
        return sentence
    start, length, gap = rng.choice(sites)
    at = start + length + gap
    tokens[at:at] = tokens[start:start + length]
    return _join(tokens, lang)


def echoed_span(text: str, lang: str, rng: random.Random) -> str:
    """In half of the sentences with room for it, a span of two to five words repeated after a gap of one to three
    words."""
    split = _split(text, lang)
    sites = [(p, s) for p, s in _eligible(split, lang) if _echo_sites(*_tokens(split[p][s], lang))]
    for p, s in _share(sites, 0.5, rng):
        split[p][s] = _echo(split[p][s], lang, rng)
    return _document(split, lang)


def _function_word(token: str, lang: str) -> bool:
    return token in ZH_FUNCTION_WORDS if lang == "zh" else token.lower() in EN_FUNCTION_WORDS


def _without_function_words(sentence: str, lang: str) -> str:
    tokens, plain = _tokens(sentence, lang)
    return _join([token for token, bare in zip(tokens, plain, strict=True)
                  if not (bare and _function_word(token, lang))], lang)


def telegraphic(text: str, lang: str, rng: random.Random) -> str:
    """In half of the sentences that have function words, all of them dropped."""
    split = _split(text, lang)
    sites = [(p, s) for p, s in _eligible(split, lang)
             if _without_function_words(split[p][s], lang) != split[p][s]]
    for p, s in _share(sites, 0.5, rng):
        split[p][s] = _without_function_words(split[p][s], lang)
    return _document(split, lang)


# --- readability: punctuation --------------------------------------------------------------------------------

def _shift_boundary(sentence: str, lang: str, rng: random.Random) -> str:
    final = _FINAL[lang].search(sentence)
    if not final:
        return sentence
    body, mark, closing = sentence[:final.start()], final.group(1), final.group(2)
    if lang == "zh":
        tokens = jieba.lcut(body)
        words = [i for i, token in enumerate(tokens) if _is_word(token)]
        if len(words) < 3:
            return sentence
        cut = words[rng.randint(max(1, math.ceil(0.3 * len(words))), max(1, math.floor(0.7 * len(words)))) - 1]
        return "".join(tokens[:cut + 1]) + mark + "".join(tokens[cut + 1:]) + closing
    tokens = body.split()
    if len(tokens) < 3:
        return sentence
    cut = rng.randint(max(1, math.ceil(0.3 * len(tokens))), max(1, math.floor(0.7 * len(tokens))))
    head, rest = tokens[:cut], tokens[cut:]
    lead = re.match(r"\W*", rest[0]).end()
    rest[0] = rest[0][:lead] + rest[0][lead:lead + 1].upper() + rest[0][lead + 1:]
    return " ".join(head) + mark + " " + " ".join(rest) + closing


def shifted_boundaries(text: str, lang: str, rng: random.Random) -> str:
    """Every sentence's final mark moved to a word boundary 30–70% of the way in; the sentence ends unmarked."""
    split = [[_shift_boundary(sentence, lang, rng) for sentence in parts] for parts in _split(text, lang)]
    return _document(split, lang)


READABILITY: dict[str, ReadabilityOperator] = {
    "word_drift": word_drift,
    "head_to_tail": head_to_tail,
    "clause_shuffle": clause_shuffle,
    "riffled_words": riffled_words,
    "echoed_span": echoed_span,
    "telegraphic": telegraphic,
    "shifted_boundaries": shifted_boundaries,
}


# --- coherence -------------------------------------------------------------------------------------------------

def _foreign_sentences(donor: str, lang: str) -> list[str]:
    return [sentence for parts in _split(donor, lang) for sentence in parts
            if (len(sentence) >= 12 if lang == "zh" else len(sentence.split()) >= 6)]


def swapped_endings(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """The last sentence of every paragraph replaced by a sentence of an unrelated document, unless it is the
    document's first sentence or starts within its first 20 characters."""
    pool = [sentence for donor in donors for sentence in _foreign_sentences(donor, lang)]
    split = _split(text, lang)
    if not pool:
        return text
    before = 0
    for parts in split:
        start = before + sum(len(sentence) for sentence in parts[:-1])
        before += sum(len(sentence) for sentence in parts)
        if parts and start >= 20:
            parts[-1] = rng.choice(pool)
    return _document(split, lang)


EN_STREETS = ("Harbour Street", "Kingsway Road", "Elm Avenue", "Market Square", "Riverside Drive")
ZH_STREETS = ("建国路", "中山北路", "解放大道", "人民南路", "滨江东路")
EN_SITES = ("City Weather", "Jobs Board", "Property Guide", "Motoring Today", "Travel Deals", "Recipe Box")
ZH_SITES = ("天气预报", "人才招聘网", "房产频道", "汽车之家", "旅游资讯", "美食天地", "健康养生")


def _footer_en(rng: random.Random) -> list[str]:
    return [
        "About Us | Contact Us | Advertise With Us | Careers | Site Map",
        f"Address: {rng.randint(10, 299)} {rng.choice(EN_STREETS)}, Level {rng.randint(2, 9)}",
        f"Tel: (0{rng.randint(2, 8)}) {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}   "
        f"Fax: (0{rng.randint(2, 8)}) {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
        f"Email: newsroom{rng.randint(1, 99)}@example.com",
        f"Editor in charge: {rng.choice(('P. Walsh', 'K. Brennan', 'M. Howard'))}",
        "Friendly links: " + " | ".join(rng.sample(EN_SITES, 4)),
    ]


def _footer_zh(rng: random.Random) -> list[str]:
    return [
        "关于我们 | 联系我们 | 广告服务 | 招聘信息 | 网站地图",
        f"地址：{rng.choice(ZH_STREETS)}{rng.randint(1, 299)}号{rng.randint(2, 28)}层　邮编：{rng.randint(100000, 899999)}",
        f"电话：0{rng.randint(10, 99)}-{rng.randint(60000000, 89999999)}　"
        f"传真：0{rng.randint(10, 99)}-{rng.randint(60000000, 89999999)}",
        f"电子邮箱：news{rng.randint(1, 99)}@example.cn",
        f"责任编辑：{rng.choice(('王磊', '陈静', '刘洋'))}",
        "友情链接：" + " | ".join(rng.sample(ZH_SITES, 4)),
    ]


def contact_footer(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """A site footer (links, address, telephone, fax, e-mail, editor, friendly links) after one of the host's
    paragraphs, not the first when there is a choice."""
    parts = _paragraphs(text)
    if not parts:
        return text
    footer = (_footer_zh if lang == "zh" else _footer_en)(rng)
    footer = footer[:1] + rng.sample(footer[1:-1], rng.randint(3, len(footer) - 2)) + footer[-1:]
    where = rng.randint(1, max(1, len(parts) - 1))
    parts[where:where] = footer
    return "\n".join(parts)


COHERENCE: dict[str, CoherenceOperator] = {
    "swapped_endings": swapped_endings,
    "contact_footer": contact_footer,
}
