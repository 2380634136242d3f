"""Corruption operators that lower one attribute of a document in a known way, for English and Chinese.

Every operator takes a ``random.Random`` that the caller seeds from (seed, attribute, document id), so the same
document is corrupted the same way at every level and on every machine. The operator name is returned with the
text so a corpus carries its per-document ground truth.
"""

from __future__ import annotations

import random
import re

import jieba

from ziya2lab.attributes.text import CJK, EN_STOPWORDS, count_tokens, join_sentences, paragraphs, sentences

BRANDS = ("Flora", "BestBuyHub", "MegaDeal", "SunnyTech", "GoldenLeaf", "UrbanNest", "QuickLoan", "StarMall")
BRANDS_ZH = ("花语", "优品汇", "聚划算", "阳光科技", "金叶", "城市之家", "快贷", "星光商城")


def _junk_line_en(rng: random.Random) -> str:
    brand = rng.choice(BRANDS)
    domain = f"{brand.lower()}{rng.randint(1, 999)}.{rng.choice(('com', 'net', 'shop'))}"
    return rng.choice(
        (
            f"Hello and welcome to {domain}! Click here for today's special offer.",
            f"Home | News | Products | About Us | Contact Us | {brand}",
            "Name: ____ Email: ____ Phone: ____ Message: ____ [Submit]",
            f"© {rng.randint(2005, 2024)} {brand} Inc. All rights reserved. Privacy Policy | Terms of Use",
            f"Buy now and get {rng.randint(10, 70)}% off with promo code {brand.upper()}{rng.randint(10, 99)}!",
            f"Call now: +1 {rng.randint(200, 999)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)} "
            f"or visit https://www.{domain}/deals",
            "Subscribe to our newsletter, follow us and don't miss the best deals of the week!",
        )
    )


def _junk_line_zh(rng: random.Random) -> str:
    brand = rng.choice(BRANDS_ZH)
    domain = f"www.{rng.choice(BRANDS).lower()}{rng.randint(1, 999)}.cn"
    return rng.choice(
        (
            f"欢迎访问{brand}官网{domain}！点击这里立即购买，全场包邮。",
            f"首页 | 新闻中心 | 产品中心 | 关于我们 | 联系我们 | {brand}",
            "姓名：____ 电话：____ 邮箱：____ 留言：____ 【提交】",
            f"版权所有 © {rng.randint(2005, 2024)} {brand} 京ICP备{rng.randint(10000000, 99999999)}号",
            f"咨询热线：400-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}，扫码关注公众号领取优惠券！",
            f"{brand}限时特价，秒杀折扣低至{rng.randint(1, 5)}折，马上抢购！",
            "上一页 | 下一页 | 返回首页 | 返回顶部",
        )
    )


def insert_junk_lines(text: str, lang: str, rng: random.Random, lines: int = 2) -> str:
    """Put ad, navigation, contact-form or footer lines between paragraphs (or at either end)."""
    parts = paragraphs(text)
    for _ in range(lines):
        line = _junk_line_zh(rng) if lang == "zh" else _junk_line_en(rng)
        parts.insert(rng.randint(0, len(parts)), line)
    return "\n".join(parts)


def donor_excerpt(donor_text: str, lang: str, rng: random.Random, min_tokens: int, max_tokens: int) -> str:
    """A run of whole sentences from another document, between ``min_tokens`` and ``max_tokens`` long."""
    donor_sentences = [s for p in paragraphs(donor_text) for s in sentences(p, lang)]
    if not donor_sentences:
        return ""
    start = rng.randrange(len(donor_sentences))
    excerpt: list[str] = []
    for sentence in donor_sentences[start:] + donor_sentences[:start]:
        if excerpt and count_tokens(join_sentences([*excerpt, sentence], lang), lang) > max_tokens:
            break
        excerpt.append(sentence)
        if count_tokens(join_sentences(excerpt, lang), lang) >= min_tokens:
            break
    return join_sentences(excerpt, lang)


def splice_unrelated(text: str, lang: str, donor_text: str, rng: random.Random) -> str:
    """Stitch a piece of an unrelated document into this one at a paragraph boundary (Fig. 8's "unrelated
    pieces"); single-paragraph documents get the piece at a sentence boundary."""
    low, high = (60, 160) if lang == "zh" else (30, 80)
    piece = donor_excerpt(donor_text, lang, rng, low, high)
    parts = paragraphs(text)
    if len(parts) >= 2:
        parts.insert(rng.randint(1, len(parts) - 1), piece)
        return "\n".join(parts)
    host = sentences(parts[0], lang) if parts else []
    host.insert(rng.randint(1, max(len(host) - 1, 1)), piece)
    return join_sentences(host, lang)


