"""train.resume=auto continues the run saved in its directory, and refuses a command line that contradicts it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from ziya2lab.common.paths import config_dir, repo_root
from ziya2lab.common.run_dir import RunDir
from ziya2lab.train.config import TrainAppConfig
from ziya2lab.train.resume import conflicting_overrides, continues_saved_run, resumed_config

TINY = ["model=llama_100k", "tokenizer.vocab_size=400", "tokenizer.max_train_chars=60000", "train.seq_len=64",
        "train.batch_size=4", "data.eval_max_windows=2", "logger=none", "train.threads=1"]


def _composed(run_dir: Path, *overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose("train", overrides=[f"output_dir={run_dir}", *overrides])


def _save(run_dir: Path, *overrides: str) -> dict:
    saved = OmegaConf.to_container(_composed(run_dir, *overrides), resolve=True, enum_to_str=True)
    RunDir(run_dir).write_config(saved)
    return saved


def test_only_overrides_that_change_the_saved_run_conflict() -> None:
    saved = {"seed": 0, "model": {"hidden_size": 64}, "train": {"lr": 0.003, "threads": 1}}
    composed = {"seed": 0, "model": {"hidden_size": 128}, "train": {"lr": 0.01, "threads": 2}}
    overrides = ["train.lr=0.01", "model=llama_1m", "seed=0", "train.threads=2", "hydra.run.dir=runs/a"]
    assert conflicting_overrides(composed, saved, overrides) == [
        "train.lr=0.01 (the run has train.lr=0.003)", "model=llama_1m (the run has another model)"]


def test_a_bare_resume_trains_the_saved_run_with_todays_runtime_keys(tmp_path: Path) -> None:
    assert not continues_saved_run(_composed(tmp_path, "train.resume=auto"))
    _save(tmp_path, *TINY, "++data.eval_sets={code:{source:null,path:/data/code.jsonl}}", "~data.eval_sets.zh_news",
          "~data.eval_sets.en_prose", "train.lr=0.001", "train.max_steps=7")
    cfg = _composed(tmp_path, "train.resume=auto", "train.threads=2")
    assert continues_saved_run(cfg) and not continues_saved_run(_composed(tmp_path, "train.resume=never"))
    resumed = resumed_config(cfg, ["train.resume=auto", "train.threads=2"])
    assert isinstance(resumed, TrainAppConfig)
    assert resumed.model.hidden_size == 64 and resumed.train.lr == 0.001 and resumed.train.max_steps == 7
    assert resumed.tokenizer.vocab_size == 400 and resumed.train.threads == 2 and resumed.output_dir == str(tmp_path)
    assert list(resumed.data.eval_sets) == ["code"], "the schema's default eval sets do not come back"


def test_a_resume_that_contradicts_the_saved_run_is_refused_naming_the_key(tmp_path: Path) -> None:
    _save(tmp_path, *TINY)
    cfg = _composed(tmp_path, "train.resume=auto", "train.lr=0.5")
    with pytest.raises(ValueError, match=r"train\.lr=0\.5 \(the run has train\.lr=0\.003\).*new hydra\.run\.dir"):
        resumed_config(cfg, ["train.resume=auto", "train.lr=0.5"])


def _train(*overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ziya2lab.train", *overrides], capture_output=True, text=True,
                          cwd=repo_root(), timeout=600)


@pytest.mark.slow
def test_docs_resume_example_continues_the_run_it_names(tmp_path: Path) -> None:
    """TRAINING.md: train a non-default model into runs/a, then `train.resume=auto hydra.run.dir=runs/a`."""
    first = _train(f"hydra.run.dir={tmp_path}", *TINY, "train.max_steps=6", "train.ckpt_every_steps=3")
    assert first.returncode == 0, first.stderr[-3000:]
    parameters = RunDir(tmp_path).read_summary().parameters
    resumed = _train(f"hydra.run.dir={tmp_path}", "train.resume=auto", "logger=none")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = RunDir(tmp_path).read_summary()
    assert summary.parameters == parameters and summary.steps == 6 and summary.resumed_from.endswith("step_00000006")
    assert RunDir(tmp_path).preset_choices()["model"] == "llama_100k", "the first launch's record survives"
    refused = _train(f"hydra.run.dir={tmp_path}", "train.resume=auto", "logger=none", "model=llama_300k")
    assert refused.returncode != 0 and "model=llama_300k (the run has another model)" in refused.stderr
