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
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from ziya2lab.common.cjk import CJK_IDEOGRAPH as CJK
from ziya2lab.data.config import RulesConfig

LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
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
ZH_SENTENCE = re.compile(r"[^。！？]+[。！？]+")
EN_STOP_WORDS = frozenset(["the", "be", "to", "of", "and", "that", "have", "with", "this", "for", "is", "are", "was", "it", "in", "a"])
ZH_FUNCTION_CHARS = frozenset("的了是在和有我不这也就都而及与")


def _lexicon(*terms: str) -> re.Pattern[str]:
    """Alternatives matched in lower-cased text: English terms as whole words, Chinese terms anywhere.

    One group per script (rather than one ``\\b`` per term) keeps the scan at one pass over the text.
    """
    chinese = [re.escape(term.lower()) for term in terms if CJK.search(term)]
    english = [re.escape(term.lower()) for term in terms if not CJK.search(term)]
    return re.compile("|".join([rf"\b(?:{'|'.join(english)})\b", *(["(?:" + "|".join(chinese) + ")"] if chinese else [])]))


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

    def hits(self, lexicon: re.Pattern[str]) -> int:
        """Lexicon matches in the whole text (cached: several rules share a lexicon)."""
        if lexicon.pattern not in self._hits:
            self._hits[lexicon.pattern] = len(lexicon.findall(self.lower))
        return self._hits[lexicon.pattern]

    def share_containing(self, parts: list[str], lexicon: re.Pattern[str]) -> float:
        """Fraction of lines or sentences with a lexicon match; most documents have none and skip the scan."""
        if not self.hits(lexicon):
            return 0.0
        return _fraction(parts, lambda part: lexicon.search(part.lower()) is not None)

    @cached_property
    def _hits(self) -> dict[str, int]:
        return {}

    @cached_property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]

    @cached_property
    def visible(self) -> list[str]:
        return [char for char in self.text if not char.isspace()]

    @cached_property
    def cjk(self) -> int:
        return len(CJK.findall(self.text))

    @cached_property
    def latin(self) -> list[str]:
        return LATIN_LETTER.findall(self.text)

    @cached_property
    def words(self) -> list[str]:
        return ENGLISH_WORD.findall(self.text)

    @cached_property
    def tokens(self) -> list[str]:
        """Counting units: CJK characters for Chinese, words for English."""
        if self.lang == "zh":
            return [char for char in self.visible if CJK.match(char)]
        return [word.lower() for word in self.words]

    @cached_property
    def units(self) -> int:
        return max(1, len(self.tokens))

    @cached_property
    def sentences(self) -> list[str]:
        pattern = ZH_SENTENCE if self.lang == "zh" else EN_SENTENCE
        return [sentence.strip() for sentence in pattern.findall(self.text) if sentence.strip()]

    def ngram_size(self, words: int) -> int:
        """A Chinese word is about two characters, so an n-word n-gram is 2n characters."""
        return 2 * words if self.lang == "zh" else words

    def line_units(self, line: str) -> int:
        return len(CJK.findall(line)) if self.lang == "zh" else len(ENGLISH_WORD.findall(line))

    def ratio(self, count: int) -> float:
        return count / max(1, len(self.visible))


def _fraction(items: list, predicate: Callable) -> float:
    return sum(map(predicate, items)) / len(items) if items else 0.0


def _top_ngram_fraction(view: TextView, words: int) -> float:
    """Gopher: share of counting units covered by the most frequent n-gram."""
    n, tokens = view.ngram_size(words), view.tokens
    if len(tokens) < view.ngram_size(REPETITION_MIN_WORDS):
        return 0.0
    _gram, count = Counter(_ngrams(tokens, n)).most_common(1)[0]
    return count * n / len(tokens) if count > 1 else 0.0


def _duplicate_ngram_fraction(view: TextView, words: int) -> float:
    """Gopher: share of counting units inside n-grams that occur more than once."""
    n, tokens = view.ngram_size(words), view.tokens
    if len(tokens) < view.ngram_size(REPETITION_MIN_WORDS):
        return 0.0
    grams = _ngrams(tokens, n)
    counts = Counter(grams)
    covered = bytearray(len(tokens))
    for start, gram in enumerate(grams):
        if counts[gram] > 1:
            covered[start : start + n] = b"\x01" * n
    return sum(covered) / len(tokens)


def _ngrams(tokens: list[str], n: int) -> list:
    return list(zip(*(tokens[offset:] for offset in range(n)), strict=False))


def _is_symbol(char: str) -> bool:
    return unicodedata.category(char)[0] in "SC"


def _per_lang(values: dict[str, float], lang: str) -> float:
    return values.get(lang, values.get("en", 0.0))


REPETITION_MIN_WORDS = 50  # Gopher's repetition statistics are meaningless on a two-line review
Rule = Callable[[TextView, RulesConfig], bool]


def _document_rules() -> dict[str, Rule]:
    return {
        "too_short": lambda v, c: v.units < _per_lang(c.min_units, v.lang),
        "too_long": lambda v, c: len(v.text) > c.max_chars,
        "symbol_ratio": lambda v, c: v.ratio(sum(map(_is_symbol, v.visible))) > c.max_symbol_ratio,
        "letter_ratio": lambda v, c: v.ratio(v.cjk + len(v.latin)) < c.min_letter_ratio,
        "digit_ratio": lambda v, c: v.ratio(sum(char.isdigit() for char in v.visible)) > c.max_digit_ratio,
        "uppercase_ratio": lambda v, c: len(v.latin) >= c.min_letters_for_case
        and _fraction(v.latin, str.isupper) > c.max_uppercase_ratio,
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
        "script_mismatch": lambda v, c: (v.cjk / max(1, v.cjk + len(v.latin)) < c.min_cjk_share_zh) if v.lang == "zh"
        else v.cjk / max(1, v.cjk + len(v.latin)) > c.max_cjk_share_en,
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
        return sum(1 for char in view.text if char in ZH_FUNCTION_CHARS)
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
