"""Held-out corruption operators: written apart from ``corruption.py`` and never used to tune a rater.

The development operators (``corruption.py``) are what the raters were built and tuned against, so a rater that
scores well on them may only have learnt their signatures. These operators corrupt the same attributes by other
methods, and ``validation.validate_heldout`` reports the raters' precision and recall on them as the headline
figures. **This file is frozen**: it was committed before the raters were changed for issue #14, and a test pins
its content. Changing an operator after looking at a rater's score on it would make it one more development
operator; add a new frozen set instead.

Readability (Fig. 8: "grammatical errors or punctuation errors"), one family each:
- ``no_punctuation``: every punctuation mark removed;
- ``no_sentence_marks``: sentence-final marks removed (commas stay);
- ``scramble_sentences``: the words (en) or characters (zh) of one to three sentences shuffled;
- ``scramble_first_half``: the words or characters of every sentence in the first half shuffled;
- ``mt_garble``: machine-translation-like output by rule: English loses articles and inflections, Chinese loses
  its particles and has the phrases of each clause rotated;
- ``cut_mid_clause``: the document ends inside a clause, with no mark;
- ``issue_check``: issue #14's own check: every punctuation mark removed, the words (characters) of the first
  half shuffled, the document cut to 60% of its length.

Coherence (Fig. 8: "meaningless information such as advertisements, URL navigation bar", "pieces of information
not related to each other"):
- ``paragraph_splice``: a whole paragraph of an unrelated document inserted;
- ``snippet_collage``: the opening of the document followed by snippets of three unrelated documents;
- ``web_boilerplate``: page furniture around the text: breadcrumbs, bylines, share bars, tags, related links;
- ``ad_paragraph``: an advertisement written as prose, inserted between paragraphs.

Every operator is deterministic given its ``random.Random``; ``(text, lang, rng)`` for readability and
``(text, lang, donors, rng)`` for coherence, where ``donors`` are texts of unrelated documents.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Sequence

import jieba

from ziya2lab.attributes.text import CJK, EN_STOPWORDS, join_sentences, paragraphs, sentences

ReadabilityOperator = Callable[[str, str, random.Random], str]
CoherenceOperator = Callable[[str, str, Sequence[str], random.Random], str]

SENTENCE_MARKS_ZH = "。！？；…"
EN_SENTENCE_MARK = re.compile(r"[.!?;]+(?=[\"'”’)\]]*(?:\s|$))")
MIN_SCRAMBLE_UNITS = {"en": 6, "zh": 8}


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def _tidy_spaces(text: str) -> str:
    return "\n".join(re.sub(r"[ \t]{2,}", " ", line).strip() for line in text.split("\n") if line.strip())


def no_punctuation(text: str, lang: str, rng: random.Random) -> str:
    """Remove every Unicode punctuation mark (category P*)."""
    return _tidy_spaces("".join(char for char in text if not _is_punctuation(char)))


def no_sentence_marks(text: str, lang: str, rng: random.Random) -> str:
    """Remove the marks that end sentences; commas and the rest stay."""
    if lang == "zh":
        return _tidy_spaces("".join(char for char in text if char not in SENTENCE_MARKS_ZH))
    return _tidy_spaces(EN_SENTENCE_MARK.sub("", text))


def _shuffled(units: list[str], rng: random.Random) -> list[str]:
    """A permutation of ``units`` different from the original order (when one exists)."""
    for _ in range(10):
        order = rng.sample(units, len(units))
        if order != units:
            return order
    return units


def _scramble_sentence(sentence: str, lang: str, rng: random.Random) -> str:
    """Shuffle the words (en) or the characters (zh) of one sentence, its final mark kept at the end."""
    body = sentence.rstrip("".join(c for c in sentence[-3:] if _is_punctuation(c)))
    tail = sentence[len(body):]
    if lang == "zh":
        return "".join(_shuffled(list(body), rng)) + tail
    return " ".join(_shuffled(body.split(), rng)) + tail


def _long_enough(sentence: str, lang: str) -> bool:
    units = [c for c in sentence if not c.isspace()] if lang == "zh" else sentence.split()
    return len(units) >= MIN_SCRAMBLE_UNITS[lang]


def _map_sentences(text: str, lang: str, chosen: Callable[[float], bool], rewrite: Callable[[str], str]) -> str:
    """Rewrite the sentences for which ``chosen(where)`` holds, ``where`` being the fraction of the document's
    characters before the sentence; the paragraph layout is kept."""
    split = [sentences(paragraph, lang) for paragraph in paragraphs(text)]
    total = max(sum(len(sentence) for parts in split for sentence in parts), 1)
    before = 0
    for parts in split:
        for position, sentence in enumerate(parts):
            if chosen(before / total) and _long_enough(sentence, lang):
                parts[position] = rewrite(sentence)
            before += len(sentence)
    return "\n".join(join_sentences(parts, lang) for parts in split)


def scramble_sentences(text: str, lang: str, rng: random.Random) -> str:
    """Shuffle the words (characters in Chinese) of one to three sentences long enough to be shuffled."""
    split = [sentences(paragraph, lang) for paragraph in paragraphs(text)]
    eligible = [(p, s) for p, parts in enumerate(split) for s, sentence in enumerate(parts)
                if _long_enough(sentence, lang)]
    for p, s in rng.sample(eligible, min(rng.randint(1, 3), len(eligible))):
        split[p][s] = _scramble_sentence(split[p][s], lang, rng)
    return "\n".join(join_sentences(parts, lang) for parts in split)


def scramble_first_half(text: str, lang: str, rng: random.Random) -> str:
    """Shuffle the words (characters) within every sentence that starts in the first half of the document."""
    return _map_sentences(text, lang, lambda where: where < 0.5,
                          lambda sentence: _scramble_sentence(sentence, lang, rng))


EN_ARTICLES = frozenset({"a", "an", "the"})
# Inflections dropped ("walked" -> "walk", "houses" -> "house"); short and function words keep theirs.
EN_SUFFIX = re.compile(r"(?<=[a-z]{4})(?:ing|ed)$|(?<=[a-z]{4}[^su])s$")
ZH_PARTICLES = frozenset({"的", "了", "地", "得", "着", "过"})


def _mt_english(sentence: str, rng: random.Random) -> str:
    words = []
    for word in sentence.split():
        core = word.strip(".,;:!?\"'()")
        if core.lower() in EN_ARTICLES:
            continue
        inflected = core.isalpha() and core.islower() and core not in EN_STOPWORDS
        words.append(word.replace(core, EN_SUFFIX.sub("", core)) if inflected else word)
    return " ".join(words)


def _mt_chinese(sentence: str, rng: random.Random) -> str:
    clauses = re.split(r"(?<=[，；：、])", sentence)
    rewritten = []
    for clause in clauses:
        words = [word for word in jieba.lcut(clause) if word not in ZH_PARTICLES]
        mark = words.pop() if words and all(_is_punctuation(c) for c in words[-1]) else ""
        if len(words) >= 3:
            cut = rng.randint(1, len(words) - 1)
            words = words[cut:] + words[:cut]
        rewritten.append("".join(words) + mark)
    return "".join(rewritten)


def mt_garble(text: str, lang: str, rng: random.Random) -> str:
    """Rewrite about half of the sentences as rule-based machine translation would leave them."""
    rewrite = _mt_chinese if lang == "zh" else _mt_english
    return _map_sentences(text, lang, lambda where: rng.random() < 0.5, lambda sentence: rewrite(sentence, rng))


def _inside_clause(text: str, position: int, lang: str) -> int:
    """The nearest cut point at or before ``position`` that falls between two words of one clause."""
    for cut in range(position, 0, -1):
        before, after = text[cut - 1], text[cut] if cut < len(text) else ""
        if lang == "zh":
            if CJK.match(before) and after and CJK.match(after):
                return cut
        elif before.isalpha() and after == " " and cut + 1 < len(text) and text[cut + 1].isalpha():
            return cut
    return 0


def cut_mid_clause(text: str, lang: str, rng: random.Random) -> str:
    """End the document between two words of a clause, 40–90% of the way through, with no mark."""
    cut = _inside_clause(text, int(len(text) * rng.uniform(0.4, 0.9)), lang)
    return text[:cut].rstrip() if cut else text


def issue_check(text: str, lang: str, rng: random.Random) -> str:
    """Issue #14's check: no punctuation, the first half's words (characters) shuffled, cut to 60% length."""
    bare = no_punctuation(text, lang, rng)
    half = len(bare) // 2 if lang == "zh" else max(bare.rfind(" ", 0, len(bare) // 2), 0)
    if lang == "zh":
        head = "".join(_shuffled([c for c in bare[:half] if not c.isspace()], rng))
    else:
        head = " ".join(_shuffled(bare[:half].split(), rng))
    joined = head + ("" if lang == "zh" else " ") + bare[half:].lstrip()
    return joined[: int(0.6 * len(joined))].rstrip()


