"""Pattern-level readability events: unpunctuated runs and which ellipses count as a cut-off sentence."""

from __future__ import annotations

from ziya2lab.attributes.config import AutoReadabilityConfig
from ziya2lab.attributes.grammar import chinese_doubled_spans, error_events, longest_unpunctuated


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


def test_a_bracket_may_close_in_a_later_paragraph_but_a_stray_one_is_flagged() -> None:
    assert "unbalanced" not in names("(Start the fire an hour early.\nKeep the ashes for next time.)", "en")
    assert "unbalanced" in names("The solid was dried at 110 degrees).\nIt weighed 15 g.", "en")
    assert "unbalanced" in names("The solid (about 15 g was dried.\nIt was grey.", "en")


def test_capitalised_abbreviations_before_a_lower_case_word_are_not_sentence_starts() -> None:
    assert "lowercase_start" not in names("The Industrial Development Corp. has obtained a loan.", "en")
    assert "lowercase_start" not in names("He spoke for the U. S. Dept. of Commerce at the meeting.", "en")
    assert "lowercase_start" in names("The meeting ended early. the minister left at noon.", "en")


def test_doubled_words_inside_compounds_and_contractions_are_not_errors() -> None:
    assert "doubled_word" not in names("The secret of the anti-missile missile was kept.", "en")
    assert "doubled_word" not in names("I promise you you'll never have trouble again.", "en")
    assert "doubled_word" not in names("Pops let us in in the dark.", "en")
    assert "doubled_word" in names("The figures were from the the third quarter.", "en")


def test_semicolons_and_colons_end_a_clause_for_the_run_on_length() -> None:
    clause = " ".join(["the argument runs on through one more qualification"] * 10)  # 80 words
    assert "run_on" not in names(f"{clause.capitalize()}; {clause}: {clause}.", "en")
    assert "run_on" in names(f"{clause.capitalize()}, {clause}.", "en")


def test_chinese_spans_written_twice_are_counted_but_reduplication_is_not() -> None:
    assert chinese_doubled_spans(["我们要发展经济经济，提高人民生活水平。"]) == ["经济"]
    assert chinese_doubled_spans(["大家看看，人人都说好。"]) == []  # one character twice: reduplication
    once = "我们要发展经济经济，提高人民生活水平。"
    twice = "我们要发展经济经济，提高人民人民生活水平。"
    assert "doubled_span" not in names(once, "zh")  # one may be a slip of the source; two is a pattern
    assert "doubled_span" in names(twice, "zh")
