"""``stage.init_from`` with an expanded tokenizer: the trainer grows the checkpoint's embeddings with Ziya2's
averaged init (``stage.vocab_init``), checks that the tokenizer really expands the checkpoint's vocabulary, and
refuses to average rows of a tokenizer that does not."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from ziya2lab.common.jsonl import write_jsonl
from ziya2lab.model import Llama, LlamaConfig
from ziya2lab.tokenizer.cjk import count_cjk_chars
from ziya2lab.tokenizer.config import CountWeighting
from ziya2lab.tokenizer.expand import (
    EXPANSION_FILE,
    Expansion,
    build_expansion,
    combine_counts,
    new_row_sources,
)
from ziya2lab.tokenizer.llama2 import llama2_tokenizer_dir
from ziya2lab.tokenizer.spm_io import SPM_FILE, read_model_proto, save_tokenizer_dir
from ziya2lab.train.config import (
    ComponentConfig,
    DataConfig,
    LoggerConfig,
    LoggerKind,
    SourceConfig,
    StageConfig,
    TokenizerConfig,
    TrainAppConfig,
    TrainConfig,
)
from ziya2lab.train.loop import Trainer

CHINESE = ["中华人民共和国国务院总理在北京会见了代表团。", "今年粮食产量再创新高，农民收入稳步增长。",
           "床前明月光，疑是地上霜。举头望明月，低头思故乡。"]
ENGLISH = ["The quick brown fox jumps over the lazy dog.", "Numbers 1234 and symbols stay put."]
NUM_NEW, PAD = 12, 128


@pytest.fixture(scope="module")
def setting(tmp_path_factory) -> dict[str, Path]:
    """A 1-layer LLaMA on LLaMA-2's 32,000 pieces (its tokenizer saved beside it, as in an HF checkpoint), an
    expansion of that tokenizer (plain and frequency-weighted) and a few training documents."""
    root = tmp_path_factory.mktemp("vocab_init")
    base_dir = llama2_tokenizer_dir()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=32000, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=64)
    checkpoint = root / "checkpoint"
    Llama(config).save_pretrained(checkpoint)
    for file in base_dir.iterdir():
        if file.is_file():
            shutil.copy(file, checkpoint / file.name)
    base_proto, counts = read_model_proto(base_dir), count_cjk_chars(CHINESE)
    frequencies = Counter({source: 1 + source % 5 for source in range(32000)})
    dirs = {"checkpoint": checkpoint}
    for name, token_frequencies in (("expanded", None), ("weighted", frequencies)):
        proto, expansion = build_expansion(base_proto, counts, combine_counts({"t": counts}, CountWeighting.raw),
                                           NUM_NEW, PAD, token_frequencies)
        dirs[name] = save_tokenizer_dir(proto, root / name)
        expansion.save(dirs[name])
    dirs["not_expansion"] = root / "not_expansion"
    shutil.copytree(dirs["expanded"], dirs["not_expansion"])
    (dirs["not_expansion"] / EXPANSION_FILE).unlink()
    dirs["data"] = root / "train.jsonl"
    write_jsonl(dirs["data"], ({"text": text} for text in CHINESE + ENGLISH))
    return dirs


def _trainer(setting: dict[str, Path], tmp_path: Path, tokenizer: str, vocab_init: str) -> Trainer:
    source = SourceConfig(path=str(setting["data"]), prompt_field=None, task_field=None)
    config = TrainAppConfig(
        output_dir=str(tmp_path / "run"),
        data=DataConfig(components=[ComponentConfig(sources=[source])], eval_sets={"all": source}),
        tokenizer=TokenizerConfig(path=str(setting[tokenizer])),
        logger=LoggerConfig(kind=LoggerKind.none),
        stage=StageConfig(name="stage1", init_from=str(setting["checkpoint"]), vocab_init=vocab_init),
        train=TrainConfig(max_steps=2, seq_len=16, batch_size=2, compile=False),
    )
    return Trainer(config, OmegaConf.to_container(OmegaConf.structured(config), resolve=True, enum_to_str=True))


def _rows(model: Llama) -> tuple[torch.Tensor, torch.Tensor]:
    return model.embed_tokens.weight.detach(), model.lm_head.weight.detach()


def test_trainer_grows_an_expanded_vocabulary_with_averaged_rows(setting, tmp_path) -> None:
    before = Llama.from_pretrained(setting["checkpoint"])
    model = _trainer(setting, tmp_path, "expanded", "mean").model
    expansion = Expansion.load(setting["expanded"])
    assert model.config.vocab_size == expansion.vocab_size == 32000 + PAD
    for old, new in zip(_rows(before), _rows(model), strict=True):
        assert torch.equal(new[:32000], old)
        for token in expansion.tokens:
            torch.testing.assert_close(new[token.id], old[token.source_ids].mean(0))
        assert new[32000 + NUM_NEW :].abs().sum() > 0  # padding rows: the normal init, never read


def test_random_vocab_init_keeps_random_rows(setting, tmp_path) -> None:
    before = Llama.from_pretrained(setting["checkpoint"])
    model = _trainer(setting, tmp_path, "expanded", "random").model
    token = Expansion.load(setting["expanded"]).tokens[0]
    for old, new in zip(_rows(before), _rows(model), strict=True):
        assert torch.equal(new[:32000], old)
        assert not torch.allclose(new[token.id], old[token.source_ids].mean(0))


def test_a_larger_tokenizer_that_is_no_recorded_expansion_is_refused(setting, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"no expansion\.json.*stage\.vocab_init=random"):
        _trainer(setting, tmp_path, "not_expansion", "mean")


def test_frequency_init_uses_the_recorded_weights_and_needs_them(setting) -> None:
    checkpoint = setting["checkpoint"]
    sources, weights = new_row_sources(setting["weighted"], checkpoint, 32000, 32000 + PAD, "frequency")
    expansion = Expansion.load(setting["weighted"])
    assert sources == expansion.source_ids() and weights == expansion.source_weights() is not None
    assert new_row_sources(setting["weighted"], checkpoint, 32000, 32000 + PAD, "mean")[1] is None
    with pytest.raises(ValueError, match="records no source weights"):
        new_row_sources(setting["expanded"], checkpoint, 32000, 32000 + PAD, "frequency")
    with pytest.raises(ValueError, match=r"stage\.vocab_init='averaged'.*mean, frequency, random"):
        new_row_sources(setting["expanded"], checkpoint, 32000, 32000 + PAD, "averaged")


def test_an_expansion_of_another_base_is_refused(setting, tmp_path) -> None:
    other = tmp_path / "other_checkpoint"
    shutil.copytree(setting["checkpoint"], other)
    proto = read_model_proto(other)
    proto.pieces[1000].piece = "▁not_llama"
    (other / SPM_FILE).write_bytes(proto.SerializeToString())
    with pytest.raises(ValueError, match=r"not an expansion of .*piece 1000 differs"):
        new_row_sources(setting["expanded"], other, 32000, 32000 + PAD, "mean")
    with pytest.raises(ValueError, match=r"expands 32000 -> 32128 tokens, but .* has 31000"):
        new_row_sources(setting["expanded"], setting["checkpoint"], 31000, 32000 + PAD, "mean")
