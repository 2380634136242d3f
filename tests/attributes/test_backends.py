"""The CH/RA back-ends other than ``auto`` (human sheet round trip, local LLM judge) and the SIM embedders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ziya2lab.attributes import SimilarityRater, rate_corpus
from ziya2lab.attributes.config import (
    FlagRaterConfig,
    HumanConfig,
    JudgeConfig,
    RatersConfig,
    SimilarityConfig,
)
from ziya2lab.attributes.human import LabelsPending
from ziya2lab.attributes.judge import JudgeRater, parse_answer
from ziya2lab.attributes.similarity import TransformerEmbedder, minilm_path

DOCS = [{"id": f"d{i}", "lang": "en", "text": f"Document number {i} says something about topic {i % 3}."}
        for i in range(10)]


def _human(labels_path: str = "", sheet: Path | None = None) -> RatersConfig:
    human = FlagRaterConfig(backend="human", human=HumanConfig(sheet_path=str(sheet or ""), labels_path=labels_path))
    return RatersConfig(coherence=human, readability=human, sample_size=1000)


def test_human_round_trip_scores_one_minus_the_flagged_fraction(tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    with pytest.raises(LabelsPending, match=r"sheet\.csv"):
        rate_corpus(DOCS, _human(sheet=sheet), raters=["coherence"])
    exported = pd.read_csv(sheet)
    assert sorted(exported["id"]) == sorted(d["id"] for d in DOCS)
    bad_coherence, bad_readability = {"d1", "d4", "d7"}, {"d2"}
    exported["coherence"] = [int(i in bad_coherence) for i in exported["id"]]
    exported["readability"] = [int(i in bad_readability) for i in exported["id"]]
    exported["toxic"] = 0
    exported.to_csv(tmp_path / "filled.csv", index=False)
    result = rate_corpus(DOCS, _human(str(tmp_path / "filled.csv")), raters=["coherence", "readability"])
    assert result["coherence"] == pytest.approx(0.7)
    assert result["readability"] == pytest.approx(0.9)


def test_human_labels_for_other_documents_are_an_error(tmp_path: Path) -> None:
    filled = tmp_path / "filled.csv"
    pd.DataFrame([{"id": "elsewhere", "lang": "en", "text": "x", "coherence": 1, "readability": 0, "toxic": 0,
                   "note": ""}]).to_csv(filled, index=False)
    with pytest.raises(ValueError, match="none of the 10 rated documents"):
        rate_corpus(DOCS, _human(str(filled)), raters=["coherence"])


@pytest.fixture(scope="module")
def tiny_judge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Llama and a byte-level BPE saved locally: the plumbing, not a real judge."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from ziya2lab.tokenizer.small_bpe import train_small_bpe

    directory = tmp_path_factory.mktemp("judge")
    tokenizer = train_small_bpe([d["text"] for d in DOCS] * 5 + ["Answer: 1", "Answer: 0"], vocab_size=300)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048)
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_judge_rates_every_document_with_a_probability(tiny_judge_dir: Path) -> None:
    rater = JudgeRater("coherence", JudgeConfig(model_path=str(tiny_judge_dir), max_new_tokens=3))
    flags = rater.rate(DOCS[:4])
    assert [flag.doc_id for flag in flags] == ["d0", "d1", "d2", "d3"]
    assert all(0.0 <= flag.severity <= 1.0 for flag in flags)
    assert all(flag.reasons[0].startswith("judge answered") for flag in flags)
    judged = FlagRaterConfig(backend="judge", judge=JudgeConfig(model_path=str(tiny_judge_dir), max_new_tokens=2))
    value = rate_corpus(DOCS[:4], RatersConfig(readability=judged), raters=["readability"])["readability"]
    assert value in (0.0, 0.25, 0.5, 0.75, 1.0)


def test_judge_answer_parsing_and_missing_model_errors(tmp_path: Path) -> None:
    assert parse_answer(" 1 (it has ads)") is True
    assert parse_answer("0") is False
    assert parse_answer("yes") is None
    with pytest.raises(ValueError, match="model_path is empty"):
        JudgeRater("coherence", JudgeConfig())
    with pytest.raises(FileNotFoundError, match="nowhere"):
        JudgeRater("readability", JudgeConfig(model_path=str(tmp_path / "nowhere")))


def test_unknown_backend_is_named() -> None:
    with pytest.raises(ValueError, match="backend='oracle'"):
        rate_corpus(DOCS, RatersConfig(coherence=FlagRaterConfig(backend="oracle")), raters=["coherence"])


TEST_SETS = {"animals": ["The cat sat on the mat and purred.", "A dog chased the ball across the park."],
             "finance": ["Stock prices fell sharply as the central bank raised interest rates."]}


@pytest.mark.slow
def test_minilm_similarity_is_semantic_and_cached(tmp_path: Path) -> None:
    config = SimilarityConfig(backend="minilm", batch_size=4)
    rater = SimilarityRater(TEST_SETS, config, cache_root=tmp_path)
    pets = rater.rate(["Kittens and puppies play together in the garden."])
    assert pets["animals"] > pets["finance"]
    embedder = rater.embedders["minilm"]
    assert isinstance(embedder, TransformerEmbedder) and embedder.calls > 0
    again = SimilarityRater(TEST_SETS, config, cache_root=tmp_path)  # a new process would see the same shards
    assert again.rate(["Kittens and puppies play together in the garden."]) == pytest.approx(pets)
    assert again.embedders["minilm"].calls == 0  # test sets and corpus both came from the cache
    centroid = SimilarityRater(TEST_SETS, SimilarityConfig(backend="minilm", aggregation="centroid"),
                               cache_root=tmp_path).rate(["Kittens and puppies play together in the garden."])
    assert centroid["animals"] >= pets["animals"]  # the centroid cosine is at least the mean pairwise cosine


@pytest.mark.slow
def test_sentence_transformers_path_and_chinese_fallback(tmp_path: Path) -> None:
    config = SimilarityConfig(backend="sentence_transformers", model_path=str(minilm_path()), cache=False)
    rater = SimilarityRater({**TEST_SETS, "zh": ["今天北京天气晴朗，气温较高。", "人民日报发表评论文章。"]}, config)
    assert rater.backend_of == {"animals": "sentence_transformers", "finance": "sentence_transformers", "zh": "tfidf"}
    chinese, english = rater.rate(["北京今天天气晴朗。"]), rater.rate(["The dog and the cat are friends."])
    assert chinese["zh"] > english["zh"] and english["animals"] > english["finance"]


def test_similarity_config_errors_name_the_key() -> None:
    with pytest.raises(ValueError, match="aggregation='median'"):
        SimilarityRater(TEST_SETS, SimilarityConfig(aggregation="median"))
    with pytest.raises(ValueError, match="needs model_path"):
        SimilarityRater(TEST_SETS, SimilarityConfig(backend="sentence_transformers"))
