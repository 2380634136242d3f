"""Ziya2's rule-based filtering (§2.1 "Rule-based Filtering"): named rules at document, paragraph and sentence level.

The paper names the levels ("more than 30 filtering rules at three levels: document, paragraph, and sentence";
document rules about "content length and format", paragraph and sentence rules about toxicity) but publishes no
rule, lexicon or threshold. Ours follow the public conventions of Gopher (MassiveText), C4 and FineWeb, and
Table 1's regex metrics (privacy, toxic, advertising, web-page function words), each adapted to Chinese: Chinese
is measured in characters (CJK code points, never ``str.isalpha``, which is true for them) and English in words.
A rule returns True when the document violates it; the first violated rule, in document → paragraph → sentence
order, is the recorded reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ziya2lab.common.cjk import CJK_IDEOGRAPH as CJK
from ziya2lab.data.charclasses import count, digit, latin_letter, latin_upper, symbol_or_other
from ziya2lab.data.config import RulesConfig

ENGLISH_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
URL = re.compile(r"https?://\S+|www\.\S+")
HTML = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>|&(?:nbsp|amp|lt|gt|quot|#\d+);")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"(?<!\d)(?:\+?\d{1,3}[ -]?)?(?:\(?\d{3,4}\)?[ -]?)\d{3,4}[ -]?\d{4}(?!\d)")
SENTENCE_END = tuple(".!?。！？…\"'”’)）」』")
BULLETS = tuple("•·●▪■◆◇○-*–—>")
DIGITS_7 = re.compile(r"\d[\d ()+-]{6}")
MOJIBAKE = re.compile("Ã.|â€|ï¿½|\ufffd|Â[\u00a0-\u00bf]|锟斤拷|烫烫烫|屯屯屯")
PUNCTUATION_RUN = re.compile(r"([!?！？。.,，~～])\1{3,}")
EN_SENTENCE = re.compile(r"\S.*?[.!?]+(?=\s|$)", re.S)  # "Py_buffer.obj" does not end a sentence
EN_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
ZH_SENTENCE = re.compile(r"[^。！？]+[。！？]+")
EN_STOP_WORDS = frozenset(["the", "be", "to", "of", "and", "that", "have", "with", "this", "for", "is", "are", "was", "it", "in", "a"])
ZH_FUNCTION_CHARS = re.compile("[的了是在和有我不这也就都而及与]")
WHITESPACE = re.compile(r"\s+")  # \s is exactly str.isspace


@dataclass(frozen=True)
class Lexicon:
    """Terms matched in lower-cased text: English terms as whole words, Chinese terms anywhere.

    One regex group per script (rather than one ``\\b`` per term) keeps a scan at one pass over the text, and the
    scan runs only when some term occurs as a substring at all (a fast test that most documents fail).
    """

    terms: tuple[str, ...]
    regex: re.Pattern[str]

    def occurs_in(self, lower: str) -> bool:
        return any(term in lower for term in self.terms)

    def count(self, lower: str) -> int:
        return len(self.regex.findall(lower)) if self.occurs_in(lower) else 0

    def search(self, lower: str) -> bool:
        return self.occurs_in(lower) and self.regex.search(lower) is not None


def _lexicon(*terms: str) -> Lexicon:
    chinese = [re.escape(term.lower()) for term in terms if CJK.search(term)]
    english = [re.escape(term.lower()) for term in terms if not CJK.search(term)]
    regex = re.compile("|".join([rf"\b(?:{'|'.join(english)})\b",
                                 *(["(?:" + "|".join(chinese) + ")"] if chinese else [])]))
    return Lexicon(tuple(term.lower() for term in terms), regex)


# Table 1 "Toxic Word Rate" (explicit, violent, terrorist); kept short and unambiguous: a term here must be
# toxic in nearly every context, so news and fiction survive.
TOXIC = _lexicon(
    "porn", "porno", "pornographic", "xxx videos", "fuck", "fucking", "motherfucker", "cunt", "dickhead",
    "kill yourself", "behead", "beheading video", "bomb making", "jihadi recruitment", "nude pics",
    "色情", "黄色网站", "黄片", "裸聊", "约炮", "操你妈", "傻逼", "草泥马", "恐怖袭击教程", "炸弹制作", "杀人方法",
    "自杀方法", "成人视频", "一夜情",
)
# Table 1 "Adv Word Rate"
ADVERTISING = _lexicon(
    "buy now", "order now", "click here", "free shipping", "limited offer", "limited time offer", "best price",
    "call now", "100% free", "special discount", "add to cart", "subscribe now", "act now", "money back",
    "立即购买", "点击购买", "点击这里", "包邮", "限时抢购", "特价", "加微信", "加我微信", "联系QQ", "免费领取",
    "全场", "秒杀", "优惠券", "扫码关注", "代理加盟", "招商加盟",
)
GAMBLING = _lexicon(
    "online casino", "casino bonus", "betting odds", "jackpot", "slot machines", "sports betting", "poker bonus",
    "博彩", "赌场", "时时彩", "百家乐", "彩票预测", "网上赌博", "老虎机", "六合彩", "澳门赌场",
)
PLACEHOLDER = _lexicon("lorem ipsum", "dolor sit amet", "sample text here", "此处输入文字", "占位文字", "请输入内容",
                       "文本占位符")
JAVASCRIPT = _lexicon("enable javascript", "javascript is disabled", "your browser does not support",
                      "update your browser", "请启用JavaScript", "您的浏览器不支持", "请升级浏览器")
COOKIES = _lexicon("we use cookies", "cookie policy", "accept cookies", "uses cookies", "本网站使用cookie",
                   "接受cookie", "Cookie政策")
BOILERPLATE_LINE = _lexicon(
    "all rights reserved", "copyright", "terms of use", "privacy policy", "sign in", "log in", "sign up",
    "share on facebook", "share on twitter", "back to top", "read more", "related posts", "skip to content",
    "版权所有", "隐私政策", "使用条款", "登录", "注册", "返回顶部", "分享到", "上一篇", "下一篇", "相关文章",
    "首页", "网站地图", "联系我们", "免责声明", "备案号",
)


@dataclass
class TextView:
    """One document's measurements, computed once and shared by every rule."""

    text: str
    lang: str

    @cached_property
    def lower(self) -> str:
        return self.text.lower()

    def hits(self, lexicon: Lexicon) -> int:
        """Lexicon matches in the whole text (cached: several rules share a lexicon)."""
        if lexicon.regex.pattern not in self._hits:
            self._hits[lexicon.regex.pattern] = lexicon.count(self.lower)
        return self._hits[lexicon.regex.pattern]

    def share_containing(self, parts: list[str], lexicon: Lexicon) -> float:
        """Fraction of lines or sentences with a lexicon match; most documents have none and skip the scan."""
        if not self.hits(lexicon):
            return 0.0
        return _fraction(parts, lambda part: lexicon.search(part.lower()))

    @cached_property
    def _hits(self) -> dict[str, int]:
        return {}

    @cached_property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]

    @cached_property
    def visible(self) -> int:
        """Characters that are not whitespace."""
        return len(self.text) - sum(map(len, WHITESPACE.findall(self.text)))

    @cached_property
    def cjk(self) -> int:
        return len(self.tokens) if self.lang == "zh" else len(CJK.findall(self.text))

    @cached_property
    def latin(self) -> int:
        """Latin letters (A-Z, a-z, U+00C0-024F)."""
        return count(latin_letter(), self.text)

    @cached_property
    def upper_latin(self) -> int:
        return count(latin_upper(), self.text)

    @cached_property
    def words(self) -> list[str]:
        return ENGLISH_WORD.findall(self.text)

    @cached_property
    def tokens(self) -> list[str]:
        """Counting units: CJK characters for Chinese, words for English."""
        if self.lang == "zh":
            return CJK.findall(self.text)
        return [word.lower() for word in self.words]

    @cached_property
    def units(self) -> int:
        return max(1, len(self.tokens))

    @cached_property
    def sentences(self) -> list[str]:
        """Sentences up to the last sentence end: no sentence can end after it, and scanning text without one is
        quadratic for both patterns (every start runs to the end), so it is not scanned."""
        if self.lang == "zh":
            pattern, end = ZH_SENTENCE, 1 + max(self.text.rfind(mark) for mark in "。！？")
        else:
            pattern, end = EN_SENTENCE, max((match.end() for match in EN_SENTENCE_END.finditer(self.text)), default=0)
        return [sentence.strip() for sentence in pattern.findall(self.text[:end]) if sentence.strip()]

    def ngram_size(self, words: int) -> int:
        """A Chinese word is about two characters, so an n-word n-gram is 2n characters."""
        return 2 * words if self.lang == "zh" else words

    def line_units(self, line: str) -> int:
        """Counting units of a line or a piece of text (cached: several rules measure the same lines)."""
        if line not in self._line_units:
            pattern = CJK if self.lang == "zh" else ENGLISH_WORD
            self._line_units[line] = len(pattern.findall(line))
        return self._line_units[line]

    @cached_property
    def _line_units(self) -> dict[str, int]:
        return {}

    def ratio(self, part: int) -> float:
        return part / max(1, self.visible)

    def ngram_ids(self, n: int) -> np.ndarray:
        """For every n-gram start, an integer naming the n-gram (equal n-grams, equal integers), exactly: by prefix
        doubling, the n-gram at i is the pair of the p-grams at i and i + n - p (p the largest power of two < n)."""
        if n not in self._ngram_ids:
            if n == 1 and self.lang == "zh":  # one character per unit: its code point names it
                self._ngram_ids[n] = np.frombuffer("".join(self.tokens).encode("utf-32-le"), np.uint32)
            elif n == 1:
                self._ngram_ids[n] = np.unique(np.array(self.tokens), return_inverse=True)[1].reshape(-1)
            else:
                half = 1 << ((n - 1).bit_length() - 1)
                shorter = self.ngram_ids(half).astype(np.int64)
                starts = len(self.tokens) - n + 1
                later = shorter[n - half : n - half + starts]
                pairs = shorter[:starts] * (int(shorter.max()) + 1) + later
                self._ngram_ids[n] = np.unique(pairs, return_inverse=True)[1].reshape(-1)
        return self._ngram_ids[n]

    @cached_property
    def _ngram_ids(self) -> dict[int, np.ndarray]:
        return {}


