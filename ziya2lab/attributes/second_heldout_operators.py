"""The second held-out corruption set: new methods, written before the raters were changed in issue #14's second
round, and never used to tune a rater.

The first held-out set (``heldout_operators.py``) was looked at once while the raters were changed, so its figures
are no longer entirely fresh. This set corrupts the same attributes by other methods and is the headline of the
rater validation. **This file is frozen**: a test pins its content. It is also self-contained (its own paragraph
and sentence splitting; only ``jieba`` from outside), so that a change to the raters' text helpers cannot change
what these operators do.

Readability (Fig. 8: "grammatical errors or punctuation errors"), one family each:
- ``comma_splices``: every sentence-final mark becomes a comma, the last of each paragraph is dropped (no
  sentence punctuation left; an English sentence start loses its capital when the word also occurs in lower
  case);
- ``transcript_style``: English as a speech transcript (lower case, no punctuation but in-word apostrophes and
  hyphens); Chinese with every run of punctuation marks replaced by one space;
- ``local_shuffle``: in one to three sentences, the words (Chinese: jieba words) permuted within consecutive
  blocks of three; punctuation stays where it was;
- ``chunk_moves``: in one to three sentences, two chunks of two to four words (jieba words) cut out and put back
  elsewhere in the sentence;
- ``shuffled_paragraph``: every long sentence of one paragraph (not the first when there is a choice; the
  middle third of a one-paragraph document) has its words (jieba words) permuted; punctuation stays;
- ``literal_gloss``: word-by-word translation errors in about half of the sentences: English prepositions and
  verb agreement confused, ``a``/``an`` swapped; Chinese verbs moved to the end of their clause;
- ``fragments``: one to three sentences cut after 40–70% of their words (characters) and closed with their
  final mark, as if complete;
- ``truncated_end``: the document ends 40–90% of the way through, inside a word (English) or right after a
  comma (Chinese).

Coherence (Fig. 8: meaningless information; pieces of information not related to each other):
- ``interleaved``: the paragraphs (or sentence groups) of an unrelated document alternated with the host's;
- ``second_article``: the opening of an unrelated document appended after the host, as a page with two items;
- ``seo_spam``: keyword-stuffed lines and comment spam between paragraphs;
- ``page_chrome``: page furniture of another kind than the first set's: print/e-mail bars, previous/next links,
  "advertisement" markers, image credits, comment counters, most-read lists;
- ``sponsored_block``: a sponsored-content paragraph written as prose.

Every operator is deterministic given its ``random.Random``: ``(text, lang, rng)`` for readability and
``(text, lang, donors, rng)`` for coherence, ``donors`` being texts of unrelated documents.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Sequence

import jieba
import jieba.posseg

ReadabilityOperator = Callable[[str, str, random.Random], str]
CoherenceOperator = Callable[[str, str, Sequence[str], random.Random], str]

_EN_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[A-Z0-9])")
_ZH_SENTENCE_END = re.compile(r"(?<=[。！？])[”’」』）]*")
_EN_FINAL_MARK = re.compile(r"[.!?]+(?=[\"'”’)\]]*$)")
_ZH_FINAL_MARKS = "。！？；"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TOKEN_PARTS = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
MIN_WORDS = 8  # a sentence with fewer words (jieba words) is not scrambled
MIN_FRAGMENT_UNITS = {"en": 10, "zh": 16}  # words (en) or CJK characters (zh) a sentence needs to be cut


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _sentences(paragraph: str, lang: str) -> list[str]:
    pieces, start = [], 0
    for match in (_ZH_SENTENCE_END if lang == "zh" else _EN_SENTENCE_END).finditer(paragraph):
        end = match.end() if lang == "zh" else match.start() + len(match.group().rstrip())
        if end > start:
            pieces.append(paragraph[start:end])
            start = match.end()
    pieces.append(paragraph[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


def _join(pieces: Sequence[str], lang: str) -> str:
    return ("" if lang == "zh" else " ").join(pieces)


def _document(split: Sequence[Sequence[str]], lang: str) -> str:
    return "\n".join(_join(parts, lang) for parts in split if parts)


def _split(text: str, lang: str) -> list[list[str]]:
    return [_sentences(paragraph, lang) for paragraph in _paragraphs(text)]


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


class _Slots:
    """A sentence as word slots: each word can move, the punctuation and spacing around it stay in place."""

    def __init__(self, sentence: str, lang: str) -> None:
        self.lang = lang
        if lang == "zh":
            tokens = jieba.lcut(sentence)
            self.frames = [("", token, "") for token in tokens]
        else:
            self.frames = [_TOKEN_PARTS.match(token).groups() for token in sentence.split()]
        self.movable = [i for i, (_lead, core, _trail) in enumerate(self.frames)
                        if core and not all(_is_punctuation(char) or char.isspace() for char in core)]

    @property
    def words(self) -> list[str]:
        return [self.frames[i][1] for i in self.movable]

    def render(self, words: Sequence[str]) -> str:
        frames = list(self.frames)
        for slot, word in zip(self.movable, words, strict=True):
            lead, _core, trail = frames[slot]
            frames[slot] = (lead, word, trail)
        return _join(["".join(frame) for frame in frames], self.lang)


def _permuted(words: list[str], permute: Callable[[list[str]], list[str]]) -> list[str]:
    """``permute(words)`` redrawn until it differs from ``words`` (ten tries)."""
    for _ in range(10):
        result = permute(list(words))
        if result != words:
            return result
    return words


def _rewrite_sentence(sentence: str, lang: str, permute: Callable[[list[str]], list[str]]) -> str:
    slots = _Slots(sentence, lang)
    return slots.render(_permuted(slots.words, permute))


def _eligible(split: Sequence[Sequence[str]], lang: str) -> list[tuple[int, int]]:
    return [(p, s) for p, parts in enumerate(split) for s, sentence in enumerate(parts)
            if len(_Slots(sentence, lang).movable) >= MIN_WORDS]


def _some_sentences(text: str, lang: str, rng: random.Random, permute: Callable[[list[str]], list[str]]) -> str:
    split = _split(text, lang)
    eligible = _eligible(split, lang)
    for p, s in rng.sample(eligible, min(rng.randint(1, 3), len(eligible))):
        split[p][s] = _rewrite_sentence(split[p][s], lang, permute)
    return _document(split, lang)


def local_shuffle(text: str, lang: str, rng: random.Random) -> str:
    """In one to three sentences, permute the words within consecutive blocks of three."""
    def permute(words: list[str]) -> list[str]:
        return [word for start in range(0, len(words), 3) for word in rng.sample(words[start:start + 3],
                                                                                  len(words[start:start + 3]))]
    return _some_sentences(text, lang, rng, permute)


def chunk_moves(text: str, lang: str, rng: random.Random) -> str:
    """In one to three sentences, cut out two chunks of two to four words and put each back elsewhere."""
    def permute(words: list[str]) -> list[str]:
        for _ in range(2):
            length = rng.randint(2, 4)
            start = rng.randrange(0, len(words) - length + 1)
            chunk, rest = words[start:start + length], words[:start] + words[start + length:]
            where = rng.choice([i for i in range(len(rest) + 1) if i != start] or [start])
            words = rest[:where] + chunk + rest[where:]
        return words
    return _some_sentences(text, lang, rng, permute)


def shuffled_paragraph(text: str, lang: str, rng: random.Random) -> str:
    """Permute the words of every long sentence of one paragraph (not the first when another has one); in a
    one-paragraph document, of the sentences in its middle third."""
    split = _split(text, lang)
    eligible = _eligible(split, lang)
    if len(split) == 1:
        count = len(split[0])
        chosen = [(p, s) for p, s in eligible if count / 3 <= s < 2 * count / 3] or eligible[:1]
    else:
        candidates = sorted({p for p, _s in eligible})
        paragraph = rng.choice(candidates[1:] or candidates) if candidates else None
        chosen = [(p, s) for p, s in eligible if p == paragraph]
    for p, s in chosen:
        split[p][s] = _rewrite_sentence(split[p][s], lang, lambda words: rng.sample(words, len(words)))
    return _document(split, lang)


def comma_splices(text: str, lang: str, rng: random.Random) -> str:
    """Every sentence-final mark becomes a comma, and the last one of each paragraph goes: no sentence punctuation."""
    common = set(re.findall(r"\b[a-z]+\b", text))  # a capitalised sentence start is lowered if it occurs lowered
    paragraphs = []
    for parts in _split(text, lang):
        pieces = []
        for index, sentence in enumerate(parts):
            last = index == len(parts) - 1
            if lang == "zh":
                body = sentence.rstrip("”’」』）")
                tail = sentence[len(body):]
                stripped = body.rstrip(_ZH_FINAL_MARKS)
                sentence = stripped + ("" if last or stripped == body else "，") + tail
                sentence = sentence.replace("。", "，").replace("！", "，").replace("？", "，")
            else:
                sentence = _EN_FINAL_MARK.sub("" if last else ",", sentence)
                first = sentence.split(" ", 1)[0].strip("\"'“‘(")
                if index and first.lower() in common and first[1:].islower():
                    sentence = sentence.replace(first, first[0].lower() + first[1:], 1)
            pieces.append(sentence)
        paragraphs.append(_join(pieces, lang))
    return "\n".join(paragraphs)


# a word with its in-word apostrophes and hyphens, or a number with its decimal and thousands marks
EN_SPOKEN_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+(?:['’-][^\W_]+)*")


def transcript_style(text: str, lang: str, rng: random.Random) -> str:
    """English as a speech transcript; Chinese with every run of punctuation marks replaced by one space."""
    lines = []
    for paragraph in _paragraphs(text):
        if lang == "zh":
            line = re.sub(r"\s+", " ", "".join(" " if _is_punctuation(char) else char for char in paragraph))
        else:
            words = EN_SPOKEN_WORD.findall(paragraph)
            line = " ".join(word if word == "I" or word.startswith("I'") else word.lower() for word in words)
        if line.strip():
            lines.append(line.strip())
    return "\n".join(lines)


EN_PREPOSITIONS = ("in", "on", "at", "of", "for", "to", "with", "from", "by")
EN_AGREEMENT = {"is": "are", "are": "is", "was": "were", "were": "was", "has": "have", "have": "has",
                "does": "do", "do": "does", "a": "an", "an": "a"}


def _gloss_english(sentence: str, rng: random.Random) -> str:
    slots = _Slots(sentence, "en")
    words = []
    for word in slots.words:
        lower = word.lower()
        if word.islower() and lower in EN_PREPOSITIONS and rng.random() < 0.6:
            word = rng.choice([p for p in EN_PREPOSITIONS if p != lower])
        elif word.islower() and lower in EN_AGREEMENT and rng.random() < 0.6:
            word = EN_AGREEMENT[lower]
        words.append(word)
    return slots.render(words)


def _gloss_chinese(sentence: str, rng: random.Random) -> str:
    clauses = re.split(r"(?<=[，；：、。！？])", sentence)
    rewritten = []
    for clause in clauses:
        pairs = [(pair.word, pair.flag) for pair in jieba.posseg.lcut(clause)]
        mark = pairs.pop()[0] if pairs and all(_is_punctuation(char) for char in pairs[-1][0]) else ""
        verbs = [i for i, (_word, flag) in enumerate(pairs[:-1]) if flag.startswith("v")]
        if len(pairs) >= 3 and verbs:
            verb = pairs.pop(verbs[0])
            pairs.append(verb)
        rewritten.append("".join(word for word, _flag in pairs) + mark)
    return "".join(rewritten)


def literal_gloss(text: str, lang: str, rng: random.Random) -> str:
    """Word-by-word translation errors in about half of the sentences."""
    split = _split(text, lang)
    gloss = _gloss_chinese if lang == "zh" else _gloss_english
    for parts in split:
        for index, sentence in enumerate(parts):
            if rng.random() < 0.5:
                parts[index] = gloss(sentence, rng)
    return _document(split, lang)


def _fragment(sentence: str, lang: str, rng: random.Random) -> str:
    mark = "。" if lang == "zh" else "."
    final = re.search(r"[。！？.!?]", sentence[-3:])
    mark = final.group() if final else mark
    if lang == "zh":
        keep = int(len(sentence) * rng.uniform(0.4, 0.7))
        while keep > 1 and not _CJK.match(sentence[keep - 1]):
            keep -= 1
        return sentence[:keep] + mark
    words = sentence.split()
    keep = max(2, int(len(words) * rng.uniform(0.4, 0.7)))
    return re.sub(r"[\W_]+$", "", " ".join(words[:keep])) + mark


def fragments(text: str, lang: str, rng: random.Random) -> str:
    """Cut one to three sentences after 40–70% of their words (characters) and close them as if complete."""
    split = _split(text, lang)
    eligible = [(p, s) for p, parts in enumerate(split) for s, sentence in enumerate(parts)
                if (len(_CJK.findall(sentence)) if lang == "zh" else len(sentence.split())) >= MIN_FRAGMENT_UNITS[lang]]
    for p, s in rng.sample(eligible, min(rng.randint(1, 3), len(eligible))):
        split[p][s] = _fragment(split[p][s], lang, rng)
    return _document(split, lang)


def truncated_end(text: str, lang: str, rng: random.Random) -> str:
    """End the document 40–90% of the way through: inside a word (en), right after a comma (zh)."""
    position = int(len(text) * rng.uniform(0.4, 0.9))
    if lang == "zh":
        cut = text.rfind("，", 0, position)
        return text[: cut + 1] if cut > 0 else text
    for match in reversed(list(re.finditer(r"[A-Za-z]{5,}", text[:position + 20]))):
        if match.start() < position:
            return text[: match.start() + rng.randint(2, len(match.group()) - 2)]
    return text


READABILITY: dict[str, ReadabilityOperator] = {
    "comma_splices": comma_splices,
    "transcript_style": transcript_style,
    "local_shuffle": local_shuffle,
    "chunk_moves": chunk_moves,
    "shuffled_paragraph": shuffled_paragraph,
    "literal_gloss": literal_gloss,
    "fragments": fragments,
    "truncated_end": truncated_end,
}


def _pieces(text: str, lang: str) -> list[str]:
    """A document's paragraphs; one with fewer than three is cut into three groups of whole sentences."""
    parts = _paragraphs(text)
    if len(parts) >= 3:
        return parts
    split = [sentence for paragraph in parts for sentence in _sentences(paragraph, lang)]
    if len(split) < 3:
        return parts
    third = len(split) / 3
    return [_join(split[round(i * third): round((i + 1) * third)], lang) for i in range(3)]


