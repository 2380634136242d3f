"""A study's compute before it runs: tokens and training FLOPs of every planned run, from the model accounting.

    python -m ziya2lab.study.budget                 # the default study
    python -m ziya2lab.study.budget study=full      # what a GPU node runs instead (any study override works)

Prints one row per (stage, model preset), then the total against this machine's measured fp32 GEMM peak (the
floor on its wall time) and against an H100/H200's bf16 datasheet peak (GPU-hours at a stated MFU); the last
line is one JSON object of the headline figures. Cooldown branches are counted: each WSD branch trains
``train.wsd_decay_tokens`` more (or ``decay_ratio / (1 - decay_ratio)`` of the steps before it).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from typing import Any

import hydra
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from ziya2lab.common.paths import config_dir
from ziya2lab.model import accounting
from ziya2lab.study.config import StudyAppConfig
from ziya2lab.study.grid import RunSpec
from ziya2lab.study.study import plan_study
from ziya2lab.train.schedule import branch_cooldown_steps, sequences_per_step

GPU = "h100"  # bf16 datasheet peak (accounting.GPU_PEAK_FLOPS); the H200 has the same compute
ASSUMED_GPU_MFU = 0.3  # an assumption for the GPU-hours line, not a measurement: small models reach less


def processed_tokens(spec: RunSpec) -> int:
    """Tokens the run trains on, its cooldown branches included (each as long as ``train.wsd_decay_tokens`` when
    that fixes every decay's length)."""
    train = spec.config.train
    per_step = sequences_per_step(train) * train.seq_len
    fixed = math.ceil(train.wsd_decay_tokens / per_step) if train.wsd_decay_tokens is not None else None
    branch_steps = sum(fixed or branch_cooldown_steps(math.ceil(tokens / per_step), train.wsd_decay_ratio)
                       for tokens in train.wsd_branch_at_tokens)
    return spec.planned_tokens + branch_steps * per_step


def run_flops(spec: RunSpec, vocab_size: int) -> float:
    model = dataclasses.replace(spec.config.model, vocab_size=vocab_size)  # the trainer sets it from the tokenizer
    return accounting.flops_per_token(model, spec.config.train.seq_len) * processed_tokens(spec)


def budget_table(cfg: StudyAppConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    plan = plan_study(cfg)
    vocab = cfg.study.tokenizer_vocab_size
    rows = [{"stage": stage, "model": spec.label.split("-", 1)[0], "tokens": spec.planned_tokens,
             "processed_tokens": processed_tokens(spec), "flops": run_flops(spec, vocab)}
            for stage, specs in (("base model", plan.bases), ("continuation", plan.continuations)) for spec in specs]
    table = (pd.DataFrame(rows).groupby(["stage", "model"], sort=False)
             .agg(runs=("tokens", "size"), tokens_per_run=("tokens", "first"),
                  processed_tokens=("processed_tokens", "sum"), flops=("flops", "sum")).reset_index())
    total = float(table["flops"].sum())
    cpu_peak = accounting.device_peak_flops("cpu", "fp32")
    gpu_peak = accounting.GPU_PEAK_FLOPS[GPU]
    headline = {"study": cfg.study.name, "runs": len(rows), "total_flops": total,
                "cpu_fp32_peak_flops": cpu_peak, "cpu_seconds_at_peak": total / cpu_peak,
                "gpu": GPU, "gpu_bf16_peak_flops": gpu_peak, "assumed_gpu_mfu": ASSUMED_GPU_MFU,
                "gpu_hours": total / (gpu_peak * ASSUMED_GPU_MFU) / 3600}
    return table, headline


def print_budget(cfg: StudyAppConfig) -> None:
    table, headline = budget_table(cfg)
    print(table.to_string(index=False, float_format=lambda value: f"{value:.4g}"))
    print(f"total {headline['total_flops']:.4g} FLOP over {headline['runs']} runs: "
          f"{headline['cpu_seconds_at_peak']:.4g} s at this machine's measured fp32 peak "
          f"({headline['cpu_fp32_peak_flops'] / 1e9:.4g} GFLOP/s), {headline['gpu_hours']:.3g} {GPU} GPU-hours at an "
          f"assumed {ASSUMED_GPU_MFU:.0%} of its bf16 peak")
    print(json.dumps(headline))


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="attribute_scaling")
def main(cfg: DictConfig) -> None:
    print_budget(OmegaConf.to_object(cfg))


if __name__ == "__main__":
    # plan only: no run directory, no log file, nothing written beside a study's outputs
    sys.argv += ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=none", "hydra/hydra_logging=none"]
    main()