def _fraction(items: list, predicate: Callable) -> float:
    return sum(map(predicate, items)) / len(items) if items else 0.0


def _top_ngram_fraction(view: TextView, words: int) -> float:
    """Gopher: share of counting units covered by the most frequent n-gram."""
    n, tokens = view.ngram_size(words), view.tokens
    if len(tokens) < view.ngram_size(REPETITION_MIN_WORDS):
        return 0.0
    top = int(np.bincount(view.ngram_ids(n)).max())
    return top * n / len(tokens) if top > 1 else 0.0


def _duplicate_ngram_fraction(view: TextView, words: int) -> float:
    """Gopher: share of counting units inside n-grams that occur more than once."""
    n, tokens = view.ngram_size(words), view.tokens
    if len(tokens) < view.ngram_size(REPETITION_MIN_WORDS):
        return 0.0
    ids = view.ngram_ids(n)
    starts = np.flatnonzero(np.bincount(ids)[ids] > 1)
    # +1 where a repeated n-gram starts, -1 where it ends: a unit is covered where the running sum is positive
    size = len(tokens) + 1
    depth = np.cumsum(np.bincount(starts, minlength=size) - np.bincount(starts + n, minlength=size))
    return int(np.count_nonzero(depth[: len(tokens)])) / len(tokens)