def interleaved(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """Alternate the host's paragraphs with up to three paragraphs (sentence groups) of one unrelated document."""
    host, donor = _pieces(text, lang), _pieces(rng.choice(list(donors)), lang)
    if len(host) < 2 or not donor:
        return text
    start = rng.randrange(len(donor))
    foreign = (donor[start:] + donor[:start])[: min(3, len(host) - 1)]
    mixed = []
    for index, piece in enumerate(host):
        mixed.append(piece)
        if index < len(foreign):
            mixed.append(foreign[index])
    return "\n".join(mixed)


def second_article(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """Append the opening of an unrelated document (two paragraphs, or its first three sentences)."""
    donor = rng.choice(list(donors))
    parts = _paragraphs(donor)
    opening = parts[:2] if len(parts) >= 3 else [_join(_sentences(" ".join(parts), lang)[:3], lang)]
    return "\n".join([*_paragraphs(text), *opening])


SPAM_EN = (
    "{kw} {kw2} best {kw} {city} cheap {kw} online {kw2} deals {kw} near me {year}",
    "Great article, thanks for sharing! I earn ${money} a month working from home on my laptop, see my profile.",
    "Nice post. You can also read the top 10 {kw} reviews for {year} on my blog, link in bio.",
    "{kw} | {kw} {city} | {kw2} {city} | best {kw2} | {kw} price | {kw} {year}",
)
SPAM_ZH = (
    "{kw} {kw}价格 {kw}多少钱 {city}{kw} {kw}哪家好 {kw2}排名 {kw2}推荐 {year}最新{kw}",
    "写得真好，支持楼主！顺便推荐一个在家兼职的方法，每月轻松赚{money}元，有兴趣的私信我。",
    "{city}{kw}_{city}{kw2}_{kw}厂家直销_{kw2}批发价格_{kw}哪里便宜",
    "楼主说得对，我也用过{kw}，效果真的很好，想了解的朋友可以加我好友详聊。",
)
SPAM_WORDS_EN = (("car insurance", "auto loans"), ("weight loss pills", "diet tea"), ("hotel booking", "cheap flights"),
                 ("payday loans", "credit repair"), ("phone cases", "wireless earbuds"))
SPAM_WORDS_ZH = (("减肥药", "减肥茶"), ("装修公司", "二手房"), ("英语培训", "考研辅导"), ("汽车贷款", "信用卡"),
                 ("净水器", "空气净化器"))
CITIES_EN = ("London", "Dallas", "Sydney", "Toronto", "Miami")
CITIES_ZH = ("北京", "上海", "广州", "深圳", "成都")


def _spam_line(lang: str, rng: random.Random) -> str:
    kw, kw2 = rng.choice(SPAM_WORDS_ZH if lang == "zh" else SPAM_WORDS_EN)
    template = rng.choice(SPAM_ZH if lang == "zh" else SPAM_EN)
    return template.format(kw=kw, kw2=kw2, city=rng.choice(CITIES_ZH if lang == "zh" else CITIES_EN),
                           year=rng.randint(2015, 2025), money=rng.choice((3000, 5000, 8500, 12000)))


def seo_spam(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """Insert one or two keyword-stuffed or comment-spam lines at paragraph boundaries (either end included)."""
    parts = _paragraphs(text)
    for _ in range(rng.randint(1, 2)):
        parts.insert(rng.randint(0, len(parts)), _spam_line(lang, rng))
    return "\n".join(parts)


AGENCIES = ("Getty Images", "Reuters", "AP Photo", "AFP", "Shutterstock")


def _chrome_en(rng: random.Random, titles: Sequence[str]) -> list[str]:
    return [
        "Print | Email | Font size: A A A",
        f"Previous article: {titles[0]} / Next article: {titles[-1]}",
        "ADVERTISEMENT",
        f"Image: {rng.choice(AGENCIES)} / File photo",
        f"Comments ({rng.randint(0, 9)}) - Be the first to comment",
        "Scroll down to continue reading",
        "Most read: " + " ".join(f"{i}. {title}" for i, title in enumerate(titles, start=1)),
    ]


def _chrome_zh(rng: random.Random, titles: Sequence[str]) -> list[str]:
    return [
        "字号：大 中 小　打印　纠错",
        f"上一篇：{titles[0]}　下一篇：{titles[-1]}",
        "广告",
        "扫描二维码，手机看新闻",
        f"评论（{rng.randint(0, 9)}）　我要评论　网友评论仅供其表达个人看法",
        f"本文共{rng.randint(800, 3000)}字，阅读约需{rng.randint(3, 9)}分钟",
        "点击排行：" + "　".join(f"{i}.{title}" for i, title in enumerate(titles, start=1)),
    ]


def page_chrome(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """Page furniture at the top, inside and at the bottom of the text; listed titles are the donors' first lines."""
    titles = [(_paragraphs(donor) or [donor])[0][:(20 if lang == "zh" else 60)]
              for donor in rng.sample(list(donors), min(3, len(donors)))] or ["…"]
    chrome = rng.sample((_chrome_zh if lang == "zh" else _chrome_en)(rng, titles), 3)
    parts = _paragraphs(text)
    parts.insert(0, chrome[0])
    parts.insert(rng.randint(1, len(parts)), chrome[1])
    parts.append(chrome[2])
    return "\n".join(parts)


SPONSORED_EN = (
    "Sponsored content: this story is brought to you by {brand}. {brand} offers {service} from just {price} a "
    "month, and new members get their first month free.",
    "Partner message. Looking for {service}? {brand} has already helped more than {count} families find a plan "
    "that fits, with friendly advisers available seven days a week.",
    "This article is supported by {brand}, the {service} people. Mention this page when you sign up and save "
    "{percent} percent on your first year.",
)
SPONSORED_ZH = (
    "【推广】{brand}，专注{service}十余年。即日起新用户注册即送{price}元大礼包，名额有限，先到先得。",
    "本文由{brand}赞助。想要省心的{service}？{brand}已为超过{count}个家庭提供贴心服务，专业顾问全天在线。",
    "合作伙伴：{brand}{service}，品质有保障。现在预约即可享受{percent}折优惠，更有好礼相送。",
)
SPONSORS_EN = (("Harbor Home Loans", "mortgage advice"), ("FitNest", "home fitness coaching"),
               ("Clearview Energy", "green electricity"), ("Tutorly", "online tutoring"))
SPONSORS_ZH = (("安心家政", "家政服务"), ("学而优教育", "课外辅导"), ("绿源能源", "家庭光伏"), ("优居装饰", "家装设计"))


def sponsored_block(text: str, lang: str, donors: Sequence[str], rng: random.Random) -> str:
    """Insert a sponsored-content paragraph, written as prose, between two of the host's paragraphs."""
    brand, service = rng.choice(SPONSORS_ZH if lang == "zh" else SPONSORS_EN)
    block = rng.choice(SPONSORED_ZH if lang == "zh" else SPONSORED_EN).format(
        brand=brand, service=service, price=rng.choice((9, 19, 99, 199)), count=rng.choice((2000, 50000, 100000)),
        percent=rng.choice((8, 15, 20)))
    parts = _pieces(text, lang) or [text]
    parts.insert(rng.randint(1, max(1, len(parts) - 1)), block)
    return "\n".join(parts)


COHERENCE: dict[str, CoherenceOperator] = {
    "interleaved": interleaved,
    "second_article": second_article,
    "seo_spam": seo_spam,
    "page_chrome": page_chrome,
    "sponsored_block": sponsored_block,
}
