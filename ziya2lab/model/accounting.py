"""Parameter and FLOP accounting, and the peak FLOP/s that MFU divides by.

Training FLOPs per token are 6 × (non-embedding parameters + the output projection) for the matmuls, plus the
attention score/value products, 6 × layers × T × hidden (Kaplan et al. 2020 / PaLM appendix B counting, causal
attention not halved). The input embedding is a lookup, not a matmul, so it does not count.
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
    dtype: torch.dtype, size: int = CALIBRATION_SIZE, repeats: int = CALIBRATION_REPEATS
) -> float:
    """Best-of-N square GEMM throughput (FLOP/s) on this host with the current thread count."""
    left = torch.randn(size, size, dtype=dtype)
    right = torch.randn(size, size, dtype=dtype)
    left @ right  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        left @ right
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best


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
