"""The study's training grid as trainer command-line overrides: model presets × corpora × seeds.

Overrides (not Python objects) are the interface on purpose: the same strings go to a local subprocess, a Hydra
multirun (``sweeps/attribute_grid.yaml``) or a SLURM job, and they are what a run's hash is computed from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from ziya2lab.study.config import GridConfig
from ziya2lab.study.runner import RunSpec
from ziya2lab.train.config import LoggerConfig, LoggerKind


def _quoted(path: Path) -> str:
    """A path as a Hydra quoted string, so spaces, commas and '=' in it survive the override grammar."""
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"


def eval_sets_override(test_sets: Mapping[str, Path]) -> str:
    """Replace the trainer's eval sets of the same names by the study's held-out test files (``++`` merges)."""
    entries = ",".join(f"{name}:{{source:null,path:{_quoted(path)}}}" for name, path in test_sets.items())
    return f"++data.eval_sets={{{entries}}}"


def run_overrides(grid: GridConfig) -> list[str]:
    """Schedule and batch settings shared by every run of the grid."""
    tokens_per_step = grid.batch_size * grid.seq_len
    steps = math.ceil(grid.max_tokens / tokens_per_step)
    branches = sorted({int(fraction * grid.max_tokens) for fraction in grid.branch_fractions})
    if branches and branches[-1] >= (1 - grid.wsd_decay_ratio) * grid.max_tokens:
        raise ValueError(
            f"study.grid.branch_fractions {list(grid.branch_fractions)} must lie in the stable phase, "
            f"below 1 - wsd_decay_ratio = {1 - grid.wsd_decay_ratio}"
        )
    return [
        "train.schedule=wsd",
        f"train.max_tokens={grid.max_tokens}",
        f"train.max_steps={steps}",
        f"train.wsd_decay_ratio={grid.wsd_decay_ratio}",
        f"train.wsd_branch_at_tokens=[{','.join(str(tokens) for tokens in branches)}]",
        f"train.seq_len={grid.seq_len}",
        f"train.batch_size={grid.batch_size}",
        f"train.lr={grid.lr}",
        f"train.min_lr={grid.min_lr}",
        f"train.eval_every_steps={steps}",
        f"train.ckpt_every_steps={max(1, steps // 4)}",
        f"data.eval_max_windows={grid.eval_max_windows}",
    ]


def logger_overrides(logger: LoggerConfig, group: str) -> list[str]:
    return [
        f"logger.kind={LoggerKind(logger.kind).value}",
        f"logger.mode={logger.mode}",
        f"logger.project={logger.project}",
        f"logger.group={group}",
    ]


def grid_specs(
    grid: GridConfig,
    corpora: Mapping[str, Path],
    test_sets: Mapping[str, Path],
    tokenizer_dir: Path,
    logger: LoggerConfig,
    group: str,
) -> list[RunSpec]:
    """One run per (model preset, corpus, seed); ``corpora`` maps a corpus name to its training file."""
    shared = [
        *run_overrides(grid),
        "data=files",
        eval_sets_override(test_sets),
        f"tokenizer.path={_quoted(tokenizer_dir)}",
        *logger_overrides(logger, group),
        *grid.extra_overrides,
    ]
    specs = []
    for model in grid.models:
        for corpus, corpus_file in corpora.items():
            for seed in grid.seeds:
                overrides = (
                    f"model={model}",
                    f"data.components.0.sources.0.path={_quoted(corpus_file)}",
                    f"seed={seed}",
                    *shared,
                )
                specs.append(RunSpec(f"{model}-{corpus}-s{seed}", overrides, grid.max_tokens))
    return specs