PUNCTUATION_SITE = re.compile(r"[,.;:!?，。；：！？、]")


def punctuation_noise(text: str, lang: str, rng: random.Random, sites: int = 3) -> str:
    """Drop or double punctuation marks at ``sites`` random places."""
    positions = [m.start() for m in PUNCTUATION_SITE.finditer(text)]
    if not positions:
        return text
    chosen = sorted(rng.sample(positions, min(sites, len(positions))), reverse=True)
    for position in chosen:
        mark = text[position]
        text = text[:position] + (mark + mark if rng.random() < 0.5 else "") + text[position + 1 :]
    return text


def _rewrite_sentences(text: str, lang: str, rng: random.Random, count: int, rewrite) -> str:
    parts = paragraphs(text)
    split_parts = [sentences(paragraph, lang) for paragraph in parts]
    sites = [
        (p, s)
        for p, split in enumerate(split_parts)
        for s, sentence in enumerate(split)
        if count_tokens(sentence, lang) >= (12 if lang == "zh" else 6)
    ]
    for p, s in rng.sample(sites, min(count, len(sites))):
        split_parts[p][s] = rewrite(split_parts[p][s], rng)
    return "\n".join(join_sentences(split, lang) for split in split_parts)


def truncate_sentences(text: str, lang: str, rng: random.Random, sites: int = 2) -> str:
    """Cut sentences off part-way, ending them with an ellipsis (Fig. 8's incomplete sentence)."""

    def cut(sentence: str, rng: random.Random) -> str:
        if lang == "zh":
            keep = max(4, int(len(sentence) * rng.uniform(0.35, 0.7)))
            return sentence[:keep].rstrip("，、；：") + "……"
        words = sentence.split()
        keep = max(3, int(len(words) * rng.uniform(0.35, 0.7)))
        return " ".join(words[:keep]).rstrip(",;:") + "..."

    return _rewrite_sentences(text, lang, rng, sites, cut)


def _swap_units(units: list[str], rng: random.Random, swaps: int, swappable) -> list[str]:
    candidates = [i for i in range(len(units) - 1) if swappable(units[i]) and swappable(units[i + 1])]
    candidates = [i for i in candidates if units[i] != units[i + 1]]
    for i in sorted(rng.sample(candidates, min(swaps, len(candidates)))):
        units[i], units[i + 1] = units[i + 1], units[i]
    return units


def swap_adjacent(text: str, lang: str, rng: random.Random, sites: int = 3) -> str:
    """Swap adjacent words (en) or characters (zh) at ``sites`` random places."""
    if lang == "zh":
        chars = list(text)
        return "".join(_swap_units(chars, rng, sites, lambda c: bool(CJK.match(c))))
    tokens = re.split(r"(\s+)", text)
    words = tokens[0::2]
    swapped = _swap_units(words, rng, sites, lambda w: w.isalpha())
    tokens[0::2] = swapped
    return "".join(tokens)


ZH_TO_ASCII = str.maketrans({"，": ",", "。": ".", "；": ";", "：": ":", "！": "!", "？": "?", "、": ","})


def garble(text: str, lang: str, rng: random.Random, sites: int = 2) -> str:
    """Rewrite sentences into machine-translation-like text: scrambled phrase order, lost function words and
    capitals (en), half-width punctuation and scrambled word order (zh)."""

    def garble_en(sentence: str, rng: random.Random) -> str:
        words = [w for w in sentence.split() if w.lower() not in ("the", "a", "an") or rng.random() < 0.3]
        words = _swap_units(words, rng, 2, lambda w: w.isalpha())
        if words:
            words[0] = words[0][:1].lower() + words[0][1:]
        return " ".join(words)

    def garble_zh(sentence: str, rng: random.Random) -> str:
        words = _swap_units(jieba.lcut(sentence), rng, 2, lambda w: bool(CJK.match(w)))
        return "".join(words).translate(ZH_TO_ASCII)

    return _rewrite_sentences(text, lang, rng, sites, garble_zh if lang == "zh" else garble_en)


READABILITY_OPERATORS = {
    "punctuation": punctuation_noise,
    "truncate": truncate_sentences,
    "swap": swap_adjacent,
    "garble": garble,
}


def corrupt_readability(text: str, lang: str, rng: random.Random) -> tuple[str, str | None]:
    """A readability operator chosen by ``rng``; returns (text, operator name).

    An operator that finds no site (a poem has no long sentence to truncate) leaves the text as it was; the
    next one in ``rng``'s order is tried, and a text that none can change comes back with operator ``None``,
    so the recorded ground truth never calls an unchanged document corrupted.
    """
    for name in rng.sample(sorted(READABILITY_OPERATORS), len(READABILITY_OPERATORS)):
        corrupted = READABILITY_OPERATORS[name](text, lang, rng)
        if corrupted != text:
            return corrupted, name
    return text, None


