"""A prepared GPU check (issue 19 §3): one run of a few minutes on whatever CUDA device is lent, one JSON line last.

    PYTHONPATH=. python3 benchmarks/gpu_check.py --out gpu_check.json     # on a CUDA machine, ≤ ~4 min on an H200
    .venv/bin/python benchmarks/gpu_check.py --device cpu --tiny          # CPU smoke run of every section (tests)

It measures, on a ~1B-parameter LLaMA (``MODEL_1B``: 18 layers, hidden 2,048, 1.04B parameters) at seq 2,048:
- ``gemm``: the achieved bf16 GEMM rate (8192³), MFU's second denominator next to the datasheet peak of
  ``ziya2lab.model.accounting`` (``device_peak_flops``);
- ``rope_error``: FP32 against bf16 RoPE error at positions 4,096 and 32,768, computed on the device by
  ``ziya2lab.model.rope_precision.rotation_error_by_position`` (the function the CPU experiment uses);
- ``train_amp``: training steps (AdamW, clip 1.0) under bf16 autocast over FP32 weights — the trainer's
  ``train.precision=bf16`` — with sdpa attention: step time, tokens/s, MFU against both denominators, peak memory
  (``torch.cuda.max_memory_allocated``) against ``accounting.training_memory_bytes``; and the same with all three
  FP32 fixes off;
- ``fp32_fixes``: the per-step cost of FP32 RoPE, RMSNorm and softmax against plain bf16, each switched off alone,
  in a model cast to bf16 (under autocast the residual stream is FP32 and autocast itself runs pow/rsqrt/softmax in
  FP32, so only the RoPE flag changes the arithmetic there); softmax is timed with the ``eager`` attention backend
  (sdpa kernels accumulate in FP32 whatever the flag says), at half the batch;
- ``xformers``: the ``train_amp`` step with ``attn_backend=xformers``, when xformers is installed;
- ``compile``: the ``train_amp`` step with every ``LlamaBlock`` compiled (``torch.compile``, one graph shared by
  the blocks) against eager, with the first-step (compile) time and both first losses;
- ``compiled_fixes``: all three FP32 fixes on against off with the blocks compiled, under autocast and in the
  bf16-cast model (eager PyTorch runs each fix as separate elementwise kernels; a compiler can fuse them).

Each section runs under its own time cap (SIGALRM) inside ``--budget-s``; after each, the results so far are written
to ``--out``, so a run cut short still leaves data. A section that fails records its error and the run goes on.
It imports only torch, the standard library and ``ziya2lab.model`` / ``ziya2lab.common`` (no Hydra, pandas or
transformers), so it runs on a bare machine with ``PYTHONPATH=.``. Without CUDA it says so, prints
``{"cuda": false, ...}`` and exits 0.
"""

from __future__ import annotations

import time

STARTED = time.monotonic()  # before importing torch: the budget covers the whole process

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from ziya2lab.common.atomic import atomic_write_json  # noqa: E402
from ziya2lab.model.accounting import (  # noqa: E402
    count_parameters,
    device_peak_flops,
    flops_per_token,
    measure_gemm_flops,
    training_memory_bytes,
)
from ziya2lab.model.llama import Llama, LlamaConfig  # noqa: E402
from ziya2lab.model.rope_precision import rotation_error_by_position  # noqa: E402