READABILITY: dict[str, ReadabilityOperator] = {
    "no_punctuation": no_punctuation,
    "no_sentence_marks": no_sentence_marks,
    "scramble_sentences": scramble_sentences,
    "scramble_first_half": scramble_first_half,
    "mt_garble": mt_garble,
    "cut_mid_clause": cut_mid_clause,
    "issue_check": issue_check,
}


def _donor_paragraph(donor: str, lang: str, rng: random.Random) -> str:
    """One paragraph of a donor (the longest of three random picks, so it reads as a paragraph)."""
    parts = paragraphs(donor) or [donor.strip()]
    return max((rng.choice(parts) for _ in range(3)), key=len)


def _host_paragraphs(text: str, lang: str) -> list[str]:
    """The host's paragraphs; a one-paragraph host is split at its middle sentence so a piece can go between."""
    parts = paragraphs(text)
    if len(parts) >= 2:
        return parts
    split = sentences(parts[0], lang) if parts else []
    middle = max(1, len(split) // 2)
    return [join_sentences(split[:middle], lang), join_sentences(split[middle:], lang)] if len(split) >= 2 else parts


def paragraph_splice(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """Insert one whole paragraph of an unrelated document between two of the host's paragraphs."""
    parts = _host_paragraphs(text, lang)
    piece = _donor_paragraph(rng.choice(list(donors)), lang, rng)
    parts.insert(rng.randint(1, max(1, len(parts) - 1)), piece)
    return "\n".join(parts)


def snippet_collage(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """The host's opening (its first third, whole sentences) followed by short snippets of three other documents."""
    host = [s for paragraph in paragraphs(text) for s in sentences(paragraph, lang)]
    keep = host[: max(1, len(host) // 3)]
    snippets = []
    for donor in rng.sample(list(donors), min(3, len(donors))):
        donor_sentences = [s for paragraph in paragraphs(donor) for s in sentences(paragraph, lang)]
        if donor_sentences:
            start = rng.randrange(len(donor_sentences))
            snippets.append(join_sentences(donor_sentences[start : start + rng.randint(1, 2)], lang))
    return "\n".join([join_sentences(keep, lang), *snippets])


SECTIONS_EN = ("World", "Business", "Sport", "Lifestyle", "Opinion", "Technology", "Travel", "Health")
SECTIONS_ZH = ("国内", "国际", "财经", "体育", "娱乐", "科技", "健康", "教育")
NAMES_EN = ("admin", "J. Carter", "newsdesk", "Sarah M.", "staff writer")
NAMES_ZH = ("小编", "张明", "李华", "网友投稿", "本站编辑")


def _boilerplate_en(rng: random.Random, titles: Sequence[str]) -> tuple[list[str], list[str]]:
    section, other = rng.sample(SECTIONS_EN, 2)
    month = rng.choice(("January", "March", "June", "August", "October", "December"))
    header = [
        f"You are here: Home » {section} » {other}",
        f"Posted by {rng.choice(NAMES_EN)} on {month} {rng.randint(1, 28)}, {rng.randint(2009, 2023)} "
        f"| {rng.randint(0, 40)} Comments | Share: Facebook Twitter WhatsApp",
    ]
    footer = [
        f"Tags: {section.lower()}, {other.lower()}, latest, trending",
        "Related articles: " + " · ".join(title[:60] for title in titles),
        "Leave a Reply. Your email address will not be published. Required fields are marked *",
        "This website uses cookies to improve your experience. Accept Read More",
    ]
    return rng.sample(header, rng.randint(1, 2)), rng.sample(footer, rng.randint(1, 2))


def _boilerplate_zh(rng: random.Random, titles: Sequence[str]) -> tuple[list[str], list[str]]:
    section, other = rng.sample(SECTIONS_ZH, 2)
    header = [
        f"当前位置：首页 > {section} > {other} > 正文",
        f"发布时间：{rng.randint(2009, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
        f"来源：{rng.choice(NAMES_ZH)} 浏览次数：{rng.randint(100, 99999)}",
    ]
    footer = [
        "分享到：新浪微博 微信 QQ空间 豆瓣",
        "相关阅读：" + "　".join(title[:24] for title in titles),
        "【打印本页】【关闭窗口】【返回顶部】",
        f"责任编辑：{rng.choice(NAMES_ZH)}　本文来源于网络，如有侵权请联系删除",
    ]
    return rng.sample(header, rng.randint(1, 2)), rng.sample(footer, rng.randint(1, 2))


def web_boilerplate(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """Surround the text with page furniture; the related-links titles come from the donors' first lines."""
    titles = [(paragraphs(donor) or [donor])[0] for donor in rng.sample(list(donors), min(3, len(donors)))]
    header, footer = (_boilerplate_zh if lang == "zh" else _boilerplate_en)(rng, titles)
    return "\n".join([*header, *paragraphs(text), *footer])


AD_EN = (
    "Struggling with {problem}? Thousands of readers have already switched to {product}, and most say they "
    "noticed the difference within a week. Ask for it at your local store today.",
    "{product} is the smarter way to deal with {problem}. Order before Friday and the second one is on us, "
    "with delivery to your door at no extra cost.",
    "Still paying too much for {problem}? {product} compares over two hundred providers in minutes, so you "
    "never have to. Join more than a million satisfied customers.",
)
AD_ZH = (
    "还在为{problem}烦恼吗？{product}采用全新工艺，十万家庭的共同选择，现在下单即享买一送一，全国包邮到家。",
    "{product}，专为{problem}而生！限时特惠，前一百名下单的顾客再送精美礼品一份，机会难得，欲购从速。",
    "告别{problem}，就选{product}。多年品质保证，专业团队一对一服务，详情请咨询各大门店。",
)
PRODUCTS_EN = ("OrthoFlex", "BrightSmile Pro", "QuickCover", "SleepWell Plus", "HomeSaver")
PROBLEMS_EN = ("back pain", "high energy bills", "insurance costs", "sleepless nights", "stained teeth")
PRODUCTS_ZH = ("睡宝枕", "净水先锋", "康源胶囊", "速学英语", "安居保")
PROBLEMS_ZH = ("失眠", "水质不好", "腰酸背痛", "英语学不好", "家庭保障")


def ad_paragraph(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """Insert an advertisement written as ordinary prose between two of the host's paragraphs."""
    if lang == "zh":
        ad = rng.choice(AD_ZH).format(product=rng.choice(PRODUCTS_ZH), problem=rng.choice(PROBLEMS_ZH))
    else:
        ad = rng.choice(AD_EN).format(product=rng.choice(PRODUCTS_EN), problem=rng.choice(PROBLEMS_EN))
    parts = _host_paragraphs(text, lang)
    parts.insert(rng.randint(1, max(1, len(parts) - 1)), ad)
    return "\n".join(parts)


COHERENCE: dict[str, CoherenceOperator] = {
    "paragraph_splice": paragraph_splice,
    "snippet_collage": snippet_collage,
    "web_boilerplate": web_boilerplate,
    "ad_paragraph": ad_paragraph,
}