def _per_lang(values: dict[str, float], lang: str) -> float:
    return values.get(lang, values.get("en", 0.0))


REPETITION_MIN_WORDS = 50  # Gopher's repetition statistics are meaningless on a two-line review
Rule = Callable[[TextView, RulesConfig], bool]


def _document_rules() -> dict[str, Rule]:
    return {
        "too_short": lambda v, c: v.units < _per_lang(c.min_units, v.lang),
        "too_long": lambda v, c: len(v.text) > c.max_chars,
        "symbol_ratio": lambda v, c: v.ratio(count(symbol_or_other(), v.text)) > c.max_symbol_ratio,
        "letter_ratio": lambda v, c: v.ratio(v.cjk + v.latin) < c.min_letter_ratio,
        "digit_ratio": lambda v, c: v.ratio(count(digit(), v.text)) > c.max_digit_ratio,
        "uppercase_ratio": lambda v, c: v.latin >= c.min_letters_for_case
        and v.upper_latin / v.latin > c.max_uppercase_ratio,
        "hash_ratio": lambda v, c: v.text.count("#") / v.units > c.max_hash_per_unit,
        "ellipsis_lines": lambda v, c: len(v.lines) >= 3
        and _fraction(v.lines, lambda line: line.endswith(("...", "…"))) > c.max_ellipsis_lines,
        "bullet_lines": lambda v, c: len(v.lines) >= 3 and _fraction(v.lines, lambda line: line.startswith(BULLETS))
        > c.max_bullet_lines,
        "short_lines": lambda v, c: len(v.lines) >= 3 and _fraction(
            v.lines, lambda line: v.line_units(line) < _per_lang(c.short_line_units, v.lang)) > c.max_short_lines,
        "duplicate_lines": lambda v, c: len(v.lines) >= 3 and 1 - len(set(v.lines)) / len(v.lines)
        > c.max_duplicate_lines,
        "duplicate_line_chars": lambda v, c: len(v.lines) >= 3 and _duplicate_line_chars(v) > c.max_duplicate_line_chars,
        "top_2gram": lambda v, c: _top_ngram_fraction(v, 2) > _per_lang(c.max_top_2gram, v.lang),
        "top_3gram": lambda v, c: _top_ngram_fraction(v, 3) > _per_lang(c.max_top_3gram, v.lang),
        "top_4gram": lambda v, c: _top_ngram_fraction(v, 4) > _per_lang(c.max_top_4gram, v.lang),
        "duplicate_5gram": lambda v, c: _duplicate_ngram_fraction(v, 5) > _per_lang(c.max_duplicate_5gram, v.lang),
        "duplicate_10gram": lambda v, c: _duplicate_ngram_fraction(v, 10) > _per_lang(c.max_duplicate_10gram, v.lang),
        "stop_words": lambda v, c: _stop_words(v) < c.min_stop_words,
        "script_mismatch": lambda v, c: (v.cjk / max(1, v.cjk + v.latin) < c.min_cjk_share_zh) if v.lang == "zh"
        else v.cjk / max(1, v.cjk + v.latin) > c.max_cjk_share_en,
        "mojibake": lambda v, c: len(MOJIBAKE.findall(v.text)) > c.max_mojibake,
        "html_tags": lambda v, c: len(HTML.findall(v.text)) > c.max_html_tags,
        "code_braces": lambda v, c: (v.text.count("{") + v.text.count("}")) / v.units > c.max_braces_per_unit,
        "urls": lambda v, c: len(URL.findall(v.text)) > c.max_urls
        or sum(map(len, URL.findall(v.text))) > c.max_url_char_ratio * len(v.text),
        "privacy": lambda v, c: _privacy_matches(v.text) > c.max_privacy_matches,
        "placeholder_text": lambda v, c: v.hits(PLACEHOLDER) > 0,
        "javascript_notice": lambda v, c: v.hits(JAVASCRIPT) > 0,
        "cookie_notice": lambda v, c: v.hits(COOKIES) > 0,
        "boilerplate_lines": lambda v, c: len(v.lines) >= 3
        and v.share_containing(v.lines, BOILERPLATE_LINE) > c.max_boilerplate_lines,
        "long_unpunctuated": lambda v, c: _longest_unpunctuated(v) > _per_lang(c.max_unpunctuated_units, v.lang),
    }