# ~1B LLaMA: LLaMA-2's shapes (head dim 128, SwiGLU 2.69×) at 18 layers × 2,048; 0.91B non-embedding, 1.04B total.
MODEL_1B = LlamaConfig(
    vocab_size=32000,
    hidden_size=2048,
    intermediate_size=5504,
    num_hidden_layers=18,
    num_attention_heads=16,
    num_key_value_heads=16,
    max_position_embeddings=4096,
)
TINY_MODEL = LlamaConfig(
    vocab_size=256,
    hidden_size=64,
    intermediate_size=172,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    max_position_embeddings=256,
)
# Section caps in seconds (each also limited by what is left of --budget-s); the last gets whatever remains.
SECTION_CAPS = {
    "gemm": 20, "rope_error": 30, "train_amp": 60, "fp32_fixes": 90, "xformers": 30, "compile": 150,
    "compiled_fixes": 600,
}
SECTION_MINIMUM_S = {"compile": 30, "compiled_fixes": 40}  # below this much time left a section is skipped, not started
RESERVE_S = 5  # kept back at the end for writing the results
MAX_FIX_COST = 0.05  # the bar: the FP32 fixes may cost at most 5% of a step
LR = 1e-4


class SectionTimeout(Exception):
    """Raised by SIGALRM when a section runs past its cap."""


@dataclass(frozen=True)
class Setup:
    """What every section shares: the device, the model, the batch shape and the MFU denominators."""

    device: str
    config: LlamaConfig
    seq_len: int
    batch: int
    warmup_steps: int
    timed_steps: int
    gemm_size: int
    rope_positions: tuple[int, ...]
    rope_heads: int
    compile_backend: str
    compile_mode: str

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")


@dataclass(frozen=True)
class Variant:
    """One training-step configuration: the precision regime, attention backend, the three FP32 flags."""

    regime: str  # "amp_bf16": autocast over FP32 weights (the trainer's bf16); "bf16": the model cast to bf16
    attn_backend: str = "sdpa"
    fp32_rope: bool = True
    fp32_rmsnorm: bool = True
    fp32_softmax: bool = True
    batch_divisor: int = 1
    compiled: bool = False


ALL_FIXES_OFF = {"fp32_rope": False, "fp32_rmsnorm": False, "fp32_softmax": False}  # plain bf16


# ---------------------------------------------------------------------------------------------------- timing


def synchronize(setup: Setup) -> None:
    if setup.cuda:
        torch.cuda.synchronize()


def time_calls(setup: Setup, call: Callable[[], object], repeats: int) -> list[float]:
    """Seconds per call: CUDA events on a GPU (device time, synchronised per call), wall clock on CPU."""
    seconds = []
    for _ in range(repeats):
        if setup.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            call()
            end.record()
            end.synchronize()
            seconds.append(start.elapsed_time(end) / 1000.0)
        else:
            begin = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - begin)
    return seconds


def free_memory(setup: Setup) -> None:
    gc.collect()
    if setup.cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


# ---------------------------------------------------------------------------------------------------- training


def build_model(setup: Setup, variant: Variant) -> tuple[Llama, torch.optim.Optimizer, LlamaConfig]:
    config = replace(
        setup.config,
        attn_backend=variant.attn_backend,
        fp32_rope=variant.fp32_rope,
        fp32_rmsnorm=variant.fp32_rmsnorm,
        fp32_softmax=variant.fp32_softmax,
    )
    torch.manual_seed(0)
    with torch.device(setup.device):
        model = Llama(config)
    if variant.regime == "bf16":
        model.to(torch.bfloat16)
    model.train()
    if variant.compiled:
        for block in model.layers:
            block.compile(backend=setup.compile_backend, mode=setup.compile_mode)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=LR, betas=(0.9, 0.95), weight_decay=0.1, fused=setup.cuda, foreach=not setup.cuda
    )
    return model, optimizer, config


