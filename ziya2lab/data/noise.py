"""Web-like noise mixed into the embedded corpus, so that every factory step has something real to remove.

Packaged text is clean; a crawl is not. Each noise document is made from a real one the way crawls go wrong:
navigation menus and cookie banners around it, advertising and gambling spam, leftover HTML, mojibake, lines
repeated by a broken template, keyword stuffing, shuffled word salad, exact and near copies, and Traditional-
script reposts. The kind is recorded in metadata (``noise``) so a run can show which step caught which kind.
"""

from __future__ import annotations

import random
from collections.abc import Callable

MENU = {
    "en": ["Home", "About us", "Products", "News", "Contact", "Sign in", "Sign up", "Privacy policy",
           "Terms of use", "Back to top", "Copyright 2023 All rights reserved"],
    "zh": ["首页", "关于我们", "产品中心", "新闻动态", "联系我们", "登录", "注册", "隐私政策", "使用条款", "返回顶部",
           "版权所有 © 2023"],
}
COOKIES = {"en": "We use cookies to improve your experience. By continuing you accept cookies.",
           "zh": "本网站使用cookie以改善您的体验，继续浏览即表示您接受cookie。"}
ADS = {
    "en": ["Buy now and get free shipping!", "Limited time offer: best price guaranteed.", "Click here to order now.",
           "Add to cart today, 100% free returns.", "Call now for a special discount!"],
    "zh": ["立即购买，全场包邮！", "限时抢购，特价优惠券免费领取。", "加微信了解详情，点击购买。", "秒杀活动进行中，扫码关注。",
           "代理加盟热线，联系QQ。"],
}
GAMBLING = {"en": ["online casino jackpot", "sports betting odds", "casino bonus for new players"],
            "zh": ["澳门赌场百家乐", "时时彩彩票预测", "网上赌博老虎机"]}
HTML_TAGS = ["<div class=\"content\">", "</div>", "<p>", "</p>", "<br/>", "&nbsp;", "<span style=\"color:red\">",
             "</span>"]


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()] or [text]


def _units(text: str, lang: str) -> list[str]:
    return [char for char in text if not char.isspace()] if lang == "zh" else text.split()


def _join(units: list[str], lang: str) -> str:
    return "".join(units) if lang == "zh" else " ".join(units)


def _menu(text: str, lang: str, rng: random.Random) -> str:
    return "\n".join(rng.sample(MENU[lang], len(MENU[lang])))


def _cookie_banner(text: str, lang: str, rng: random.Random) -> str:
    return f"{COOKIES[lang]}\n{text}"


def _ads(text: str, lang: str, rng: random.Random) -> str:
    return "\n".join([*_lines(text)[:2], *(rng.choice(ADS[lang]) for _ in range(6))])


def _gambling(text: str, lang: str, rng: random.Random) -> str:
    return "\n".join([*_lines(text)[:2], *(rng.choice(GAMBLING[lang]) for _ in range(4))])


def _html(text: str, lang: str, rng: random.Random) -> str:
    return "".join(f"{rng.choice(HTML_TAGS)}{rng.choice(HTML_TAGS)}{line}" for line in _lines(text))


def _mojibake(text: str, lang: str, rng: random.Random) -> str:
    """UTF-8 read as Windows-1252, the commonest crawl mojibake (preprocessing repairs it)."""
    import ftfy.bad_codecs  # noqa: F401  (registers "sloppy-windows-1252": cp1252 with its 5 holes as Latin-1)

    return text.encode("utf-8").decode("sloppy-windows-1252")


def _repeated_lines(text: str, lang: str, rng: random.Random) -> str:
    line = rng.choice(_lines(text))
    return "\n".join([*_lines(text)[:3], *[line] * 12])


def _keyword_stuffing(text: str, lang: str, rng: random.Random) -> str:
    words = list(dict.fromkeys(_units(text, lang)))[:8] or ["keyword"]
    return _join([rng.choice(words) for _ in range(400)], lang)


def _word_salad(text: str, lang: str, rng: random.Random) -> str:
    units = _units(text, lang)
    rng.shuffle(units)
    return _join(units, lang)


def _exact_copy(text: str, lang: str, rng: random.Random) -> str:
    return text


def _near_copy(text: str, lang: str, rng: random.Random) -> str:
    """About 2% of the words (characters for zh) dropped: Jaccard well above 0.8."""
    units = _units(text, lang)
    return _join([unit for unit in units if rng.random() > 0.02], lang)


def _traditional(text: str, lang: str, rng: random.Random) -> str:
    if lang != "zh":
        return _near_copy(text, lang, rng)
    import opencc

    return opencc.OpenCC("s2t").convert(text)


NOISE_KINDS: dict[str, Callable[[str, str, random.Random], str]] = {
    "menu": _menu, "cookie_banner": _cookie_banner, "ads": _ads, "gambling": _gambling, "html": _html,
    "mojibake": _mojibake, "repeated_lines": _repeated_lines, "keyword_stuffing": _keyword_stuffing,
    "word_salad": _word_salad, "exact_copy": _exact_copy, "near_copy": _near_copy, "traditional": _traditional,
}


def make_noise(document: dict, index: int) -> dict:
    """The ``index``-th noise document, made from ``document`` (a real one); deterministic in both."""
    rng = random.Random(f"noise:{index}:{document['id']}")
    kind = list(NOISE_KINDS)[index % len(NOISE_KINDS)]
    lang = document.get("lang", "en")
    text = NOISE_KINDS[kind](document["text"], lang, rng)
    return {"id": f"noise:{kind}:{index}", "text": text, "lang": lang, "source": "web_noise", "noise": kind}
