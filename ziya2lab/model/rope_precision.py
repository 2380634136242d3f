"""How far rotary embeddings drift from exact in bf16: the FP32 policy against plain bf16 RoPE, per position.

Plain bf16 RoPE rounds position × frequency to 8 mantissa bits, so beyond a few hundred positions the angle is off
by radians; the FP32 policy computes angles, cos/sin and the rotation in FP32 and rounds only the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ziya2lab.model.llama import LlamaConfig, RotaryEmbedding, apply_rotary

if TYPE_CHECKING:
    import pandas as pd


def rotation_error_by_position(
    max_position: int, head_dim: int = 128, heads: int = 8, seed: int = 0, device: str = "cpu"
) -> dict[str, torch.Tensor]:
    """Per-position mean |error| (float64, on CPU) of rotated q against float64, per policy, computed on ``device``.

    torch only (pandas and matplotlib are imported where tables and plots are made), so ``benchmarks/gpu_check.py``
    runs it on a bare GPU machine. q is drawn on the CPU, so a seed gives the same q on every device.
    """
    config = LlamaConfig(hidden_size=head_dim * heads, num_attention_heads=heads, max_position_embeddings=max_position)
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(1, heads, max_position, head_dim, generator=generator).to(device)
    where = torch.device(device)
    exact = apply_rotary(q.double(), *RotaryEmbedding(config)(max_position, where, torch.float64))
    errors = {}
    for name, fp32 in (("fp32_rope", True), ("bf16_rope", False)):
        config.fp32_rope = fp32
        rotated = apply_rotary(q.bfloat16(), *RotaryEmbedding(config)(max_position, where, torch.bfloat16))
        errors[name] = (rotated.double() - exact).abs().mean(dim=(0, 1, 3)).cpu()
    return errors


def rotation_errors(max_position: int, head_dim: int = 128, heads: int = 8, seed: int = 0) -> pd.DataFrame:
    """Mean absolute error of rotated q against a float64 reference, at every position, for both policies."""
    import pandas as pd

    errors = rotation_error_by_position(max_position, head_dim, heads, seed)
    return pd.DataFrame({"position": range(max_position), **{name: error.numpy() for name, error in errors.items()}})


def summarise(errors: pd.DataFrame, positions: list[int]) -> pd.DataFrame:
    rows = errors.set_index("position").loc[[p for p in positions if p < len(errors)]]
    return rows.assign(bf16_over_fp32=rows["bf16_rope"] / rows["fp32_rope"]).reset_index()


def plot_errors(errors: pd.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    smoothed = errors.set_index("position").rolling(64, min_periods=1).mean()
    axis.plot(smoothed.index, smoothed["bf16_rope"], label="plain bf16 RoPE")
    axis.plot(smoothed.index, smoothed["fp32_rope"], label="FP32 RoPE policy (result cast to bf16)")
    axis.set_yscale("log")
    axis.set_xlabel("position")
    axis.set_ylabel("mean |error| vs float64 (64-position mean)")
    axis.set_title("Rotary embedding error under bf16")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