def make_step(setup: Setup, variant: Variant, model: Llama, optimizer: torch.optim.Optimizer, batch: int):
    """One optimisation step on a fixed random batch (the same tokens for every variant); returns the loss tensor."""
    generator = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, setup.config.vocab_size, (batch, setup.seq_len + 1), generator=generator)
    input_ids, targets = tokens[:, :-1].to(setup.device), tokens[:, 1:].to(setup.device)
    device_type = torch.device(setup.device).type

    def step() -> torch.Tensor:
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=variant.regime == "amp_bf16"):
            loss = model(input_ids, targets=targets).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def run_variant(setup: Setup, variant: Variant, gemm_flops: float | None) -> dict:
    """Build, warm up and time one variant; step time, tokens/s, MFU, peak memory against the estimate."""
    free_memory(setup)
    batch = max(1, setup.batch // variant.batch_divisor)
    model, optimizer, config = build_model(setup, variant)
    step = make_step(setup, variant, model, optimizer, batch)
    begin = time.perf_counter()
    first_loss = float(step())  # the first step: allocation, library heuristics, and the compile when compiled
    first_step_s = time.perf_counter() - begin
    for _ in range(setup.warmup_steps):
        step()
    synchronize(setup)
    losses: list[torch.Tensor] = []
    seconds = time_calls(setup, lambda: losses.append(step()), setup.timed_steps)
    step_s = statistics.median(seconds)
    tokens_per_s = batch * setup.seq_len / step_s
    model_flops = flops_per_token(config, setup.seq_len) * tokens_per_s
    datasheet = device_peak_flops(setup.device, "bf16") if setup.cuda else float("nan")
    estimate = training_memory_bytes(config, setup.seq_len, batch, variant.regime)
    peak = torch.cuda.max_memory_allocated() if setup.cuda else None
    result = {
        "batch": batch,
        "step_s": step_s,
        "step_s_min": min(seconds),
        "step_s_max": max(seconds),
        "first_step_s": first_step_s,
        "tokens_per_s": tokens_per_s,
        "model_tflops": model_flops / 1e12,
        "mfu_vs_datasheet": finite_or_none(model_flops / datasheet),
        "mfu_vs_measured_gemm": model_flops / gemm_flops if gemm_flops else None,
        "first_loss": first_loss,
        "last_loss": float(losses[-1]),
        "peak_memory_gib": peak / 2**30 if peak is not None else None,
        "estimated_memory_gib": sum(estimate.values()) / 2**30,
        "peak_over_estimate": peak / sum(estimate.values()) if peak is not None else None,
    }
    if not all(math.isfinite(result[key]) for key in ("first_loss", "last_loss")):
        raise FloatingPointError(f"{variant}: non-finite loss {result['first_loss']} / {result['last_loss']}")
    return result  # the model and optimizer go with this frame; the next variant's free_memory returns their memory


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def relative_cost(with_fix: dict, without_fix: dict) -> float:
    """Extra fraction of a step the fix costs: step time with it over step time without it, minus one."""
    return with_fix["step_s"] / without_fix["step_s"] - 1.0


# ---------------------------------------------------------------------------------------------------- sections


# Each section fills ``out`` (its entry in the results) as it goes, so a failure or timeout keeps what it measured.


def section_gemm(setup: Setup, results: dict, out: dict) -> None:
    flops = measure_gemm_flops(torch.bfloat16, setup.gemm_size, repeats=10, device=setup.device)
    datasheet = device_peak_flops(setup.device, "bf16") if setup.cuda else float("nan")
    out.update(
        size=setup.gemm_size,
        bf16_tflops_measured=flops / 1e12,
        bf16_tflops_datasheet=finite_or_none(datasheet / 1e12),
        measured_over_datasheet=finite_or_none(flops / datasheet),
    )


def section_rope_error(setup: Setup, results: dict, out: dict) -> None:
    max_position = max(setup.rope_positions) + 1
    errors = rotation_error_by_position(max_position, heads=setup.rope_heads, device=setup.device)
    by_position = {}
    for position in setup.rope_positions:
        fp32, bf16 = float(errors["fp32_rope"][position]), float(errors["bf16_rope"][position])
        by_position[str(position)] = {"fp32_rope": fp32, "bf16_rope": bf16, "bf16_over_fp32": bf16 / fp32}
    out.update(head_dim=128, heads=setup.rope_heads, mean_abs_error_vs_float64=by_position)


def gemm_rate(results: dict) -> float | None:
    measured = results.get("gemm", {}).get("bf16_tflops_measured")
    return measured * 1e12 if measured else None


def section_train_amp(setup: Setup, results: dict, out: dict) -> None:
    out["regime"] = "bf16 autocast over FP32 weights (the trainer's train.precision=bf16), sdpa"
    out["fp32_fixes_on"] = run_variant(setup, Variant("amp_bf16"), gemm_rate(results))
    out["fp32_fixes_off"] = run_variant(setup, Variant("amp_bf16", **ALL_FIXES_OFF), gemm_rate(results))
    out["cost_all_fixes"] = relative_cost(out["fp32_fixes_on"], out["fp32_fixes_off"])


FIX_VARIANTS = {
    "all_on": Variant("bf16"),
    "rope_off": Variant("bf16", fp32_rope=False),
    "rmsnorm_off": Variant("bf16", fp32_rmsnorm=False),
    "all_off": Variant("bf16", **ALL_FIXES_OFF),
    "eager_softmax_on": Variant("bf16", attn_backend="eager", batch_divisor=2),
    "eager_softmax_off": Variant("bf16", attn_backend="eager", fp32_softmax=False, batch_divisor=2),
}
FIX_COSTS = {  # cost name: (run with the fix, run without it)
    "cost_rope": ("all_on", "rope_off"),
    "cost_rmsnorm": ("all_on", "rmsnorm_off"),
    "cost_all_sdpa": ("all_on", "all_off"),
    "cost_softmax_eager": ("eager_softmax_on", "eager_softmax_off"),
}


def section_fp32_fixes(setup: Setup, results: dict, out: dict) -> None:
    out["regime"] = "bf16 weights and activations (model.to(bfloat16)), no autocast"
    runs = out.setdefault("runs", {})
    for name, variant in FIX_VARIANTS.items():
        runs[name] = run_variant(setup, variant, gemm_rate(results))
    for cost, (with_fix, without_fix) in FIX_COSTS.items():
        out[cost] = relative_cost(runs[with_fix], runs[without_fix])
    out["within_5_percent"] = {cost: out[cost] <= MAX_FIX_COST for cost in FIX_COSTS}


def section_xformers(setup: Setup, results: dict, out: dict) -> None:
    if importlib.util.find_spec("xformers") is None:
        out["status"] = "not installed"
        return
    out["status"] = f"installed {importlib.metadata.version('xformers')}"
    out["run"] = run_variant(setup, Variant("amp_bf16", attn_backend="xformers"), gemm_rate(results))


def section_compile(setup: Setup, results: dict, out: dict) -> None:
    out.update(
        scope="each LlamaBlock (torch.compile); embedding, final norm, lm_head, loss and AdamW eager",
        backend=setup.compile_backend,
        mode=setup.compile_mode,
    )
    eager = results.get("train_amp", {}).get("fp32_fixes_on") or run_variant(setup, Variant("amp_bf16"), None)
    compiled = run_variant(setup, Variant("amp_bf16", compiled=True), gemm_rate(results))
    out.update(
        step_s_eager=eager["step_s"],
        step_s_compiled=compiled["step_s"],
        speedup=eager["step_s"] / compiled["step_s"],
        compile_warmup_s=compiled["first_step_s"] - eager["step_s"],
        first_loss_eager=eager["first_loss"],
        first_loss_compiled=compiled["first_loss"],
        first_loss_rel_diff=abs(compiled["first_loss"] - eager["first_loss"]) / abs(eager["first_loss"]),
        dynamo_unique_graphs=dynamo_unique_graphs(),
        run=compiled,
    )


COMPILED_FIX_VARIANTS = {
    "amp_all_on": Variant("amp_bf16", compiled=True),
    "amp_all_off": Variant("amp_bf16", compiled=True, **ALL_FIXES_OFF),
    "bf16_all_on": Variant("bf16", compiled=True),
    "bf16_all_off": Variant("bf16", compiled=True, **ALL_FIXES_OFF),
}


def section_compiled_fixes(setup: Setup, results: dict, out: dict) -> None:
    """The three FP32 fixes on against off with the blocks compiled, where their elementwise work can be fused."""
    runs = out.setdefault("runs", {})
    for name, variant in COMPILED_FIX_VARIANTS.items():
        reuse = results.get("compile", {}).get("run") if name == "amp_all_on" else None
        runs[name] = reuse or run_variant(setup, variant, gemm_rate(results))
    out["cost_all_amp"] = relative_cost(runs["amp_all_on"], runs["amp_all_off"])
    out["cost_all_bf16_sdpa"] = relative_cost(runs["bf16_all_on"], runs["bf16_all_off"])
    out["within_5_percent"] = {cost: out[cost] <= MAX_FIX_COST for cost in ("cost_all_amp", "cost_all_bf16_sdpa")}


def dynamo_unique_graphs() -> int | None:
    """How many graphs dynamo built (1 when the blocks share one; more means recompiles), from its debug counters."""
    try:
        from torch._dynamo.utils import counters
    except ImportError:
        return None
    return int(counters["stats"]["unique_graphs"])


SECTIONS: dict[str, Callable[[Setup, dict, dict], None]] = {
    "gemm": section_gemm,
    "rope_error": section_rope_error,
    "train_amp": section_train_amp,
    "fp32_fixes": section_fp32_fixes,
    "xformers": section_xformers,
    "compile": section_compile,
    "compiled_fixes": section_compiled_fixes,
}


# ---------------------------------------------------------------------------------------------------- driver


def on_alarm(signum: int, frame: object) -> None:
    raise SectionTimeout("section ran past its time cap")


def run_section(name: str, setup: Setup, results: dict, deadline: float) -> None:
    """Run one section under its cap; record its result, or why it was skipped or failed."""
    cap = min(SECTION_CAPS[name], deadline - time.monotonic() - RESERVE_S)
    if cap < SECTION_MINIMUM_S.get(name, 5):
        results["skipped"][name] = f"{cap:.0f} s left of the budget, too little to start"
        return
    begin = time.monotonic()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, int(cap)))
    results[name] = {}
    try:
        SECTIONS[name](setup, results, results[name])
    except Exception as error:  # a failed section must not lose the others
        timed_out = time.monotonic() - begin >= cap - 1
        results["errors"][name] = ("timed out: " if timed_out else "") + f"{type(error).__name__}: {error}"[:2000]
    finally:
        signal.alarm(0)
    free_memory(setup)  # after the except clause, so a failed variant's tensors are no longer referenced
    results["section_s"][name] = round(time.monotonic() - begin, 1)


