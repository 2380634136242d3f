"""Line-level patterns for the coherence rubric's "meaningless information": ads, URLs, navigation, contact forms.

A line counts as junk when it carries a strong marker (a URL, an e-mail address, a phone number, a navigation
bar, a copyright footer, a form field) or at least two advertising phrases. One advertising word alone ("free",
"sale") is common in real prose and is not enough.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ziya2lab.attributes.text import paragraphs
from ziya2lab.data.rules import EMAIL, PHONE, URL

# An ad line names its shop without a scheme ("welcome to flora12.com!"); the factory's URL pattern needs one.
BARE_DOMAIN = re.compile(r"\b[\w\-]+\.(?:com|net|org|cn|io|biz|info|shop)\b", re.I)
NAV_SEPARATORS = re.compile(r"\s*(?:\||»|›|>>|·|•|/|>)\s*")
COPYRIGHT = re.compile(r"©|\(c\)\s*\d{4}|all rights reserved|copyright\s+\d{4}|版权所有|备案号|ICP[备证]", re.I)
FORM_FIELD = re.compile(
    r"(?:^|\s)(?:name|e-?mail|phone|tel|address|message|captcha|verification code|"
    r"姓名|电话|手机|邮箱|地址|留言|验证码)\s*[:：]\s*(?:_+|\*|\[\s*\]|$)",
    re.I,
)
NAV_WORDS_EN = (
    "home", "about us", "contact", "contact us", "login", "log in", "sign in", "register", "sitemap", "site map",
    "faq", "privacy policy", "terms of use", "next page", "previous page", "back to top", "skip to content",
    "menu", "search", "news", "products", "services", "blog", "help",
)
NAV_WORDS_ZH = (
    "首页", "关于我们", "联系我们", "登录", "注册", "网站地图", "上一页", "下一页", "返回顶部", "返回首页",
    "帮助中心", "产品中心", "新闻中心", "在线留言", "设为首页", "加入收藏", "免责声明", "隐私政策",
)
AD_PHRASES_EN = (
    "click here", "buy now", "order now", "shop now", "call now", "free shipping", "limited time", "limited offer",
    "special offer", "best price", "lowest price", "discount", "% off", "coupon", "promo code", "sign up",
    "subscribe", "newsletter", "sponsored", "advertisement", "visit our", "welcome to", "follow us",
    "download our app", "add to cart", "act now", "don't miss", "best deals", "free trial", "hot sale",
    "money back", "cheap", "wholesale", "unsubscribe", "share this", "like us on",
)
AD_PHRASES_ZH = (
    "点击", "立即购买", "马上抢购", "抢购", "限时", "优惠", "折扣", "特价", "包邮", "免费领取", "免费咨询",
    "热线", "咨询电话", "客服", "扫码", "扫一扫", "关注公众号", "微信", "加盟", "代理", "广告", "欢迎访问",
    "欢迎光临", "官网", "官方网站", "下载app", "立即注册", "立即下载", "详情请", "优惠券", "秒杀", "促销",
    "火热招商", "联系方式", "转发", "点赞", "订阅",
)

NAV_WORD_EN = re.compile(r"(?:^|(?<=\W))(" + "|".join(map(re.escape, sorted(NAV_WORDS_EN, key=len, reverse=True)))
                         + r")(?=\W|$)")


@dataclass(frozen=True)
class JunkLine:
    line: str
    reasons: tuple[str, ...]


def _is_navigation(line: str) -> bool:
    """A bar of three or more short items joined by separators, or a run of navigation words."""
    items = [item for item in NAV_SEPARATORS.split(line) if item.strip()]
    if len(items) >= 3 and all(len(item.split()) <= 3 and len(item) <= 20 for item in items):
        return True
    if len(line.split()) > 12:
        return False
    hits = sum(1 for word in NAV_WORDS_ZH if word in line)
    hits += len({match.group(1) for match in NAV_WORD_EN.finditer(line.lower())})
    return hits >= 3


@functools.lru_cache(maxsize=1 << 16)  # the corpora of one family share most lines
def junk_reasons(line: str) -> tuple[str, ...]:
    reasons = []
    if URL.search(line) or BARE_DOMAIN.search(line):
        reasons.append("url")
    if EMAIL.search(line):
        reasons.append("email")
    if PHONE.search(line):
        reasons.append("phone")
    if COPYRIGHT.search(line):
        reasons.append("copyright")
    if FORM_FIELD.search(line):
        reasons.append("form")
    if _is_navigation(line):
        reasons.append("navigation")
    lowered = line.lower()
    ad_hits = sum(1 for phrase in AD_PHRASES_EN if phrase in lowered) + sum(
        1 for phrase in AD_PHRASES_ZH if phrase in lowered
    )
    if ad_hits >= 2:
        reasons.append("ad")
    return tuple(reasons)


def prose_paragraphs(text: str) -> list[str]:
    """The paragraphs of ``text`` that the junk patterns do not match: what the readability tests judge (junk is
    the coherence rater's, and counting it twice would make the two raters move together)."""
    return [paragraph for paragraph in paragraphs(text) if not junk_reasons(paragraph)]


def junk_lines(text: str) -> list[JunkLine]:
    found = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line and (reasons := junk_reasons(line)):
            found.append(JunkLine(line, reasons))
    return found
