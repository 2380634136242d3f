"""The paper's run as configuration (``recipe=ziya2_13b dry_run=true``): the commands, and what they would cost.

Compute: training FLOPs = ``accounting.flops_per_token`` × tokens per stage; GPU-hours = FLOPs ÷ (MFU × the
GPU's dense bf16 peak). Memory per GPU under FSDP full sharding with activation checkpointing per block, from
``accounting.training_memory_bytes`` (bf16 autocast over FP32 weights, the trainer's ``precision=bf16``): the
weights, gradients, AdamW moments and autocast's bf16 weight copies are split over the GPUs; of the activations a
checkpointed model keeps each block's input (the FP32 residual stream, 4 bytes × hidden per token per layer)
plus one block's full activations while it is recomputed; the loss head's logits are kept whole. Not counted:
FSDP's all-gathered block in flight, allocator fragmentation, NCCL buffers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ziya2lab.model import LlamaConfig, accounting
from ziya2lab.recipe.config import STAGES, RecipeAppConfig

RESIDUAL_BYTES = 4  # the FP32 residual stream a block's checkpoint keeps
GIB = 1024**3


def fsdp_memory_per_gpu(model: LlamaConfig, seq_len: int, micro_batch: int, num_gpus: int) -> dict[str, float]:
    """Bytes per GPU by component: sharded states, checkpointed activations, the loss head."""
    full = accounting.training_memory_bytes(model, seq_len, micro_batch, "amp_bf16")
    tokens = micro_batch * seq_len
    states = full["weights"] + full["gradients"] + full["adamw_moments"] + full["autocast_weight_copies"]
    checkpoints = tokens * model.num_hidden_layers * model.hidden_size * RESIDUAL_BYTES
    one_block = full["activations"] / model.num_hidden_layers
    parts = {"sharded_states": states / num_gpus, "block_checkpoints": float(checkpoints),
             "recomputed_block": one_block, "loss_head": full["loss_head"]}
    return {**parts, "total": sum(parts.values())}


def gpu_plan(cfg: RecipeAppConfig) -> dict[str, Any]:
    """Commands, budgets, FLOPs, GPU-hours at each stated MFU and memory per GPU of the paper's three stages."""
    plan = cfg.gpu_plan
    model = dataclasses.replace(cfg.model, vocab_size=plan.vocab_size)
    seq_len = cfg.train.seq_len
    flops_per_token = accounting.flops_per_token(model, seq_len)
    peak = accounting.GPU_PEAK_FLOPS[plan.gpu]
    stages = {}
    for stage in STAGES:
        tokens = plan.stage_tokens[stage]
        flops = flops_per_token * tokens
        stages[stage] = {"tokens": tokens, "lr": plan.stage_lr[stage], "min_lr": plan.min_lr, "flops": flops,
                         "gpu_hours": {f"{mfu:.2f}": flops / (mfu * peak) / 3600 for mfu in plan.mfu}}
    total_flops = sum(stage["flops"] for stage in stages.values())
    memory = fsdp_memory_per_gpu(model, seq_len, plan.micro_batch_size, plan.num_gpus)
    expanded_tokenizer = Path(cfg.output_dir) / "expansion" / "tokenizer"
    return {
        "parameters": accounting.count_parameters(model, include_embeddings=True),
        "flops_per_token": flops_per_token,
        "stages": stages,
        "total_flops": total_flops,
        "gpu": plan.gpu, "peak_flops": peak, "num_gpus": plan.num_gpus,
        "gpu_hours": {f"{mfu:.2f}": total_flops / (mfu * peak) / 3600 for mfu in plan.mfu},
        "wall_days": {f"{mfu:.2f}": total_flops / (mfu * peak * plan.num_gpus) / 86400 for mfu in plan.mfu},
        "memory_per_gpu_bytes": memory,
        "fits": memory["total"] < plan.gpu_memory_gb * 1e9,
        "commands": _commands(cfg, expanded_tokenizer),
    }


def _commands(cfg: RecipeAppConfig, expanded_tokenizer: Path) -> list[str]:
    """Expand LLaMA-2-13B's own tokenizer; stage 1 starts from the 13B checkpoint with it, and the trainer grows
    the embeddings with the paper's averaging (``stage.vocab_init``); stages 2 and 3 start from the previous
    stage's ``final/``, which holds the expanded tokenizer."""
    plan = cfg.gpu_plan
    lines = [f"python -m ziya2lab.study.expand_tokenizer base_tokenizer={plan.base_model_dir} num_new_tokens=7400 "
             f"pad_to_multiple=128 init_experiment.enabled=false output_dir={expanded_tokenizer.parent}"
             f"   # 32,000 -> {plan.vocab_size}"]
    checkpoint, tokenizer = plan.base_model_dir, str(expanded_tokenizer)
    for stage in STAGES:
        tokens = int(plan.stage_tokens[stage])
        data = "".join(f"data.components.{index}.sources.0.path={path} "
                       for index, path in enumerate(plan.data_dirs[stage]))
        lines.append(
            f"accelerate launch --config_file {plan.accelerate_config} -m ziya2lab.train accelerate=fsdp_13b "
            f"model=ziya2_13b train=ziya2_13b stage={stage} stage.init_from={checkpoint} "
            f"stage.vocab_init={cfg.expansion.stage_init} tokenizer=pretrained tokenizer.path={tokenizer} {data}"
            f"train.max_steps=null train.max_tokens={tokens} train.lr={plan.stage_lr[stage]} "
            f"train.min_lr={plan.min_lr} hydra.run.dir=runs/ziya2_13b/{stage}")
        checkpoint = tokenizer = f"runs/ziya2_13b/{stage}/final"
    return lines


def format_plan(plan: dict[str, Any]) -> str:
    lines = [f"LLaMA2-13B expanded: {plan['parameters'] / 1e9:.2f}B parameters, "
             f"{plan['flops_per_token'] / 1e9:.1f} GFLOPs per training token"]
    for stage, row in plan["stages"].items():
        hours = ", ".join(f"{hours:,.0f} GPU-h at MFU {mfu}" for mfu, hours in row["gpu_hours"].items())
        lines.append(f"  {stage}: {row['tokens'] / 1e9:,.0f}B tokens, lr {row['lr']:g} -> {row['min_lr']:g}, "
                     f"{row['flops']:.2e} FLOPs; {hours}")
    hours = ", ".join(f"{h:,.0f} GPU-h ({plan['wall_days'][m]:.0f} days on {plan['num_gpus']})"
                      f" at MFU {m}" for m, h in plan["gpu_hours"].items())
    lines.append(f"total {plan['total_flops']:.2e} FLOPs on {plan['gpu']} ({plan['peak_flops'] / 1e12:.0f} TFLOP/s "
                 f"bf16 peak): {hours}")
    memory = plan["memory_per_gpu_bytes"]
    parts = ", ".join(f"{name} {value / GIB:.1f}" for name, value in memory.items() if name != "total")
    lines.append(f"memory per GPU (FSDP over {plan['num_gpus']}): {memory['total'] / GIB:.1f} GiB ({parts}); "
                 f"fits: {plan['fits']}")
    lines += ["commands:", *(f"  {command}" for command in plan["commands"])]
    return "\n".join(lines)
