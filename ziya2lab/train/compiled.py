"""``train.compile``: the training forward and loss through ``torch.compile``, once per process.

The study's models (0.1M–1M parameters at seq 128) are bound by elementwise kernels and framework overhead, which
is what inductor removes; a compile costs seconds of warm-up per process, so it pays only past a number of tokens.
Inductor's on-disk caches (FX graphs, AOTAutograd, kernels) live under ``$ZIYA2LAB_CACHE/inductor``, so the runs of
a sweep — each its own process — load the compiled artefacts rather than rebuild them.

Only the training forward is compiled: evaluation (no grad, other batch shapes) stays eager, so it neither adds a
second compile nor changes the held-out losses. The compiled wrapper shares the eager module's parameters, so
checkpoints, ``final/`` and the state dict keys are unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ziya2lab.common.paths import cache_dir

INDUCTOR_CACHE_ENV = "TORCHINDUCTOR_CACHE_DIR"
# Tokens per process from which compiling pays: the per-process warm-up with a warm cache over the time a compiled
# step saves per token. Measured on the idle machine (benchmarks/bench_trainer.py, docs/BENCHMARKS.md): 423k-532k
# tokens at the study's sizes with 1 or 2 threads (llama_1m at 2 threads: 1.77M, but there compiling gains only 3%);
# rounded up. A default-study run stays eager; study=full (8M tokens per run) compiles.
BREAK_EVEN_TOKENS = 600_000


def use_shared_compile_cache() -> Path:
    """Point inductor's caches at ``$ZIYA2LAB_CACHE/inductor``, unless ``TORCHINDUCTOR_CACHE_DIR`` is set already."""
    os.environ.setdefault(INDUCTOR_CACHE_ENV, str(cache_dir("inductor")))
    return Path(os.environ[INDUCTOR_CACHE_ENV])


def compile_modes() -> list[str]:
    return ["default", *torch._inductor.list_mode_options()]


def should_compile(setting: bool | None, planned_tokens: int, device: torch.device) -> bool:
    """``train.compile``: true/false as set; None (the default) compiles a CPU run that reaches the break-even.

    The break-even was measured on CPU; on a GPU, where compiles take longer and the models are larger, the
    default stays eager until it is measured there.
    """
    if setting is not None:
        return setting
    return device.type == "cpu" and planned_tokens >= BREAK_EVEN_TOKENS


def compile_training_forward(model: nn.Module, mode: str) -> nn.Module:
    """A compiled callable over ``model`` (same parameters), for the training forward + loss only."""
    if mode not in compile_modes():
        raise ValueError(f"train.compile_mode={mode!r}: choose one of {compile_modes()}")
    use_shared_compile_cache()
    return torch.compile(model, mode=None if mode == "default" else mode)
