"""train.compile: when it compiles, where its cache lives, and that compiled training is the same training."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from kill_drill import kill_when

from ziya2lab.common.paths import repo_root
from ziya2lab.common.run_dir import RunDir
from ziya2lab.train.compiled import (
    BREAK_EVEN_TOKENS,
    INDUCTOR_CACHE_ENV,
    compile_training_forward,
    should_compile,
    use_shared_compile_cache,
)

TRAIN = ["-m", "ziya2lab.train"]
TINY = ["model=llama_100k", "tokenizer.vocab_size=400", "tokenizer.max_train_chars=60000", "train.seq_len=64",
        "train.batch_size=4", "data.eval_max_windows=2", "logger=none", "train.threads=1",
        "train.log_every_steps=1"]
CPU, GPU = torch.device("cpu"), torch.device("cuda")


def test_compile_setting_and_the_default_break_even() -> None:
    assert should_compile(True, 1, CPU) and should_compile(True, 1, GPU)
    assert not should_compile(False, 10 * BREAK_EVEN_TOKENS, CPU)
    assert should_compile(None, BREAK_EVEN_TOKENS, CPU)
    assert not should_compile(None, BREAK_EVEN_TOKENS - 1, CPU)
    assert not should_compile(None, 10 * BREAK_EVEN_TOKENS, GPU)  # not measured on a GPU: stays eager


def test_an_unknown_compile_mode_is_refused_naming_the_key() -> None:
    with pytest.raises(ValueError, match=r"train\.compile_mode='fastest'"):
        compile_training_forward(torch.nn.Linear(2, 2), "fastest")


def test_the_inductor_cache_lives_under_the_project_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZIYA2LAB_CACHE", str(tmp_path))
    monkeypatch.delenv(INDUCTOR_CACHE_ENV, raising=False)
    assert use_shared_compile_cache() == tmp_path / "inductor"
    monkeypatch.setenv(INDUCTOR_CACHE_ENV, str(tmp_path / "mine"))
    assert use_shared_compile_cache() == tmp_path / "mine"  # a cache the user chose wins


def test_the_compiled_forward_shares_the_modules_parameters() -> None:
    model = torch.nn.Linear(3, 2)
    forward = compile_training_forward(model, "default")
    assert all(a is b for a, b in zip(forward.parameters(), model.parameters(), strict=True))


def _train(run_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *TRAIN, f"hydra.run.dir={run_dir}", *TINY, *overrides],
                          capture_output=True, text=True, cwd=repo_root(), timeout=900)


def _losses(run_dir: Path) -> list[tuple[int, float]]:
    return [(record["step"], record["loss"]) for record in RunDir(run_dir).read_metrics()
            if record.get("loss") is not None]


@pytest.mark.slow
def test_compiled_and_eager_training_give_the_same_losses(tmp_path: Path) -> None:
    """fp32: every logged training loss of a compiled run within a relative 1e-5 of the eager run's, the final
    evaluation within 5e-5."""
    runs = {}
    for setting in ("false", "true"):
        process = _train(tmp_path / setting, "train.max_steps=12", "train.eval_every_steps=12",
                         f"train.compile={setting}")
        assert process.returncode == 0, process.stderr[-3000:]
        runs[setting] = _losses(tmp_path / setting)
    assert [step for step, _ in runs["true"]] == [step for step, _ in runs["false"]] == list(range(1, 13))
    for (step, eager), (_, compiled_loss) in zip(runs["false"], runs["true"], strict=True):
        assert math.isclose(compiled_loss, eager, rel_tol=1e-5), (step, compiled_loss, eager)
    eager_eval = RunDir(tmp_path / "false").read_summary().eval
    compiled_eval = RunDir(tmp_path / "true").read_summary().eval
    assert compiled_eval.keys() == eager_eval.keys()
    # the evaluation follows all 12 updates, and fp32 differences compound over updates (relative: 0 at step 1,
    # 4e-6 by step 11; 1.2e-5 on held-out People's Daily items after the 12th): a wider bar than a single step's
    for name, loss in eager_eval.items():
        assert math.isclose(compiled_eval[name], loss, rel_tol=5e-5), name


@pytest.mark.slow
def test_killed_and_resumed_compiled_run_reproduces_the_uninterrupted_one(tmp_path: Path) -> None:
    """train.compile=true, SIGKILL after a checkpoint, resume (a new process, a new compile): identical losses."""
    common = ["train.compile=true", "train.max_steps=24", "train.eval_every_steps=24", "train.ckpt_every_steps=5"]
    whole = _train(tmp_path / "whole", *common)
    assert whole.returncode == 0, whole.stderr[-3000:]
    split = tmp_path / "split"
    process = subprocess.Popen([sys.executable, *TRAIN, f"hydra.run.dir={split}", *TINY, *common],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=repo_root())
    kill_when(process, lambda: RunDir(split).metrics.exists() and len(_losses(split)) >= 12, timeout_s=600)
    assert not RunDir(split).is_done(), "the run finished before it could be killed"
    resumed = _train(split, *common)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _losses(split) == _losses(tmp_path / "whole")


def test_the_setting_composes_from_the_command_line() -> None:
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException
    from omegaconf import OmegaConf

    import ziya2lab.train.config  # noqa: F401  (registers train_schema)

    with initialize_config_dir(str(repo_root() / "conf"), version_base="1.3"):
        assert compose("train").train.compile is None
        overrides = ["train.compile=true", "train.compile_mode=max-autotune", "output_dir=unused"]
        typed = OmegaConf.to_object(compose("train", overrides))
        assert typed.train.compile is True and typed.train.compile_mode == "max-autotune"
        with pytest.raises(ConfigCompositionException, match=r"train\.compile=maybe"):
            compose("train", ["train.compile=maybe"])
