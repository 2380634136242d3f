"""Every rule of the rule-based filter fires on a text made to break it and stays quiet on clean text, in en and zh."""

from __future__ import annotations

import pytest

from ziya2lab.data.config import RulesConfig
from ziya2lab.data.rules import RULE_NAMES, RULES, TextView, violated_rule

CLEAN = {
    "en": (
        "The river has shaped the town for three centuries. Farmers once used it to carry grain to the coast, "
        "and the old mill still stands beside the bridge.\n"
        "Today the water is cleaner than it was in the last century. A local group plants trees along the banks "
        "every spring, and children from the school count the birds that return each year.\n"
        "The council hopes that a new path will bring more visitors. It will follow the water from the station "
        "to the mill, with signs that explain how the town grew around its river."
    ),
    "zh": (
        "这座小城依河而建，已经有三百多年的历史。过去，农民用船把粮食运到海边，桥边的老磨坊至今仍在。\n"
        "如今，河水比上个世纪清澈了许多。每年春天，当地的志愿者都会在河岸种树，学校的孩子们也会记录回来的鸟。\n"
        "市政府希望新修的步道能吸引更多游客。步道将沿着河流从车站通往磨坊，沿途的标牌会介绍小城如何围绕这条河发展起来。"
    ),
}
LINES = {lang: text.splitlines() for lang, text in CLEAN.items()}


def _repeat_phrase(lang: str, phrase: dict[str, str], times: int) -> str:
    return CLEAN[lang] + ("\n" + (" " if lang == "en" else "").join([phrase[lang]] * times))


