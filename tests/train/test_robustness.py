"""Trainer robustness: the stability guard, atomic checkpoints under a kill mid-save, SIGTERM, and wandb resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import ziya2lab.train.config  # noqa: F401  (registers train_schema)
from ziya2lab.common.paths import config_dir, repo_root
from ziya2lab.common.run_dir import RunDir
from ziya2lab.train import loop
from ziya2lab.train.checkpoint import list_checkpoints
from ziya2lab.train.guard import StabilityGuard, TrainingDiverged

TRAIN = ["-m", "ziya2lab.train"]
TINY = ["model=llama_100k", "tokenizer.vocab_size=400", "tokenizer.max_train_chars=60000", "train.seq_len=64",
        "train.batch_size=4", "data.eval_max_windows=2", "logger=none", "train.threads=1"]


def _config(run_dir: Path, *overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose("train", overrides=[*TINY, f"output_dir={run_dir}", *overrides])


def _metrics(run_dir: Path) -> list[dict]:
    return RunDir(run_dir).read_metrics()


# ------------------------------------------------------------------------------------------------ the guard
def test_guard_skips_non_finite_and_spikes_and_declares_divergence() -> None:
    guard = StabilityGuard(spike_factor=2.0, window=3, warmup_steps=2, max_consecutive_skips=2)
    assert guard.judge(100.0, 1.0) is None, "no spike test before warmup_steps good steps"
    for loss in (4.0, 4.0, 4.0):
        guard.record(loss, skipped=guard.judge(loss, 1.0) is not None)
    assert guard.judge(float("nan"), 1.0) == "non-finite"
    assert guard.judge(3.0, float("inf")) == "non-finite"
    assert guard.judge(8.1, 1.0) == "spike" and guard.judge(7.9, 1.0) is None
    guard.record(9.0, skipped=True)
    assert not guard.diverged
    restored = StabilityGuard(2.0, 3, 2, 2)
    restored.load_state_dict(json.loads(json.dumps(guard.state_dict())))
    assert restored.judge(8.1, 1.0) == "spike" and restored.skipped_in_a_row == 1
    guard.record(9.0, skipped=True)
    assert guard.diverged and guard.skipped_total == 2
    guard.record(4.0, skipped=False)
    assert not guard.diverged and guard.skipped_in_a_row == 0


@pytest.mark.slow
def test_non_finite_loss_skips_that_update_and_the_run_goes_on(tmp_path: Path, monkeypatch) -> None:
    """A NaN injected into step 5's loss: its update is not applied, it is logged, and training continues."""
    original = loop.Trainer._forward
    snapshots: dict[int, list[torch.Tensor]] = {}

    def poisoned(self: loop.Trainer, arrays: dict, rows: slice):
        if self.model.training and self.state.step not in snapshots:
            snapshots[self.state.step] = [p.detach().clone() for p in self.model.parameters()]
        output, count = original(self, arrays, rows)
        if self.model.training and self.state.step == 5:
            output.loss = output.loss * float("nan")
        return output, count

    monkeypatch.setattr(loop.Trainer, "_forward", poisoned)
    summary = loop.run_training(_config(tmp_path, "train.max_steps=10", "train.log_every_steps=1",
                                        "train.eval_every_steps=10", "train.ckpt_every_steps=100"))
    assert summary.status == "completed" and summary.skipped_steps == 1

    def same(a: int, b: int) -> bool:
        return all(torch.equal(x, y) for x, y in zip(snapshots[a], snapshots[b], strict=True))

    assert not same(4, 5), "a normal step changes the parameters"
    assert same(5, 6), "the NaN step's update was skipped"
    records = {record["step"]: record for record in _metrics(tmp_path)}
    assert records[6]["skip_reason"] == "non-finite" and records[6]["skipped_steps"] == 1
    assert records[6]["rejected_loss"] is None
    assert all(records[step].get("skip_reason") is None for step in (5, 7, 8, 9, 10))
    assert all(records[step]["loss"] is not None for step in (7, 8, 9, 10))


@pytest.mark.slow
def test_repeated_spikes_stop_the_run_with_a_message_and_a_checkpoint(tmp_path: Path) -> None:
    """lr=3 wrecks the model after one update; every later loss is a spike; after 3 skips in a row it stops."""
    config = _config(tmp_path, "train.max_steps=40", "train.lr=3.0", "train.min_lr=3.0", "train.schedule=constant",
                     "train.guard_warmup_steps=1", "train.max_consecutive_skips=3", "train.log_every_steps=1",
                     "train.ckpt_every_steps=100", "train.eval_every_steps=100")
    with pytest.raises(TrainingDiverged, match=r"3 updates in a row skipped \(last: spike.*checkpoint kept at"):
        loop.run_training(config)
    records = _metrics(tmp_path)
    assert [record.get("skip_reason") for record in records] == [None, "spike", "spike", "spike"]
    assert records[-1]["skipped_steps"] == 3 and records[-1]["rejected_loss"] > 4 * records[0]["loss"]
    assert [path.name for path in list_checkpoints(tmp_path / "checkpoints")] == ["step_00000004"]
    assert not RunDir(tmp_path).is_done()


