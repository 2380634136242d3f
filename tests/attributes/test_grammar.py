"""Pattern-level readability events: unpunctuated runs and which ellipses count as a cut-off sentence."""

from __future__ import annotations

from ziya2lab.attributes.config import AutoReadabilityConfig
from ziya2lab.attributes.grammar import error_events, longest_unpunctuated


def names(text: str, lang: str) -> set[str]:
    return {name for name, _excerpt in error_events(text, lang, AutoReadabilityConfig())}


def test_longest_unpunctuated_run_counts_words_or_characters() -> None:
    assert longest_unpunctuated("One two three, four five. Six", "en") == 2
    assert longest_unpunctuated("我们今天去北京，明天回来。", "zh") == 7
    assert longest_unpunctuated("", "zh") == 0


def test_text_without_punctuation_is_flagged_in_both_languages() -> None:
    english = " ".join(["the committee met again on monday to discuss the plan"] * 8)  # 80 words, no mark
    chinese = "我们今天上午在会议室里讨论了明年的工作计划和预算安排" * 4  # 104 characters, no mark
    assert "unpunctuated" in names(english, "en")
    assert "unpunctuated" in names(chinese, "zh")
    assert "unpunctuated" not in names("The committee met again on Monday. It discussed the plan, and agreed.", "en")


def test_a_chinese_ellipsis_is_standard_but_web_dots_cut_a_sentence() -> None:
    assert "ellipsis_cut" not in names("他们带来了水果、蔬菜、点心……大家都很高兴。", "zh")
    assert "ellipsis_cut" in names("他们带来了水果和蔬...大家都很高兴。", "zh")
    assert "ellipsis_cut" in names("他们带来了水果和蔬…大家都很高兴。", "zh")


def test_an_english_pause_is_not_a_cut() -> None:
    assert names("There is a shift in transmission... previous figures were higher.", "en") == set()
    assert "ellipsis_cut" in names("The minister said the plan would... The vote is on Friday.", "en")