def corrupt_coherence(text: str, lang: str, donor_text: str, rng: random.Random) -> tuple[str, str]:
    """Junk lines or a spliced unrelated piece, chosen by ``rng``; returns (text, operator name)."""
    if rng.random() < 0.5:
        return insert_junk_lines(text, lang, rng), "junk_lines"
    spliced = splice_unrelated(text, lang, donor_text, rng)
    if spliced != text:
        return spliced, "splice"
    return insert_junk_lines(text, lang, rng), "junk_lines"  # the donor had no sentence to take


# ---- Development families: one operator per family, scored one by one (``heldout_validation.family_flags``) on
# development documents. The study's mix above, plus operators written in issue #14's second round for the kinds
# the first held-out set showed the raters missing: a few scrambled sentences in a long document, phrase order,
# dropped function words, page furniture and advertisements written as prose. Raters may be tuned on these.

def _some_sentences(text: str, lang: str, rng: random.Random, rewrite) -> str:
    """``rewrite`` one to three sentences long enough to be changed."""
    return _rewrite_sentences(text, lang, rng, rng.randint(1, 3), rewrite)


def _words(sentence: str, lang: str) -> list[str]:
    return jieba.lcut(sentence) if lang == "zh" else sentence.split()


def _final_mark(sentence: str) -> tuple[str, str]:
    """(body, final mark): the mark and any closing quote after it stay at the end when the body is rewritten."""
    match = re.search(r"[.!?;。！？；…]+[\"'”’」』）)]*$", sentence)
    return (sentence[: match.start()], match.group()) if match else (sentence, "")


def shuffle_sentences(text: str, lang: str, rng: random.Random) -> str:
    """Shuffle the characters (zh) or words (en) of one to three sentences; each keeps its final mark."""
    def shuffle(sentence: str, rng: random.Random) -> str:
        body, mark = _final_mark(sentence)
        units = list(body) if lang == "zh" else body.split()
        return ("" if lang == "zh" else " ").join(rng.sample(units, len(units))) + mark
    return _some_sentences(text, lang, rng, shuffle)


def reverse_sentences(text: str, lang: str, rng: random.Random) -> str:
    """Reverse the order of the words (jieba words) of one to three sentences."""
    def reverse(sentence: str, rng: random.Random) -> str:
        body, mark = _final_mark(sentence)
        return ("" if lang == "zh" else " ").join(reversed(_words(body, lang))) + mark
    return _some_sentences(text, lang, rng, reverse)


def swap_halves(text: str, lang: str, rng: random.Random) -> str:
    """Cut one to three sentences at a random word boundary and put the second part first."""
    def swap(sentence: str, rng: random.Random) -> str:
        body, mark = _final_mark(sentence)
        words = _words(body, lang)
        cut = rng.randint(1, max(1, len(words) - 1))
        return ("" if lang == "zh" else " ").join(words[cut:] + words[:cut]) + mark
    return _some_sentences(text, lang, rng, swap)


ZH_FUNCTION_WORDS = frozenset("的了在是和也就都而及与着把被对从向")


def drop_function_words(text: str, lang: str, rng: random.Random) -> str:
    """In one to three sentences, drop each function word (English stop word, Chinese particle or preposition)
    with probability one half, as word-by-word translation output does."""
    def drop(sentence: str, rng: random.Random) -> str:
        if lang == "zh":
            return "".join(word for word in jieba.lcut(sentence) if word not in ZH_FUNCTION_WORDS or rng.random() < 0.5)
        return " ".join(word for word in sentence.split() if word.lower() not in EN_STOPWORDS or rng.random() < 0.5)
    return _some_sentences(text, lang, rng, drop)


def strip_punctuation(text: str, lang: str, rng: random.Random) -> str:
    """Remove the punctuation marks of the whole document (the apostrophes inside English words stay)."""
    if lang == "zh":
        return "\n".join(line for line in (re.sub(r"[^\w\s]", "", paragraph) for paragraph in paragraphs(text)) if line)
    return "\n".join(line for line in (re.sub(r"(?<!\w)'|'(?!\w)|[^\w\s']", "", paragraph).strip()
                                       for paragraph in paragraphs(text)) if line)