def _duplicate_line_chars(view: TextView) -> float:
    counts = Counter(view.lines)
    return sum(len(line) * (count - 1) for line, count in counts.items()) / max(1, sum(map(len, view.lines)))


def _stop_words(view: TextView) -> int:
    if view.lang == "zh":
        return len(ZH_FUNCTION_CHARS.findall(view.text))
    return sum(1 for word in view.tokens if word in EN_STOP_WORDS)


def _longest_unpunctuated(view: TextView) -> int:
    """The longest stretch of counting units with no sentence or clause punctuation (run-on keyword lists)."""
    pieces = re.split(r"[.!?;:,。！？；：，、…\n]", view.text)
    return max((view.line_units(piece) for piece in pieces), default=0)


def _privacy_matches(text: str) -> int:
    """Table 1's privacy words: e-mail addresses and phone numbers (scanned only where they can occur)."""
    emails = len(EMAIL.findall(text)) if "@" in text else 0
    return emails + (len(PHONE.findall(text)) if DIGITS_7.search(text) else 0)


def _paragraph_rules() -> dict[str, Rule]:
    return {
        "toxic_paragraphs": lambda v, c: v.share_containing(v.lines, TOXIC) > c.max_toxic_paragraphs
        or v.hits(TOXIC) >= c.max_toxic_terms,
        "ad_words": lambda v, c: v.hits(ADVERTISING) >= c.min_ad_terms
        and v.hits(ADVERTISING) * 100 / v.units > c.max_ad_terms_per_100,
        "gambling_words": lambda v, c: v.hits(GAMBLING) >= c.min_ad_terms,
        "broken_paragraphs": lambda v, c: len(v.lines) >= 2 and _fraction(
            [line for line in v.lines if v.line_units(line) >= _per_lang(c.paragraph_units, v.lang)],
            lambda line: not line.endswith(SENTENCE_END)) > c.max_broken_paragraphs,
    }


