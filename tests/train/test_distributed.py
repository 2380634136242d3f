"""Data parallelism on CPU over gloo: two processes train like one at the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ziya2lab.common.paths import repo_root
from ziya2lab.common.run_dir import RunDir, RunSummary
from ziya2lab.train.config import AccelerateConfig, Precision
from ziya2lab.train.distributed import make_accelerator

TRAIN = ["-m", "ziya2lab.train"]
TINY = ["model=llama_100k", "tokenizer.vocab_size=400", "tokenizer.max_train_chars=60000", "train.seq_len=64",
        "train.batch_size=4", "data.eval_max_windows=2", "logger=none", "train.threads=1",
        "train.max_steps=8", "train.log_every_steps=1", "train.eval_every_steps=8", "train.ckpt_every_steps=100"]


def _losses(run_dir: Path) -> tuple[list[tuple[int, float]], RunSummary]:
    run = RunDir(run_dir)
    return [(record["step"], record["loss"]) for record in run.read_metrics()], run.read_summary()


def test_a_preset_naming_fsdp_refuses_a_launch_that_is_not_fsdp() -> None:
    """accelerate only turns FSDP on for GPU-class devices: on CPU it would silently train unsharded."""
    with pytest.raises(RuntimeError, match="distributed_type=FSDP but this process was launched as NO"):
        make_accelerator(Precision.fp32, AccelerateConfig(distributed_type="FSDP"))


@pytest.mark.slow
@pytest.mark.distributed
def test_two_process_ddp_matches_one_process_at_the_same_global_batch(tmp_path: Path) -> None:
    single = subprocess.run([sys.executable, *TRAIN, f"hydra.run.dir={tmp_path / 'one'}", *TINY],
                            capture_output=True, text=True, cwd=repo_root(), timeout=900)
    assert single.returncode == 0, single.stderr[-3000:]
    environment = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    double = subprocess.run([*launch, *TRAIN, f"hydra.run.dir={tmp_path / 'two'}", *TINY], capture_output=True,
                            text=True, cwd=repo_root(), env=environment, timeout=900)
    assert double.returncode == 0, double.stderr[-3000:]
    one_losses, one = _losses(tmp_path / "one")
    two_losses, two = _losses(tmp_path / "two")
    assert one.num_processes == 1 and two.num_processes == 2
    assert [step for step, _ in two_losses] == [step for step, _ in one_losses] == list(range(1, 9))
    # the same samples per step (rank-independent order) and per-token loss weighting: only float summation
    # order differs between one process and a gloo all-reduce
    for (_, loss_one), (_, loss_two) in zip(one_losses, two_losses, strict=True):
        assert loss_two == pytest.approx(loss_one, rel=1e-4)
    assert two.eval == pytest.approx(one.eval, rel=1e-4)
    assert one_losses[-1][1] < one_losses[0][1], "the run learns"


@pytest.mark.slow
@pytest.mark.distributed
def test_fsdp2_over_gloo_shards_the_model_and_trains_like_one_process(tmp_path: Path) -> None:
    """accelerate's FSDP plugin is GPU-only, so this drives torch's FSDP2 (``fully_shard``) on our model directly."""
    from workers import fsdp_train  # tests/train/workers: also the script torchrun launches

    output = tmp_path / "fsdp.json"
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    result = subprocess.run([*launch, fsdp_train.__file__, str(output)], capture_output=True, text=True,
                            cwd=repo_root(), env=environment, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    sharded = json.loads(output.read_text())
    assert sharded["world_size"] == 2
    assert sharded["local_shape"][0] * 2 == sharded["full_shape"][0], "each rank holds half of every parameter"

    torch.manual_seed(0)
    reference = fsdp_train.Llama(fsdp_train.CONFIG)
    reference_losses = fsdp_train.train(reference, *fsdp_train.batch(), world_size=1)
    assert sharded["losses"] == pytest.approx(reference_losses, rel=1e-4)
    assert reference_losses[-1] < reference_losses[0], "the run learns"
    gathered = torch.load(output.with_suffix(".pt"))
    assert set(gathered) == set(reference.state_dict())
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(gathered[name], value, rtol=1e-4, atol=1e-5, msg=name)