def double_words(text: str, lang: str, rng: random.Random) -> str:
    """In one to three sentences, write one word (jieba word of at least two characters) twice in a row, as
    degenerate generated text does (issue #14, round 4)."""
    def double(sentence: str, rng: random.Random) -> str:
        words = _words(sentence, lang)
        sites = [index for index, word in enumerate(words)
                 if (len(CJK.findall(word)) >= 2 if lang == "zh" else word.isalpha())]
        if not sites:
            return sentence
        index = rng.choice(sites)
        return ("" if lang == "zh" else " ").join([*words[: index + 1], words[index], *words[index + 1:]])
    return _some_sentences(text, lang, rng, double)


READABILITY_FAMILIES = {
    **READABILITY_OPERATORS,
    "double_words": double_words,
    "shuffle_sentences": shuffle_sentences,
    "reverse_sentences": reverse_sentences,
    "swap_halves": swap_halves,
    "drop_function_words": drop_function_words,
    "strip_punctuation": strip_punctuation,
}

FURNITURE_EN = (
    "Last updated {day} {month} {year}, {hour}:{minute}", "Filed under: {section}", "Click to enlarge",
    "Story continues below", "Sign in to leave a comment", "Listen to this article ({minute} min)",
    "Report an error", "More from {section}", "Copy link", "Trending now in {section}",
)
FURNITURE_ZH = (
    "更新时间：{year}年{month_number}月{day}日 {hour}:{minute}", "阅读数：{count}", "收藏本文", "复制链接", "举报",
    "查看原图", "展开全文", "热门推荐", "进入{section_zh}频道", "手机阅读本文",
)
SECTIONS = ("Politics", "Markets", "Local", "Science", "Culture")
SECTIONS_ZH_DEV = ("时政", "财经", "本地", "科学", "文化")


def insert_furniture(text: str, lang: str, rng: random.Random) -> str:
    """Two or three page-furniture lines (update stamps, section links, widgets) between or around paragraphs."""
    fields = {"day": rng.randint(1, 28), "month": rng.choice(("Jan", "Apr", "Jul", "Nov")), "year": rng.randint(2005, 2024),
              "month_number": rng.randint(1, 12), "hour": rng.randint(0, 23), "minute": f"{rng.randint(0, 59):02d}",
              "section": rng.choice(SECTIONS), "section_zh": rng.choice(SECTIONS_ZH_DEV), "count": rng.randint(10, 9999)}
    parts = paragraphs(text)
    for template in rng.sample(FURNITURE_ZH if lang == "zh" else FURNITURE_EN, rng.randint(2, 3)):
        parts.insert(rng.randint(0, len(parts)), template.format(**fields))
    return "\n".join(parts)


AD_PROSE_EN = (
    "Tired of {problem}? {brand} works from the very first day, and our customers love it. Pick some up at your "
    "nearest store this weekend.",
    "With {brand} you will never worry about {problem} again. Thousands of happy users cannot be wrong, so why wait?",
)
AD_PROSE_ZH = (
    "还在为{problem}发愁？{brand}帮您轻松解决，用过的人都说好，本周末到店购买更有惊喜。",
    "选择{brand}，从此告别{problem}。数万用户的信赖之选，您还在等什么？",
)
AD_BRANDS_EN = (("NightRest", "restless nights"), ("PureSip", "bad tap water"), ("FlexiBack", "a sore back"))
AD_BRANDS_ZH = (("安睡宝", "睡不好觉"), ("清泉净", "自来水不干净"), ("护腰灵", "腰疼"))


def insert_ad_prose(text: str, lang: str, rng: random.Random) -> str:
    """An advertisement written as ordinary sentences, between two paragraphs (or sentences) of the host."""
    brand, problem = rng.choice(AD_BRANDS_ZH if lang == "zh" else AD_BRANDS_EN)
    ad = rng.choice(AD_PROSE_ZH if lang == "zh" else AD_PROSE_EN).format(brand=brand, problem=problem)
    parts = paragraphs(text)
    if len(parts) >= 2:
        parts.insert(rng.randint(1, len(parts) - 1), ad)
        return "\n".join(parts)
    host = sentences(parts[0], lang) if parts else []
    host.insert(rng.randint(1, max(1, len(host) - 1)), ad)
    return join_sentences(host, lang)


COHERENCE_FAMILIES = {
    "junk_lines": lambda text, lang, donors, rng: insert_junk_lines(text, lang, rng),
    "splice": lambda text, lang, donors, rng: splice_unrelated(text, lang, rng.choice(list(donors)), rng),
    "furniture": lambda text, lang, donors, rng: insert_furniture(text, lang, rng),
    "ad_prose": lambda text, lang, donors, rng: insert_ad_prose(text, lang, rng),
}
