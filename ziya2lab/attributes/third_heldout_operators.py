"""The third held-out corruption set: new methods, written before the raters were changed in issue #14's third
round, and never used to tune a rater.

The first two held-out sets (``heldout_operators.py``, ``second_heldout_operators.py``) have both been looked at
while or after the raters were changed, so their figures are no longer fresh. This set corrupts the same
attributes by methods unlike theirs and is the headline of the rater validation. It was designed from the Fig. 8
rubric alone, without reading the raters or scoring them on its output. **This file is frozen**: a test pins its
content; change it and it becomes one more development set. It is self-contained (its own paragraph and sentence
splitting; only ``jieba`` from outside), so that a change to the raters' text helpers cannot change what these
operators do.

Readability (Fig. 8: "grammatical errors or punctuation errors"; text a fluent reader finds hard to read):
- ``one_run``: the whole document as one unbroken run: paragraphs joined, every ``. ! ? ;`` (``。！？；``) deleted,
  English sentence starts lower-cased (no sentence punctuation left);
- ``wrong_marks``: every sentence mark, comma and colon replaced by a different, wrong mark drawn at random from
  commas, colons, dashes and slashes (Chinese: ``，、：—·``), so no sentence punctuation is left;
- ``adjacent_swaps``: in every sentence of the document's second half (by sentence count), one adjacent pair of
  words (jieba words) swapped per six words; punctuation stays in place;
- ``reversed_sentences``: every other sentence has its words (jieba words) in reverse order; punctuation stays;
- ``sorted_words``: in 40% of the sentences the words are sorted, English alphabetically, Chinese jieba words by
  length; punctuation stays;
- ``deep_jumble``: in 35% of the sentences the words (jieba words) are shuffled and so are the letters inside
  each word (English: the inner letters of words of four letters or more; Chinese: the characters of each
  multi-character word);
- ``mt_repetition``: degenerate machine-translation output: in half of the sentences one or two spans of one to
  three words (jieba words) repeated right after themselves, once or twice.

Coherence (Fig. 8: meaningless information; pieces of information not related to each other):
- ``alternating_sentences``: the sentences of an unrelated document alternated one by one with the host's;
- ``stray_sentences``: one sentence from each of up to three unrelated documents dropped inside the host's
  paragraphs, between two of its sentences;
- ``overlay_text``: the text of pop-up overlays scraped with the page: a consent manager, a newsletter sign-up
  form, a registration wall, an app prompt, a legal footer;
- ``headline_list``: a bare list of four to six unrelated headlines (the donors' opening lines) in the middle of
  the document.

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

_EN_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]*[A-Z0-9])")
_ZH_BOUNDARY = re.compile(r"[。！？]+[”’」』）]*")
_EN_ABBREVIATIONS = frozenset({"Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Prof", "Gen", "Col", "Lt", "Sgt", "Capt",
                               "Rep", "Sen", "Gov", "Rev", "No", "vs", "Co", "Inc", "Ltd", "Corp", "U.S", "U.N",
                               "U.K", "Jan", "Feb", "Aug", "Sept", "Oct", "Nov", "Dec"})
_TOKEN = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
SENTENCE_MARKS = {"en": ".!?;", "zh": "。！？；.!?;"}  # what no sentence may keep after one_run / wrong_marks
WRONG_MARKS = {"en": (",", ":", " -", " /"), "zh": ("，", "、", "：", "—", "·")}
REPLACED_MARKS = {"en": ".!?;,:", "zh": "。！？；，、：.!?;"}
MIN_WORDS = 4  # a sentence with fewer words (jieba words) is left alone by the word-order families


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _en_abbreviation(paragraph: str, mark_at: int) -> bool:
    before = paragraph[:mark_at].rsplit(None, 1)
    word = before[-1].lstrip("\"'“‘([") if before else ""
    return word in _EN_ABBREVIATIONS or (len(word) == 1 and word.isupper())


def _sentences(paragraph: str, lang: str) -> list[str]:
    pieces, start = [], 0
    for match in (_ZH_BOUNDARY if lang == "zh" else _EN_BOUNDARY).finditer(paragraph):
        if lang == "en" and _en_abbreviation(paragraph, match.start()):
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


def _tokens(sentence: str, lang: str) -> list[tuple[str, str, str]]:
    """A sentence as (leading marks, word, trailing marks) frames; a Chinese frame is one jieba word."""
    if lang == "zh":
        return [("", token, "") for token in jieba.lcut(sentence)]
    return [_TOKEN.match(token).groups() for token in sentence.split()]


def _is_word(core: str) -> bool:
    return bool(core) and not all(_is_mark(char) or char.isspace() for char in core)


def _reorder(sentence: str, lang: str, reorder: Callable[[list[str]], list[str]]) -> str:
    """The sentence with its words put in the order ``reorder`` gives; punctuation and spacing keep their slots."""
    frames = _tokens(sentence, lang)
    slots = [i for i, (_lead, core, _trail) in enumerate(frames) if _is_word(core)]
    words = reorder([frames[i][1] for i in slots])
    for slot, word in zip(slots, words, strict=True):
        lead, _core, trail = frames[slot]
        frames[slot] = (lead, word, trail)
    return _join(["".join(frame) for frame in frames], lang)


def _word_count(sentence: str, lang: str) -> int:
    return sum(_is_word(core) for _lead, core, _trail in _tokens(sentence, lang))


def _eligible(split: Sequence[Sequence[str]], lang: str) -> list[tuple[int, int]]:
    return [(p, s) for p, parts in enumerate(split) for s, sentence in enumerate(parts)
            if _word_count(sentence, lang) >= MIN_WORDS]


def _rewrite(text: str, lang: str, chosen: Callable[[list[tuple[int, int]]], list[tuple[int, int]]],
             reorder: Callable[[list[str]], list[str]]) -> str:
    split = _split(text, lang)
    for p, s in chosen(_eligible(split, lang)):
        split[p][s] = _reorder(split[p][s], lang, reorder)
    return _document(split, lang)


def _fraction(share: float, rng: random.Random) -> Callable[[list[tuple[int, int]]], list[tuple[int, int]]]:
    """Choose ``share`` of the eligible sentences (rounded up) at random."""
    return lambda eligible: rng.sample(eligible, min(len(eligible), math.ceil(share * len(eligible))))


# --- readability: no sentence punctuation --------------------------------------------------------------------

def one_run(text: str, lang: str, rng: random.Random) -> str:
    """The whole document as one unbroken run: paragraphs joined, sentence marks deleted, sentence starts lowered."""
    pieces = [sentence for parts in _split(text, lang) for sentence in parts]
    run = []
    for index, sentence in enumerate(pieces):
        if lang == "zh":
            sentence = "".join(char for char in sentence if char not in SENTENCE_MARKS["zh"])
        else:
            sentence = re.sub(r"(?<=\d)\.(?=\d)", ",", sentence)
            sentence = re.sub(r"[.!?;]+", "", sentence)
            match = re.match(r"[\"'“‘(\[]*([A-Z][a-z]+)\b", sentence)
            if index and match and match.group(1) != "I":
                sentence = sentence[:match.start(1)] + sentence[match.start(1)].lower() + sentence[match.start(1) + 1:]
        if sentence.strip():
            run.append(sentence.strip())
    return re.sub(r"[ \t]{2,}", " ", _join(run, lang))


def wrong_marks(text: str, lang: str, rng: random.Random) -> str:
    """Every sentence mark, comma and colon replaced by another mark drawn at random, none ending a sentence."""
    out = []
    for char in text:
        if char in REPLACED_MARKS[lang]:
            char = rng.choice([mark for mark in WRONG_MARKS[lang] if mark.strip() != char])
        out.append(char)
    return "\n".join(re.sub(r"[ \t]{2,}", " ", line).strip() for line in "".join(out).split("\n") if line.strip())


# --- readability: word order ---------------------------------------------------------------------------------

def adjacent_swaps(text: str, lang: str, rng: random.Random) -> str:
    """In every sentence of the second half (the later half of the sentences long enough), swap one adjacent pair
    of words per six words."""
    def swap(words: list[str]) -> list[str]:
        positions = rng.sample(range(len(words) - 1), len(words) - 1)
        taken: set[int] = set()
        for i in positions:
            if len(taken) >= 2 * max(1, len(words) // 6):
                break
            if i in taken or i + 1 in taken or words[i] == words[i + 1]:
                continue
            words[i], words[i + 1] = words[i + 1], words[i]
            taken.update((i, i + 1))
        return words

    return _rewrite(text, lang, lambda eligible: eligible[len(eligible) // 2:], swap)


def reversed_sentences(text: str, lang: str, rng: random.Random) -> str:
    """Every other sentence (starting with the first or the second) has its words in reverse order."""
    def every_other(eligible: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return eligible[rng.randint(0, 1)::2] or eligible[:1]
    return _rewrite(text, lang, every_other, lambda words: words[::-1])


def sorted_words(text: str, lang: str, rng: random.Random) -> str:
    """In 40% of the sentences, the words sorted: English alphabetically, Chinese jieba words by length (only
    sentences whose order the sort changes are chosen)."""
    def sort(words: list[str]) -> list[str]:
        return sorted(words, key=len) if lang == "zh" else sorted(words, key=str.lower)

    split = _split(text, lang)
    eligible = [(p, s) for p, s in _eligible(split, lang) if _reorder(split[p][s], lang, sort) != split[p][s]]
    for p, s in _fraction(0.4, rng)(eligible):
        split[p][s] = _reorder(split[p][s], lang, sort)
    return _document(split, lang)


def _jumble_word(word: str, lang: str, rng: random.Random) -> str:
    if lang == "zh":
        if len(word) < 2:
            return word
        inner = rng.sample(word, len(word))
        return "".join(inner) if "".join(inner) != word else word[::-1]
    if len(word) < 4 or not word.isalpha():
        return word
    inner = rng.sample(word[1:-1], len(word) - 2)
    return word[0] + "".join(inner) + word[-1]


def deep_jumble(text: str, lang: str, rng: random.Random) -> str:
    """In 35% of the sentences, shuffle the words and the letters (characters) inside each word."""
    def jumble(words: list[str]) -> list[str]:
        return [_jumble_word(word, lang, rng) for word in rng.sample(words, len(words))]
    return _rewrite(text, lang, _fraction(0.35, rng), jumble)


# --- readability: machine-translation garbling -----------------------------------------------------------------

def _repeat_spans(sentence: str, lang: str, rng: random.Random) -> str:
    if lang == "zh":
        tokens = jieba.lcut(sentence)
        plain = [_is_word(token) and not token.isspace() for token in tokens]
    else:
        tokens = sentence.split()
        plain = [bool(re.fullmatch(r"[^\W_]+(?:['’-][^\W_]+)*", token)) for token in tokens]
    for _ in range(rng.randint(1, 2)):
        length = rng.randint(1, 3)
        starts = [i for i in range(len(tokens) - length + 1) if all(plain[i:i + length])]
        if not starts:
            continue
        start = rng.choice(starts)
        copies = tokens[start:start + length] * rng.randint(1, 2)
        tokens[start + length:start + length] = copies
        plain[start + length:start + length] = [True] * len(copies)
    return _join(tokens, lang)


def mt_repetition(text: str, lang: str, rng: random.Random) -> str:
    """In half of the sentences, one or two spans of one to three words repeated right after themselves."""
    split = _split(text, lang)
    for p, s in _fraction(0.5, rng)(_eligible(split, lang)):
        split[p][s] = _repeat_spans(split[p][s], lang, rng)
    return _document(split, lang)


READABILITY: dict[str, ReadabilityOperator] = {
    "one_run": one_run,
    "wrong_marks": wrong_marks,
    "adjacent_swaps": adjacent_swaps,
    "reversed_sentences": reversed_sentences,
    "sorted_words": sorted_words,
    "deep_jumble": deep_jumble,
    "mt_repetition": mt_repetition,
}


# --- coherence -------------------------------------------------------------------------------------------------

def _boundaries(split: Sequence[Sequence[str]], lang: str) -> list[tuple[int, int]]:
    """(paragraph, sentence) pairs: a foreign sentence may follow that sentence; never inside the opening 40
    characters, so the host still starts as it did."""
    sites, before = [], 0
    for p, parts in enumerate(split):
        for s, sentence in enumerate(parts):
            before += len(sentence)
            if before >= 40:
                sites.append((p, s))
    return sites


def _donor_sentences(donor: str, lang: str) -> list[str]:
    return [sentence for parts in _split(donor, lang) for sentence in parts
            if (len(sentence) >= 12 if lang == "zh" else len(sentence.split()) >= 5)]


def alternating_sentences(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """After each of the host's sentences (past its opening), the next sentence of one unrelated document."""
    if not donors:
        return text
    foreign = _donor_sentences(rng.choice(list(donors)), lang)
    split = _split(text, lang)
    sites = set(_boundaries(split, lang))
    if not foreign:
        return text
    mixed = []
    for p, parts in enumerate(split):
        paragraph = []
        for s, sentence in enumerate(parts):
            paragraph.append(sentence)
            if (p, s) in sites and foreign:
                paragraph.append(foreign.pop(0))
        mixed.append(paragraph)
    return _document(mixed, lang)


