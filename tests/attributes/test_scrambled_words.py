"""The Chinese word-level order test: a sentence's jieba words shuffled are found where the character tests read
the sentence as fluent, and clean news is left alone."""

from __future__ import annotations

import random

import jieba
import pytest

from ziya2lab.attributes.config import WordOrderConfig
from ziya2lab.attributes.document_sets import set_documents
from ziya2lab.attributes.scrambled_words import ScrambledWords, document_sentences, tag_lines
from ziya2lab.attributes.word_order import WordOrderTest, word_order_test

SENTENCE = "国务院总理今天在北京会见了来访的外国客人，双方就共同关心的国际和地区问题深入交换了意见。"


def shuffled_words(sentence: str, rng: random.Random) -> str:
    words = jieba.lcut(sentence)
    return "".join(rng.sample(words, len(words)))


def test_the_tag_model_reads_one_line_of_tags_per_sentence() -> None:
    lines = tag_lines(["今天天气很好。我们去公园散步！", "他说：“明天见。”"])
    assert len(lines) == 3
    assert all(tag.isascii() and tag for line in lines for tag in line.split())


@pytest.fixture(scope="module")
def test() -> WordOrderTest:
    return word_order_test(WordOrderConfig())


@pytest.fixture(scope="module")
def news(test: WordOrderTest) -> list[dict]:
    """Clean People's Daily development documents long enough to test (at least three tested sentences)."""
    documents = set_documents({"zh": ["peoples_daily"]}, 80, "development")
    return [doc for doc in documents if test.scrambled_words.sentence_z(doc["text"]).size >= 3][:30]


@pytest.mark.slow
def test_a_sentence_reads_far_above_its_words_shuffled(test: WordOrderTest) -> None:
    scrambled = test.scrambled_words
    written = scrambled.sentence_z(SENTENCE)
    mixed = scrambled.sentence_z(shuffled_words(SENTENCE, random.Random(0)))
    assert written.size == mixed.size == 1
    assert written[0] > 3.0 > mixed[0]


@pytest.mark.slow
def test_shuffled_words_are_found_and_clean_news_is_not(test: WordOrderTest, news: list[dict]) -> None:
    assert len(news) >= 25
    scrambled = test.scrambled_words
    clean = [bool(scrambled.events(doc["text"])) for doc in news]
    assert sum(clean) <= 2, clean
    found = missed_by_characters = 0
    for doc in news:  # the jieba words of half of its sentences shuffled, each word intact
        rng = random.Random(doc["id"])
        text = doc["text"]
        for sentence in document_sentences(doc["text"])[::2]:
            text = text.replace(sentence, shuffled_words(sentence, rng), 1)
        found += bool(scrambled.events(text))
        missed_by_characters += test.scrambled_sentence(text, "zh") is None
    # 0.75 of 120 development documents since People's Daily is split into its items (0.84 of 240 longer ones
    # before): the bar sits under the measured rate, not at it
    assert found >= 0.7 * len(news), found
    assert missed_by_characters >= 0.5 * len(news), missed_by_characters  # what this test adds


@pytest.mark.slow
def test_the_clean_share_is_measured_once_and_cached(test: WordOrderTest) -> None:
    share = test.scrambled_words.clean_low_share
    assert 0 < share < 0.2
    again = WordOrderTest(WordOrderConfig())
    assert isinstance(again.scrambled_words, ScrambledWords)
    assert again.scrambled_words.clean_low_share == share


@pytest.mark.slow
def test_switched_off_no_word_level_event_is_raised() -> None:
    cfg = WordOrderConfig()
    cfg.scrambled_words.enabled = False
    off = WordOrderTest(cfg)
    assert off.scrambled_words is None
    text = "\n".join([shuffled_words(SENTENCE, random.Random(seed)) for seed in range(4)])
    assert "scrambled_words" not in {name for name, _detail in off.disorders(text, "zh")}