def describe_environment(setup: Setup) -> dict:
    environment = {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "device": setup.device,
        "xformers": "not installed"
        if importlib.util.find_spec("xformers") is None
        else importlib.metadata.version("xformers"),
    }
    if setup.cuda:
        properties = torch.cuda.get_device_properties(torch.device(setup.device))
        environment.update(
            device_name=properties.name,
            cuda_runtime=torch.version.cuda,
            capability=f"{properties.major}.{properties.minor}",
            memory_gib=properties.total_memory / 2**30,
            multiprocessors=properties.multi_processor_count,
        )
    return environment


def describe_model(setup: Setup) -> dict:
    return {
        "hidden_size": setup.config.hidden_size,
        "intermediate_size": setup.config.intermediate_size,
        "layers": setup.config.num_hidden_layers,
        "heads": setup.config.num_attention_heads,
        "vocab_size": setup.config.vocab_size,
        "parameters": count_parameters(setup.config, include_embeddings=True),
        "parameters_non_embedding": count_parameters(setup.config, include_embeddings=False),
        "seq_len": setup.seq_len,
        "batch": setup.batch,
        "flops_per_token": flops_per_token(setup.config, setup.seq_len),
        "mfu_flops": "6 x (non-embedding + lm_head parameters) + 6 x layers x seq x hidden per token (accounting.py)",
    }