def stray_sentences(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """One sentence from each of up to three unrelated documents, dropped after three of the host's sentences."""
    pool = [_donor_sentences(donor, lang) for donor in rng.sample(list(donors), min(3, len(donors)))]
    strays = [rng.choice(sentences) for sentences in pool if sentences]
    split = _split(text, lang)
    sites = _boundaries(split, lang)
    if not strays or not sites:
        return text
    chosen = sorted(rng.sample(sites, min(len(strays), len(sites))), reverse=True)
    for (p, s), stray in zip(chosen, strays, strict=False):
        split[p].insert(s + 1, stray)
    return _document(split, lang)


PARTNERS = (143, 267, 812, 1024)


def _overlays_en(rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    top = [
        "Skip to main content",
        "Your privacy choices",
        f"We and our {rng.choice(PARTNERS)} partners store and/or access information on a device, such as unique "
        "IDs in cookies, to process personal data. You may accept or manage your choices below.",
        "ACCEPT ALL   REJECT ALL   MANAGE OPTIONS",
    ]
    middle = [
        "Get the morning briefing in your inbox",
        "Enter your email address   SIGN UP   By signing up you agree to our Terms of Use and Privacy Policy",
        f"You have {rng.randint(1, 3)} free articles left this month. Register for free to keep reading",
        "Already a subscriber? Log in",
        "Open in app   Continue in browser",
    ]
    bottom = [
        f"© {rng.randint(2012, 2024)} All rights reserved   Privacy Policy   Terms of Service   Cookie Settings",
        "Do Not Sell or Share My Personal Information",
        "Back to top ↑",
        "Download our app on the App Store and Google Play",
    ]
    return top, middle, bottom


def _overlays_zh(rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    top = [
        "跳转到主要内容",
        "隐私设置",
        f"我们及{rng.choice(PARTNERS)}家合作伙伴会在您的设备上存储和访问Cookie等信息，用于处理个人数据，"
        "您可以在下方接受或管理您的选择",
        "全部接受　全部拒绝　管理选项",
    ]
    middle = [
        "订阅每日早报，精彩内容直达邮箱",
        "请输入您的邮箱地址　立即订阅　订阅即表示您同意《用户协议》和《隐私政策》",
        f"本月您还可以免费阅读{rng.randint(1, 3)}篇文章，免费注册后继续阅读",
        "已有账号？立即登录　没有账号？免费注册",
        "在客户端中打开　继续使用浏览器",
    ]
    bottom = [
        f"Copyright © {rng.randint(2012, 2024)} 版权所有　隐私政策　服务条款　Cookie设置",
        f"京ICP备{rng.randint(10000000, 99999999)}号　违法和不良信息举报电话：12377",
        "返回顶部",
        "扫码下载客户端，随时随地看资讯",
    ]
    return top, middle, bottom


def _halves(text: str, lang: str) -> list[str]:
    """The host's paragraphs; a one-paragraph host cut in two at its middle sentence."""
    parts = _paragraphs(text)
    if len(parts) >= 2:
        return parts
    sentences = _sentences(parts[0], lang) if parts else []
    if len(sentences) < 2:
        return parts
    middle = len(sentences) // 2
    return [_join(sentences[:middle], lang), _join(sentences[middle:], lang)]


def overlay_text(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """Text of pop-up overlays scraped with the page: consent manager on top, a sign-up or registration wall in the
    middle, a legal footer at the bottom."""
    top, middle, bottom = (_overlays_zh if lang == "zh" else _overlays_en)(rng)
    parts = _halves(text, lang)
    if not parts:
        return text
    head = top[: rng.randint(2, len(top))]
    wall = rng.sample(middle, rng.randint(1, 2))
    where = rng.randint(1, max(1, len(parts) - 1))
    parts[where:where] = wall
    return "\n".join([*head, *parts, *rng.sample(bottom, rng.randint(1, 2))])


def _headline(donor: str, lang: str) -> str:
    first = (_paragraphs(donor) or [""])[0]
    short = len(first) <= (30 if lang == "zh" else 90)
    if short:
        return first
    sentence = _sentences(first, lang)[0]
    if lang == "zh":
        return sentence[:24].rstrip("，、；：。")
    return " ".join(sentence.split()[:12]).rstrip(",;:.")


def headline_list(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """A bare list of four to six unrelated headlines (the donors' opening lines) in the middle of the document."""
    picked = rng.sample(list(donors), min(rng.randint(4, 6), len(donors)))
    headlines = [headline for headline in (_headline(donor, lang) for donor in picked) if headline]
    parts = _halves(text, lang)
    if not headlines or not parts:
        return text
    bullet = rng.choice(("·", "■", "◆")) if lang == "zh" else rng.choice(("•", "-", "»"))
    where = max(1, len(parts) // 2)
    parts[where:where] = [f"{bullet} {headline}" for headline in headlines]
    return "\n".join(parts)


COHERENCE: dict[str, CoherenceOperator] = {
    "alternating_sentences": alternating_sentences,
    "stray_sentences": stray_sentences,
    "overlay_text": overlay_text,
    "headline_list": headline_list,
}