# ------------------------------------------------------------------------------------- atomic checkpoints
_KILL_DURING_SAVE = """
import os, signal, runpy, shutil, sys
import accelerate
from ziya2lab.train import checkpoint

point, *overrides = sys.argv[1:]
if point == "state_written":  # the second checkpoint's files are written, it is not yet published
    original = accelerate.Accelerator.save_state
    def save_state(self, output_dir=None, **kwargs):
        result = original(self, output_dir, **kwargs)
        if ".step_00000006." in str(output_dir):
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    accelerate.Accelerator.save_state = save_state
else:  # "pruning": the third checkpoint is published, the oldest is being deleted
    original_rmtree = shutil.rmtree
    def rmtree(path, *args, **kwargs):
        if "step_00000003" in str(path) and "pruned" in str(path):
            os.kill(os.getpid(), signal.SIGKILL)
        return original_rmtree(path, *args, **kwargs)
    checkpoint.shutil.rmtree = rmtree
sys.argv = ["ziya2lab.train", *overrides]
runpy.run_module("ziya2lab.train", run_name="__main__")
"""


@pytest.mark.slow
@pytest.mark.parametrize("point", ["state_written", "pruning"])
def test_kill_during_checkpoint_save_leaves_the_previous_one_loadable(tmp_path: Path, point: str) -> None:
    overrides = [f"hydra.run.dir={tmp_path}", *TINY, "train.max_steps=12", "train.ckpt_every_steps=3",
                 "train.keep_checkpoints=2", "train.eval_every_steps=100", "train.log_every_steps=1"]
    killed = subprocess.run([sys.executable, "-c", _KILL_DURING_SAVE, point, *overrides],
                            capture_output=True, text=True, cwd=repo_root(), timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    root = tmp_path / "checkpoints"
    leftovers = [path.name for path in root.iterdir() if path.name.endswith(".tmp")]
    published = [path.name for path in list_checkpoints(root)]
    if point == "state_written":
        assert leftovers and leftovers[0].startswith(".step_00000006."), "the kill hit the half-written save"
        assert published == ["step_00000003"]
    else:
        assert leftovers == [".step_00000003.pruned.tmp"]
        assert published == ["step_00000006", "step_00000009"]
    resumed = subprocess.run([sys.executable, *TRAIN, *overrides], capture_output=True, text=True, cwd=repo_root(),
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = RunDir(tmp_path).read_summary()
    assert summary.resumed_from == str(root / published[-1]) and summary.steps == 12
    assert sorted(path.name for path in root.iterdir()) == ["step_00000009", "step_00000012"], "keeps the last 2"
    steps = [record["step"] for record in _metrics(tmp_path)]
    assert steps == list(range(1, 13)), "the log is cut back to the checkpoint and continues without gaps"


# ------------------------------------------------------------------------------- SIGTERM and wandb resume
@pytest.mark.slow
def test_sigterm_checkpoints_and_the_resumed_run_continues_the_same_wandb_run(tmp_path: Path) -> None:
    overrides = [f"hydra.run.dir={tmp_path}", *TINY, "logger=wandb", "train.max_steps=60",
                 "train.ckpt_every_steps=1000", "train.eval_every_steps=1000", "train.log_every_steps=1",
                 "train.keep_checkpoints=1"]
    environment = {**os.environ, "WANDB_MODE": "offline"}
    process = subprocess.Popen([sys.executable, *TRAIN, *overrides], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, cwd=repo_root(), env=environment)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None and len(_metrics(tmp_path)) < 5:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    stopped_at = _metrics(tmp_path)[-1]["step"]
    assert 5 <= stopped_at < 60, "SIGTERM arrived mid-run"
    assert [path.name for path in list_checkpoints(tmp_path / "checkpoints")] == [f"step_{stopped_at:08d}"]
    assert not RunDir(tmp_path).is_done()
    run_id = RunDir(tmp_path).wandb_id.read_text().strip()

    resumed = subprocess.run([sys.executable, *TRAIN, *overrides], capture_output=True, text=True, cwd=repo_root(),
                             env=environment, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = RunDir(tmp_path).read_summary()
    assert summary.status == "completed" and summary.steps == 60
    assert summary.resumed_from.endswith(f"step_{stopped_at:08d}")
    assert RunDir(tmp_path).wandb_id.read_text().strip() == run_id
    wandb_runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(wandb_runs) == 2 and all(path.name.endswith(f"-{run_id}") for path in wandb_runs)
    assert [record["step"] for record in _metrics(tmp_path)] == list(range(1, 61))
