"""What continual pre-training from a base's stable phase needs of the trainer: ``train.export_stable`` (a WSD run's
weights where its decay begins, where a continuation goes on at the peak rate instead of re-warming the annealed
``final/``) and ``train.wsd_decay_tokens`` (every decay of a run as long as its base's, so that each data volume is
annealed alike)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ziya2lab.common.paths import repo_root
from ziya2lab.common.run_dir import RunDir

TINY = ["-m", "ziya2lab.train", "model=llama_100k", "tokenizer.vocab_size=400", "tokenizer.max_train_chars=60000",
        "train.seq_len=64", "train.batch_size=4", "data.eval_max_windows=2", "logger=none", "train.threads=1",
        "train.warmup_ratio=0", "train.eval_every_steps=100", "train.ckpt_every_steps=5"]
# 20 steps, the last 5 decaying: the stable phase ends after step 15
WSD = ["train.schedule=wsd", "train.max_steps=20", "train.wsd_decay_ratio=0.25", "train.export_stable=true"]


def _train(run_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *TINY, f"hydra.run.dir={run_dir}", *overrides],
                          capture_output=True, text=True, cwd=repo_root(), timeout=600)


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(directory / "model.safetensors")


def _equal(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]) -> bool:
    return left.keys() == right.keys() and all(torch.equal(left[name], right[name]) for name in left)


@pytest.mark.slow
def test_stable_holds_the_weights_where_the_decay_begins(tmp_path: Path) -> None:
    """``stable/`` of a 20-step WSD run equals ``final/`` of the same run at a constant rate stopped after 15 steps
    (same seed, same batches, bit for bit on CPU), and differs from the WSD run's annealed ``final/``."""
    wsd = _train(tmp_path / "wsd", *WSD)
    assert wsd.returncode == 0, wsd.stderr[-3000:]
    constant = _train(tmp_path / "constant", "train.schedule=constant", "train.max_steps=15")
    assert constant.returncode == 0, constant.stderr[-3000:]
    run = RunDir(tmp_path / "wsd")
    stable = _weights(run.stable)
    assert _equal(stable, _weights(RunDir(tmp_path / "constant").final))
    assert not _equal(stable, _weights(run.final))
    assert (run.stable / "config.json").exists() and (run.stable / "tokenizer.json").exists()


@pytest.mark.slow
def test_no_stable_export_unless_asked(tmp_path: Path) -> None:
    process = _train(tmp_path, "train.schedule=wsd", "train.max_steps=6")
    assert process.returncode == 0, process.stderr[-3000:]
    assert RunDir(tmp_path).final.is_dir() and not RunDir(tmp_path).stable.exists()


@pytest.mark.slow
def test_stable_export_without_wsd_fails_naming_the_key(tmp_path: Path) -> None:
    process = _train(tmp_path, "train.schedule=cosine", "train.max_steps=6", "train.export_stable=true")
    assert process.returncode != 0 and "train.export_stable needs train.schedule=wsd" in process.stderr


@pytest.mark.slow
def test_a_run_resumed_past_its_stable_end_without_stable_fails(tmp_path: Path) -> None:
    """Weights that can no longer be exported are an error naming the missing directory, never a silent omission."""
    first = _train(tmp_path, *WSD)
    assert first.returncode == 0, first.stderr[-3000:]
    run = RunDir(tmp_path)
    for path in (run.stable, run.final):
        shutil.rmtree(path)
    run.summary.unlink()
    resumed = _train(tmp_path, *WSD)  # resumes from the step-20 checkpoint, past the stable end at step 15
    assert resumed.returncode != 0
    assert str(run.stable) in resumed.stderr and "past the end of its stable phase" in resumed.stderr


@pytest.mark.slow
def test_fixed_decay_tokens_make_every_cooldown_equally_long(tmp_path: Path) -> None:
    """With ``train.wsd_decay_tokens`` the final decay and both branches' cooldowns last 3 steps (10 tokens at 4x64
    per step round up), wherever they start; the stable phase ends 3 steps before the end."""
    process = _train(tmp_path, "train.schedule=wsd", "train.max_steps=24", "train.wsd_decay_tokens=700",
                     "train.wsd_branch_at_tokens=[256,1024]", "train.log_every_steps=1", "train.export_stable=true")
    assert process.returncode == 0, process.stderr[-3000:]
    run = RunDir(tmp_path)
    assert [branch.cooldown_steps for branch in run.read_branches()] == [3, 3]
    rates = [record["lr"] for record in run.read_metrics() if "lr" in record]
    assert len(rates) == 24 and rates[:21] == [rates[0]] * 21 and rates[-1] < rates[-2] < rates[-3] < rates[0]
    constant = _train(tmp_path / "constant", "train.schedule=constant", "train.max_steps=21")
    assert constant.returncode == 0, constant.stderr[-3000:]
    assert _equal(_weights(run.stable), _weights(RunDir(tmp_path / "constant").final))


@pytest.mark.slow
def test_a_decay_as_long_as_the_run_is_refused_naming_the_key(tmp_path: Path) -> None:
    process = _train(tmp_path, "train.schedule=wsd", "train.max_steps=4", "train.wsd_decay_tokens=1024")
    assert process.returncode != 0 and "train.wsd_decay_tokens=1024 needs" in process.stderr
