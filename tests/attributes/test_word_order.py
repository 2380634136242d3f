"""The reference-LM word-order test: swap gains point at a transposed pair, scrambled text is flagged, clean is not."""

from __future__ import annotations

import random

import pytest

from ziya2lab.attributes.config import WordOrderConfig
from ziya2lab.attributes.document_sets import set_documents
from ziya2lab.attributes.word_order import WordOrderTest, word_order_test

CLEAN = {
    "en": "The government said on Tuesday that the new law would come into force next year.",
    "zh": "国务院总理今天在北京会见了来访的外国客人，双方就共同关心的问题交换了意见。",
}
# the same sentences with two adjacent words (characters) transposed
TRANSPOSED = {
    "en": "The government said on Tuesday that the new law would come into force year next.",
    "zh": "国务院总理今天在北京会见了来访的外国客人，双方就共同关心的题问交换了意见。",
}


def test_a_language_without_reference_text_is_refused_by_name() -> None:
    with pytest.raises(KeyError, match="reference_sources"):
        WordOrderTest(WordOrderConfig(languages=["en", "fr"]))


@pytest.fixture(scope="module")
def test() -> WordOrderTest:
    return word_order_test(WordOrderConfig())


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_transposed_pair_is_the_spike(test: WordOrderTest, lang: str) -> None:
    assert not test.spikes(CLEAN[lang], lang).any()
    gains = test.swap_gains(TRANSPOSED[lang], lang)
    assert gains.max() > test.cfg.spike_log10
    transposed_at = next(i for i, (a, b) in enumerate(zip(CLEAN[lang], TRANSPOSED[lang], strict=True)) if a != b)
    assert abs(int(gains.argmax()) - len(CLEAN[lang][:transposed_at].split() if lang == "en" else
                                        CLEAN[lang][:transposed_at])) <= 1


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_text_in_random_order_is_flagged_and_clean_text_is_not(test: WordOrderTest, lang: str) -> None:
    documents = [doc for doc in set_documents({"en": ["lee_news"], "zh": ["peoples_daily"]}, 20, "development")
                 if doc["lang"] == lang]

    def shuffled(text: str) -> str:
        units = text.split() if lang == "en" else list(text)
        return (" " if lang == "en" else "").join(random.Random(text).sample(units, len(units)))

    clean = [bool(test.disorders(doc["text"], lang)) for doc in documents]
    scrambled = [bool(test.disorders(shuffled(doc["text"]), lang)) for doc in documents]
    assert sum(clean) <= 1, clean
    assert sum(scrambled) >= 0.9 * len(documents), scrambled
    assert abs(test.order_evidence(shuffled(documents[0]["text"]), lang)) < test.cfg.min_order_evidence


@pytest.mark.slow
def test_the_background_rate_is_measured_once_and_cached(test: WordOrderTest) -> None:
    assert set(test.background) == {"en", "zh"}
    assert all(0 < rate < 0.05 for rate in test.background.values())
    again = WordOrderTest(WordOrderConfig())  # a fresh instance reads the cached rates
    assert again.background == test.background


@pytest.mark.slow
def test_one_shuffled_sentence_in_fluent_chinese_is_found_and_not_in_verse(test: WordOrderTest) -> None:
    news = [doc for doc in set_documents({"zh": ["peoples_daily"]}, 60, "development")
            if test.scrambled_sentence(doc["text"], "zh") is None and len(doc["text"]) > 400][:30]
    assert len(news) >= 25
    found = 0
    for doc in news:  # the characters of its longest sentence shuffled
        sentence = max((piece for line in doc["text"].split("\n") for piece in line.split("。")), key=len)
        shuffled = "".join(random.Random(sentence).sample(sentence, len(sentence)))
        found += test.scrambled_sentence(doc["text"].replace(sentence, shuffled, 1), "zh") is not None
    assert found >= 0.8 * len(news), found
    # the model reads verse little better written than shuffled: a low z there is no evidence, so little is flagged
    poems = set_documents({"zh": ["chinese_poetry"]}, 30, "development")
    assert sum(test.scrambled_sentence(doc["text"], "zh") is not None for doc in poems) <= 0.1 * len(poems)
    assert test.scrambled_sentence(CLEAN["en"], "en") is None  # English: off (its model is too small)