def headline(results: dict) -> dict:
    """The figures a reader wants first, lifted from the sections (None where a section did not finish)."""
    amp = results.get("train_amp", {}).get("fp32_fixes_on", {})
    fixes = results.get("fp32_fixes", {})
    rope = results.get("rope_error", {}).get("mean_abs_error_vs_float64", {})
    return {
        "mfu_vs_datasheet_amp_sdpa": amp.get("mfu_vs_datasheet"),
        "mfu_vs_measured_gemm_amp_sdpa": amp.get("mfu_vs_measured_gemm"),
        "tokens_per_s_amp_sdpa": amp.get("tokens_per_s"),
        "peak_memory_gib_amp": amp.get("peak_memory_gib"),
        "peak_over_estimate_amp": amp.get("peak_over_estimate"),
        "cost_all_fixes_amp": results.get("train_amp", {}).get("cost_all_fixes"),
        "cost_all_fixes_bf16_sdpa": fixes.get("cost_all_sdpa"),
        "cost_softmax_bf16_eager": fixes.get("cost_softmax_eager"),
        "rope_bf16_over_fp32": {position: values["bf16_over_fp32"] for position, values in rope.items()},
        "compile_speedup": results.get("compile", {}).get("speedup"),
        "cost_all_fixes_amp_compiled": results.get("compiled_fixes", {}).get("cost_all_amp"),
        "cost_all_fixes_bf16_sdpa_compiled": results.get("compiled_fixes", {}).get("cost_all_bf16_sdpa"),
    }


