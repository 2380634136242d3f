"""Ziya2's "lower initial loss" claim on a small model: averaged new-token embeddings vs random ones.

A tiny LLaMA is trained by the project's trainer on mixed People's Daily / Brown text with the real LLaMA-2
tokenizer, the tokenizer is expanded with the training text's most frequent missing characters, and the expanded
model is scored untrained on held-out People's Daily under each initialisation. Needs ``setup/30_llama_vocab.sh`` and ``setup/10_corpora.sh``.
"""

from __future__ import annotations

import pytest

from ziya2lab.common.run_dir import RunDir
from ziya2lab.study.tokenizer_expansion import INITIALISATIONS, compare_initialisations
from ziya2lab.tokenizer.cjk import count_cjk_chars
from ziya2lab.tokenizer.config import InitExperimentConfig
from ziya2lab.tokenizer.corpora import iter_source_texts
from ziya2lab.tokenizer.expand import build_expansion
from ziya2lab.tokenizer.llama2 import llama2_tokenizer_dir
from ziya2lab.tokenizer.spm_io import SPM_FILE, read_model_proto

NUM_NEW = 1000


@pytest.mark.slow
def test_averaged_init_predicts_the_new_tokens_better_than_random(tmp_path):
    """The paper's overall "lower initial loss" is NOT reproduced at this scale (docs/TOKENIZER.md): the averaged
    rows also take probability mass from the base tokens. What holds, and is asserted, is the part averaging is
    for: the loss on the new tokens."""
    cfg = InitExperimentConfig(train_steps=50, train_chars_per_language=100_000, eval_chars=8_000)
    base_dir = llama2_tokenizer_dir()
    base_proto = read_model_proto(base_dir)
    counts = count_cjk_chars(iter_source_texts(cfg.zh_source, "train", limit=300))
    proto, expansion = build_expansion(base_proto, counts, counts, NUM_NEW, 128)
    expanded_dir = tmp_path / "tokenizer"
    expanded_dir.mkdir()
    (expanded_dir / SPM_FILE).write_bytes(proto.SerializeToString())
    expansion.save(expanded_dir)

    result = compare_initialisations(cfg, base_dir, expanded_dir, tmp_path / "init_experiment")

    base_run = RunDir(result["base_run"])  # the base model is an ordinary run of the trainer
    assert base_run.is_done() and base_run.read_summary().steps == cfg.train_steps

    assert set(INITIALISATIONS) <= result["by_init"].keys()
    assert result["new_token_share_of_eval_tokens"] > 0.05
    by_init = result["by_init"]
    # Averaged output rows carry what the model learnt about the characters' bytes: the new tokens themselves
    # are predicted far better than from random rows (7.0 vs 8.7 nats at 80 steps, docs/TOKENIZER.md).
    assert by_init["mean"]["loss_on_new_tokens"] < by_init["random"]["loss_on_new_tokens"] - 0.5
    assert by_init["frequency"]["loss_on_new_tokens"] < by_init["random"]["loss_on_new_tokens"] - 0.5
    # Averaging only the input rows leaves the output side random, so base-token predictions are unchanged.
    assert by_init["mean_input_only"]["loss_on_base_tokens"] == pytest.approx(
        by_init["random"]["loss_on_base_tokens"], abs=0.1
    )
