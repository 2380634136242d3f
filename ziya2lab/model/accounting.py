"""Parameter and FLOP accounting, and the peak FLOP/s that MFU divides by.

Training FLOPs per token are 6 × (non-embedding parameters + the output projection) for the matmuls, plus the
attention score/value products, 6 × layers × T × hidden (Kaplan et al. 2020 / PaLM appendix B counting, causal
attention not halved). The input embedding is a lookup, not a matmul, so it does not count.

Training memory (``training_memory_bytes``) is the usual tally: weights + gradients + AdamW's two moments (in
the parameters' dtype) + the tensors autograd keeps for the backward pass + the loss head, without checkpointing.
"""

from __future__ import annotations

import json
import time

import torch

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.paths import cache_dir
from ziya2lab.model.llama import LlamaConfig

# Dense bf16 tensor-core peaks per device (vendor datasheets, without sparsity).
GPU_PEAK_FLOPS = {
    "a100": 312e12,
    "h100": 989e12,  # SXM
    "h200": 989e12,
}
CALIBRATION_SIZE = 1024
CALIBRATION_REPEATS = 5


def count_parameters(config: LlamaConfig, include_embeddings: bool) -> int:
    """Exact count of the model's parameters; "non-embedding" excludes the input and output embeddings."""
    hidden, inter, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    kv_width = config.kv_heads * config.head_dim
    attention = hidden * hidden * 2 + hidden * kv_width * 2  # q, o and k, v
    mlp = 3 * hidden * inter
    norms = 2 * hidden
    non_embedding = layers * (attention + mlp + norms) + hidden  # + the final norm
    if not include_embeddings:
        return non_embedding
    embeddings = config.vocab_size * hidden * (1 if config.tie_word_embeddings else 2)
    return non_embedding + embeddings


def flops_per_token(config: LlamaConfig, seq_len: int) -> float:
    """Training (forward + backward) FLOPs per token at context ``seq_len``."""
    matmul_parameters = count_parameters(config, include_embeddings=False) + config.vocab_size * config.hidden_size
    attention = config.num_hidden_layers * seq_len * config.hidden_size
    return 6.0 * matmul_parameters + 6.0 * attention


def measure_gemm_flops(
    dtype: torch.dtype, size: int = CALIBRATION_SIZE, repeats: int = CALIBRATION_REPEATS, device: str = "cpu"
) -> float:
    """Best-of-N square GEMM throughput (FLOP/s) on ``device`` (on CPU: with the current thread count).

    On CUDA each repeat is bracketed by synchronisations, so the time is the kernel's, not the launch's.
    """
    left = torch.randn(size, size, dtype=dtype, device=device)
    right = torch.randn(size, size, dtype=dtype, device=device)
    synchronize = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    left @ right  # warm-up (and, on CUDA, the library's kernel choice)
    synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        left @ right
        synchronize()
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best


# Bytes per element of (weights = grads, AdamW moment, activations kept for backward, residual stream) per regime:
# "amp_bf16" is bf16 autocast over FP32 weights (the trainer's train.precision=bf16), "bf16" a model cast to bf16.
MEMORY_REGIMES = {
    "fp32": (4, 4, 4, 4),
    "amp_bf16": (4, 4, 2, 4),
    "bf16": (2, 2, 2, 2),
}


def training_memory_bytes(config: LlamaConfig, seq_len: int, batch_size: int, regime: str) -> dict[str, float]:
    """Estimated peak bytes of one training step (AdamW, no activation checkpointing), by component.

    With P parameters, M of them in matmul weights, w/m/a/r bytes per weight, moment, activation and residual
    element (``MEMORY_REGIMES``), N = batch × seq tokens, C hidden, I intermediate, G key/value width, V vocabulary,
    H heads, T = seq, L layers, and n = 4 bytes for an RMSNorm input held in FP32 (``fp32_rmsnorm`` or an FP32
    residual stream), else r:
    - weights w·P, gradients w·P, AdamW moments 2·m·P; under ``amp_bf16`` also the bf16 weight copies autocast
      keeps for the backward, 2·M;
    - activations, per layer and token, what autograd saves: each RMSNorm's input and normalised output,
      2·(n + r)·C; the matmul inputs, 5·a·C under autocast (q, k, v, gate and up each cast their own copy), else
      2·a·C; rotated q, k and v, a·C + 2·a·G; the attention output and the o_proj input, 2·a·C; SwiGLU's gate,
      silu, up and product, 4·a·I; with the ``eager`` backend also the probabilities, H·T·(4 + a) when they are
      normalised in FP32 (``fp32_softmax``, or CUDA autocast's FP32 softmax), else H·T·a;
    - the loss head, per token: the final norm and the lm_head input, (n + r + a)·C, the logits, their FP32 copy
      and the FP32 log-probabilities, (a + 8)·V, all alive at the loss.
    It leaves out allocator fragmentation, kernel workspaces and transient temporaries.
    """
    if regime not in MEMORY_REGIMES:
        raise ValueError(f"regime={regime!r}: choose one of {sorted(MEMORY_REGIMES)}")
    weight, moment, activation, residual = MEMORY_REGIMES[regime]
    autocast = regime == "amp_bf16"
    parameters = count_parameters(config, include_embeddings=True)
    norm_parameters = (2 * config.num_hidden_layers + 1) * config.hidden_size
    matmul_parameters = count_parameters(config, include_embeddings=False) - norm_parameters + (
        config.vocab_size * config.hidden_size  # lm_head
    )
    hidden, inter, kv_width = config.hidden_size, config.intermediate_size, config.kv_heads * config.head_dim
    norm_input = 4 if config.fp32_rmsnorm or residual == 4 else residual
    per_token_layer = 2 * (norm_input + residual) * hidden + activation * (
        (5 if autocast else 2) * hidden + 3 * hidden + 2 * kv_width + 4 * inter
    )
    if config.attn_backend == "eager":
        probability_bytes = 4 + activation if config.fp32_softmax or autocast else activation
        per_token_layer += probability_bytes * config.num_attention_heads * seq_len
    tokens = batch_size * seq_len
    return {
        "weights": float(weight * parameters),
        "gradients": float(weight * parameters),
        "adamw_moments": float(2 * moment * parameters),
        "autocast_weight_copies": float(2 * matmul_parameters if autocast else 0),
        "activations": float(tokens * config.num_hidden_layers * per_token_layer),
        "loss_head": float(
            tokens * ((norm_input + residual + activation) * hidden + (activation + 8) * config.vocab_size)
        ),
    }


def device_peak_flops(device: str, dtype: str = "bf16") -> float:
    """Peak FLOP/s MFU is measured against: a datasheet figure on known GPUs, a cached GEMM calibration on CPU.

    A CPU has no honest datasheet peak, so its "peak" is what a large GEMM reaches here with the current number
    of threads; CPU MFU then says how close the model's small matmuls come to the machine's best.
    """
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device)).lower()
        for key, peak in GPU_PEAK_FLOPS.items():
            if key in name:
                return peak if dtype == "bf16" else peak / 2
        return float("nan")
    threads = torch.get_num_threads()
    torch_dtype = torch.bfloat16 if dtype == "bf16" else torch.float32
    cache_file = cache_dir("calibration") / f"cpu_gemm_{dtype}_{threads}threads.json"
    if cache_file.exists():
        return float(json.loads(cache_file.read_text())["peak_flops"])
    peak = measure_gemm_flops(torch_dtype)
    atomic_write_json(cache_file, {"peak_flops": peak, "threads": threads, "size": CALIBRATION_SIZE})
    return peak