def build_setup(args: argparse.Namespace) -> Setup:
    if args.tiny:
        return Setup(args.device, TINY_MODEL, 64, 2, 1, 2, 256, (64, 255), 2, args.compile_backend, args.compile_mode)
    positions = tuple(int(position) for position in args.rope_positions.split(","))
    return Setup(
        args.device, MODEL_1B, args.seq_len, args.batch, args.warmup_steps, args.timed_steps, 8192, positions, 8,
        args.compile_backend, args.compile_mode,
    )


def emit(results: dict, out: Path | None) -> None:
    if out is not None:
        atomic_write_json(out, results)
    print(json.dumps(results), flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="JSON file, rewritten after every section")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu (smoke runs only)")
    parser.add_argument("--tiny", action="store_true", help="a toy model and batch: checks the code, measures nothing")
    parser.add_argument("--budget-s", type=float, default=240.0, help="wall seconds for the whole process")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {list(SECTIONS)}")
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--warmup-steps", type=int, default=2)
    parser.add_argument("--timed-steps", type=int, default=6)
    parser.add_argument("--rope-positions", default="4096,32768")
    parser.add_argument("--compile-backend", default="inductor")
    parser.add_argument("--compile-mode", default="default")
    args = parser.parse_args(argv)
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"--sections: unknown {sorted(unknown)}; choose from {list(SECTIONS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    deadline = STARTED + args.budget_s
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here (torch.cuda.is_available() is False); nothing measured.", file=sys.stderr)
        emit({"cuda": False, "torch": torch.__version__, "message": "no CUDA device; nothing measured"}, args.out)
        return 0
    setup = build_setup(args)
    results: dict = {
        "cuda": setup.cuda,
        "tiny": args.tiny,
        "complete": False,
        "environment": describe_environment(setup),
        "model": describe_model(setup),
        "skipped": {},
        "errors": {},
        "section_s": {},
    }
    for name in args.sections.split(","):
        run_section(name, setup, results, deadline)
        results["elapsed_s"] = round(time.monotonic() - STARTED, 1)
        if args.out is not None:
            atomic_write_json(args.out, results)
    results["complete"] = not results["skipped"] and not results["errors"]
    results["headline"] = headline(results)
    emit(results, args.out)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # do not wait on compile worker pools at interpreter shutdown
