"""Automatic scoring: KenLM models trained here rank real text above shuffled text; buckets follow percentiles."""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path

import kenlm
import pytest
from datatrove.data import Document

from ziya2lab.data.config import ScoringConfig
from ziya2lab.data.kenlm_model import Scorer, lmplz_tools, sentences, train_model, write_arpa
from ziya2lab.data.sources import iter_source
from ziya2lab.data.steps import PerplexityBucket, perplexity_cutoffs

REFERENCE = {"zh": ("peoples_daily", 120), "en": ("brown", 40)}


def _shuffled(text: str, lang: str, seed: int) -> str:
    rng = random.Random(seed)
    if lang == "zh":
        chars = list(text)
        rng.shuffle(chars)
        return "".join(chars)
    words = text.split()
    rng.shuffle(words)
    return " ".join(words)


def _ranks_clean_above_shuffled(model: Path, lang: str) -> None:
    scorer = Scorer(model, lang, max_chars=3000)
    source = REFERENCE[lang][0]
    heldout = [doc["text"][:3000] for doc in iter_source(source, split="heldout", limit=6)]
    for index, text in enumerate(heldout):
        clean, shuffled = scorer.perplexity(text), scorer.perplexity(_shuffled(text, lang, index))
        assert clean < shuffled, f"{lang} held-out document {index}: ppl {clean:.1f} vs shuffled {shuffled:.1f}"


@functools.cache
def _reference(lang: str) -> list[str]:
    source, limit = REFERENCE[lang]
    return [doc["text"] for doc in iter_source(source, split="train", limit=limit)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_python_arpa_fallback_ranks_clean_above_shuffled(lang: str) -> None:
    model = train_model(_reference(lang)[: REFERENCE[lang][1] // 2], lang, order=5, fallback_order=3,
                        use_lmplz=False)
    assert model.suffix == ".arpa"
    _ranks_clean_above_shuffled(model, lang)


@pytest.mark.skipif(lmplz_tools() is None, reason="lmplz not built: bash setup/20_kenlm.sh")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_lmplz_model_ranks_clean_above_shuffled(lang: str) -> None:
    model = train_model(_reference(lang), lang, order=5, fallback_order=3)
    assert model.suffix == ".bin"
    _ranks_clean_above_shuffled(model, lang)


def test_arpa_writer_gives_normalised_distributions(tmp_path: Path) -> None:
    lines = list(sentences("the cat sat on the mat.\nthe dog sat on the log.\na cat and a dog.", "en"))
    model = kenlm.Model(str(write_arpa(lines, 3, tmp_path / "toy.arpa")))
    vocabulary = {word for line in lines for word in line.split()} | {"</s>"}
    for context in ([], ["the"], ["the", "cat"], ["a", "zebra"]):
        state, scratch = kenlm.State(), kenlm.State()
        model.BeginSentenceWrite(state)
        for word in context:
            next_state = kenlm.State()
            model.BaseScore(state, word, next_state)
            state = next_state
        total = sum(10 ** model.BaseScore(state, word, scratch) for word in vocabulary)
        total += 10 ** model.BaseScore(state, "<unk>", scratch)
        assert total == pytest.approx(1.0, abs=1e-3), context


def test_sentences_use_characters_for_chinese_and_words_for_english() -> None:
    assert list(sentences("我爱北京 2024。\n\n", "zh")) == ["我 爱 北 京 0 0 0 0 。"]
    assert list(sentences("Hello, World 42!", "en")) == ["hello , world 00 !"]


def _write_scores(folder: Path, rank: int, scores: list[float], seen: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{rank:05d}.json").write_text(json.dumps({"seen": {"en": seen}, "scores": {"en": scores}}))


def test_buckets_are_per_language_percentiles_over_all_tasks(tmp_path: Path) -> None:
    _write_scores(tmp_path, 0, [float(value) for value in range(1, 51)], 50)
    _write_scores(tmp_path, 1, [float(value) for value in range(51, 101)], 50)
    cutoffs = perplexity_cutoffs(tmp_path, 0.3, 0.6)
    assert cutoffs["en"] == {"high": 30.0, "medium": 60.0}
    bucket = PerplexityBucket(ScoringConfig(), str(tmp_path))
    verdicts = []
    for value in range(1, 101):
        document = Document(text="x", id=str(value), metadata={"lang": "en", "perplexity": float(value)})
        verdicts.append((bucket.filter(document), document.metadata.get("quality")))
    assert [quality for kept, quality in verdicts if kept is True].count("high") == 30
    assert [quality for kept, quality in verdicts if kept is True].count("medium") == 30
    assert sum(1 for kept, _quality in verdicts if kept == (False, "low_bucket")) == 40
    unscored = Document(text="x", id="u", metadata={"lang": "fr"})
    assert bucket.filter(unscored) is True


def test_a_task_sample_counts_by_the_documents_it_stands_for(tmp_path: Path) -> None:
    _write_scores(tmp_path, 0, [1.0, 2.0], 1000)  # a big shard, sampled down to two scores
    _write_scores(tmp_path, 1, [float(value) for value in range(100, 110)], 10)
    assert perplexity_cutoffs(tmp_path, 0.3, 0.6)["en"] == {"high": 1.0, "medium": 2.0}