POSITIVE = {
    "too_short": lambda lang: {"en": "A short note.", "zh": "很短的一句话。"}[lang],
    "too_long": lambda lang: "\n".join([CLEAN[lang]] * (RulesConfig().max_chars // len(CLEAN[lang]) + 2)),
    "symbol_ratio": lambda lang: CLEAN[lang] + " §±×÷©®™ ≈≠∞" * 80,
    "letter_ratio": lambda lang: CLEAN[lang] + " 12345 67890 ... ;;; ,,, ---" * 40,
    "digit_ratio": lambda lang: CLEAN[lang] + " 2023 1998 4521 8876 3310" * 60,
    "uppercase_ratio": lambda lang: CLEAN[lang].upper() if lang == "en" else CLEAN[lang] + " BUY CHEAP WATCHES NOW" * 6,
    "hash_ratio": lambda lang: CLEAN[lang] + " #news #today #tag" * 40,
    "ellipsis_lines": lambda lang: "\n".join(line.rstrip("。.") + ("..." if lang == "en" else "……") for line in LINES[lang]),
    "bullet_lines": lambda lang: "\n".join(f"• {line}" for line in LINES[lang]),
    "short_lines": lambda lang: "\n".join({"en": ["Home", "News", "About us", "Contact", "Sign in", "Shop", "Blog", "Help"],
                                           "zh": ["首页", "新闻", "关于", "联系", "登录", "商城", "博客", "帮助"]}[lang]) + "\n" + CLEAN[lang],
    "duplicate_lines": lambda lang: "\n".join([LINES[lang][0]] * 4 + LINES[lang]),
    "duplicate_line_chars": lambda lang: "\n".join(LINES[lang] + [LINES[lang][2]] * 2),
    "top_2gram": lambda lang: _repeat_phrase(lang, {"en": "cheap flights", "zh": "便宜机票"}, 40),
    "top_3gram": lambda lang: _repeat_phrase(lang, {"en": "cheap flights online", "zh": "便宜机票网上"}, 30),
    "top_4gram": lambda lang: _repeat_phrase(lang, {"en": "cheap flights online today", "zh": "便宜机票网上预订"}, 25),
    "duplicate_5gram": lambda lang: CLEAN[lang] + "\n" + CLEAN[lang],
    "duplicate_10gram": lambda lang: CLEAN[lang] + "\n" + CLEAN[lang],
    "stop_words": lambda lang: {"en": "Apples, pears, plums, grapes, melons, lemons, limes, cherries. " * 4,
                                "zh": "北京、上海、广州、深圳、天津、重庆、西安、武汉、南京、杭州。" * 4}[lang],
    "script_mismatch": lambda lang: CLEAN["zh" if lang == "en" else "en"],
    "mojibake": lambda lang: CLEAN[lang] + " itâ€™s cafÃ© Ã© â€œ",
    "html_tags": lambda lang: "".join(f"<div class=\"c\"><p>{line}</p></div>" for line in LINES[lang]),
    "code_braces": lambda lang: CLEAN[lang] + " function f() { return { a: 1 }; } if (x) { y(); }" * 10,
    "urls": lambda lang: CLEAN[lang] + "".join(f" http://example.com/page{i}" for i in range(8)),
    "privacy": lambda lang: CLEAN[lang] + " mail tom@example.com, ann@example.org, 010-6552-1234, +86 138 0013 8000",
    "placeholder_text": lambda lang: CLEAN[lang] + {"en": " Lorem ipsum dolor sit amet.", "zh": "此处输入文字。"}[lang],
    "javascript_notice": lambda lang: CLEAN[lang] + {"en": " Please enable JavaScript to view this page.",
                                                     "zh": "您的浏览器不支持此功能。"}[lang],
    "cookie_notice": lambda lang: {"en": "We use cookies to improve this site.", "zh": "本网站使用cookie改善体验。"}[lang]
    + "\n" + CLEAN[lang],
    "boilerplate_lines": lambda lang: CLEAN[lang] + "\n" + "\n".join(
        {"en": ["All rights reserved.", "Privacy policy.", "Back to top."],
         "zh": ["版权所有。", "隐私政策。", "返回顶部。"]}[lang]),
    "long_unpunctuated": lambda lang: CLEAN[lang] + "\n" + ("cheap shoes bags watches phones " * 40 if lang == "en"
                                                            else "便宜鞋子包包手表手机电脑" * 30),
    "toxic_paragraphs": lambda lang: CLEAN[lang] + "\n" + {"en": "Free porn here.\nMore porn, fuck yes.",
                                                           "zh": "色情网站。\n裸聊约炮。"}[lang],
    "ad_words": lambda lang: CLEAN[lang] + "\n" + {"en": "Buy now! Free shipping! Click here! Order now!",
                                                   "zh": "立即购买！全场包邮！点击购买！限时抢购！"}[lang],
    "gambling_words": lambda lang: CLEAN[lang] + "\n" + {"en": "Online casino with jackpot and sports betting.",
                                                         "zh": "澳门赌场百家乐，时时彩。"}[lang],
    "broken_paragraphs": lambda lang: "\n".join(line.rstrip("。.")[:-4] for line in LINES[lang]),
    "truncated_sentences": lambda lang: {"en": "and then the rain came. but nobody left the hall. so we waited. "
                                               "which was fine. Later it stopped.",
                                         "zh": "，然后下雨了。，没有人离开。；我们等着。后来停了。"}[lang],
    "repeated_sentences": lambda lang: {"en": "Call us today. " * 4 + "We are open.",
                                        "zh": "欢迎来电。" * 4 + "我们营业。"}[lang],
    "punctuation_runs": lambda lang: CLEAN[lang] + ("!!!!! ????? !!!!!" * 3 if lang == "en" else "！！！！！？？？？？" * 3),
    "toxic_sentences": lambda lang: {"en": "The hall was full. Some fuck shouted. Then it was quiet.",
                                     "zh": "大厅满了。有人说傻逼。然后安静了。"}[lang],
}


def test_at_least_30_rules_at_three_levels_all_covered_here() -> None:
    assert len(RULES) >= 30
    assert {level for level, _rule in RULES.values()} == {"document", "paragraph", "sentence"}
    assert set(POSITIVE) == set(RULE_NAMES)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_clean_text_passes_every_rule(lang: str) -> None:
    assert violated_rule(CLEAN[lang], lang, RulesConfig()) is None


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", RULE_NAMES)
def test_rule_fires_on_its_positive_and_not_on_clean(name: str, lang: str) -> None:
    _level, rule = RULES[name]
    config = RulesConfig()
    assert rule(TextView(POSITIVE[name](lang), lang), config), f"{name} missed its {lang} example"
    assert not rule(TextView(CLEAN[lang], lang), config), f"{name} fired on clean {lang}"


def test_chinese_is_counted_in_characters_not_isalpha_words() -> None:
    view = TextView(CLEAN["zh"], "zh")
    assert view.units == sum(1 for char in CLEAN["zh"] if "\u4e00" <= char <= "\u9fff")
    assert len(view.words) < 5  # English-word splitting would see a handful of "words" in Chinese
    assert violated_rule(CLEAN["zh"], "zh", RulesConfig(min_units={"zh": 100, "en": 20})) is None
    assert violated_rule(CLEAN["zh"], "zh", RulesConfig(min_units={"zh": 1000, "en": 20})) == "too_short"


def test_disabled_rules_are_skipped_and_order_decides_the_reason() -> None:
    text = POSITIVE["cookie_notice"]("en")
    assert violated_rule(text, "en", RulesConfig()) == "cookie_notice"
    assert violated_rule(text, "en", RulesConfig(disabled=["cookie_notice"])) is None