def _sentence_rules() -> dict[str, Rule]:
    return {
        "truncated_sentences": lambda v, c: len(v.sentences) >= 3 and _fraction(v.sentences, _starts_broken)
        > c.max_truncated_sentences,
        "repeated_sentences": lambda v, c: len(v.sentences) >= 3
        and 1 - len(set(v.sentences)) / len(v.sentences) > c.max_repeated_sentences,
        "punctuation_runs": lambda v, c: len(PUNCTUATION_RUN.findall(v.text)) * 100 / v.units > c.max_punctuation_runs,
        "toxic_sentences": lambda v, c: v.share_containing(v.sentences, TOXIC) > c.max_toxic_sentences,
    }


def _starts_broken(sentence: str) -> bool:
    """A sentence that starts mid-word or mid-clause: lower-case English, or Chinese clause punctuation first."""
    stripped = sentence.lstrip("\"'“‘(（「 ")
    word = re.match(r"[A-Za-z_][\w.()]*", stripped)
    if word:  # a lower-case English word; an identifier (tp_flags, os.path) may start a sentence in prose
        return word.group().isalpha() and word.group()[0].islower()
    return stripped[:1] in "，、；：,;:"


RULES: dict[str, tuple[str, Rule]] = {
    name: (level, rule)
    for level, rules in (("document", _document_rules()), ("paragraph", _paragraph_rules()),
                         ("sentence", _sentence_rules()))
    for name, rule in rules.items()
}
RULE_NAMES = tuple(RULES)


def violated_rule(text: str, lang: str, config: RulesConfig) -> str | None:
    """The first rule ``text`` violates, in document → paragraph → sentence order, or None if it passes."""
    view = TextView(text, lang)
    for name, (_level, rule) in RULES.items():
        if name not in config.disabled and rule(view, config):
            return name
    return None
