"""ziya2lab's training step against ``transformers.LlamaForCausalLM`` driven by a plain AdamW loop, in one run.

    .venv/bin/python benchmarks/bench_trainer.py [--model llama_25m] [--seq-len 512] [--batch 4] [--rounds 3]
                                                 [--precision fp32] [--profile]

Both sides train the same model (the ``conf/model`` preset, vocabulary from the project's default small BPE) on the
same batches (real tokens: the trainer's own default-corpus mixture, step ``s`` of both gets global batch ``s``),
from the same initial weights, with the same batch, steps, precision, AdamW settings (β=(0.9, 0.95), weight
decay 0.1, clip 1.0) and thread count.

- ziya2lab: the trainer itself (``Trainer`` from ``ziya2lab.train.loop``, built from the composed Hydra config)
  running its one-optimisation-step method ``Trainer.update`` (batch sampling, forward, backward, clipping,
  guard, AdamW).
- Hugging Face: ``LlamaForCausalLM`` (``sdpa`` attention) loaded with ziya2lab's initial weights, fed the same
  collated batch, loss = cross-entropy on the same aligned targets, ``clip_grad_norm_``, ``torch.optim.AdamW``.

After one warm-up step each, every round times a square GEMM probe in the training dtype (the CPU's measured peak
right now), one ziya2lab step and one HF step, alternating which side goes first. tokens/s are over all timed
steps of a side (their ratio is the headline; the median of per-round ratios is printed too), and MFU is
ziya2lab's FLOP/s (``ziya2lab.model.accounting.flops_per_token``) over the best GEMM probe of the run. The first-step losses of the two
sides must agree (same weights, same batch), which checks that both really compute the same thing.
Process CPU seconds per step are printed next to wall seconds: on a shared host their ratio is the steadier
one. One AdamW step over the model's parameters is timed in both torch implementations (foreach, the trainer's
and HF loop's, against fused), since the optimizer is the largest cost outside the shared matmul/attention
kernels. ``--profile`` adds a torch.profiler table of one step of each side. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
import transformers
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import ziya2lab.train.config  # noqa: F401  (registers train_schema)
from ziya2lab.common.paths import repo_root
from ziya2lab.model.accounting import count_parameters, flops_per_token, measure_gemm_flops
from ziya2lab.train.loop import Trainer
from ziya2lab.train.tokens import IGNORE_INDEX, collate, global_batch_indices

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
GEMM_PROBE_SIZE = 2048
BF16_PROBE_SIZE = 512  # small: without AVX512-BF16/AMX a bf16 GEMM runs on a slow reference path
LR = 1e-3
FIRST_LOSS_TOLERANCE = 1e-3


def build_trainer(args: argparse.Namespace, run_dir: Path) -> Trainer:
    overrides = [
        f"model={args.model}",
        f"train.seq_len={args.seq_len}",
        f"train.batch_size={args.batch}",
        f"train.precision={args.precision}",
        f"train.lr={LR}",
        "train.schedule=constant",
        f"train.max_steps={args.rounds + 1}",
        "logger=none",
        f"output_dir={run_dir}",
    ]
    with initialize_config_dir(str(repo_root() / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    return Trainer(OmegaConf.to_object(cfg), resolved)


class HuggingFaceLoop:
    """What a transformers user writes: LlamaForCausalLM, cross-entropy, clip, AdamW, same batches."""

    def __init__(self, trainer: Trainer, precision: str) -> None:
        ours = trainer.accelerator.unwrap_model(trainer.model)
        config = transformers.LlamaConfig(**ours.config.to_hf_dict())
        config._attn_implementation = "sdpa"
        self.model = transformers.LlamaForCausalLM(config)
        self.model.load_state_dict(ours.hf_state_dict())
        self.model.train()
        train = trainer.cfg.train
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=LR, betas=(train.beta1, train.beta2), eps=train.eps,
            weight_decay=train.weight_decay,
        )
        self.grad_clip = train.grad_clip
        self.trainer = trainer
        self.autocast = precision == "bf16"

    def step(self, step: int) -> float:
        trainer = self.trainer
        arrays = collate([trainer.mixture.sample(index) for index in global_batch_indices(step, trainer.batch, 0, 1)])
        input_ids = torch.from_numpy(arrays["input_ids"])
        targets = torch.from_numpy(arrays["targets"])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
            logits = self.model(input_ids=input_ids).logits
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())


def ours_step(trainer: Trainer, step: int) -> float:
    loss, _, _, _ = trainer.update(step, LR, trainer.guard)
    return loss


def timed(function: Callable[[], float]) -> tuple[float, float, float]:
    """Wall seconds, process CPU seconds (all threads; robust to other jobs on a shared host) and the result."""
    start, start_cpu = time.perf_counter(), time.process_time()
    value = function()
    return time.perf_counter() - start, time.process_time() - start_cpu, value


def optimizer_step_seconds(model: torch.nn.Module, implementation: str, repeats: int = 5) -> float:
    """Best-of-N single-thread CPU time of one AdamW step over ``model``'s parameters (random gradients).

    One thread and CPU time: with two threads on a loaded host a sub-second step measures the other jobs
    (threads spin while their sibling is descheduled), so the two implementations could not be compared.
    """
    parameters = [torch.nn.Parameter(p.detach().clone()) for p in model.parameters()]
    for parameter in parameters:
        parameter.grad = torch.randn_like(parameter)
    optimizer = torch.optim.AdamW(parameters, lr=LR, **{implementation: True})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        optimizer.step()
        best = float("inf")
        for _ in range(repeats):
            start = time.process_time()
            optimizer.step()
            best = min(best, time.process_time() - start)
    finally:
        torch.set_num_threads(threads)
    return best


def profile_table(function: Callable[[], float], rows: int) -> str:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        function()
    return profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="llama_25m", help="a conf/model preset")
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--batch", type=int, default=4, help="sequences per optimisation step")
    parser.add_argument("--rounds", type=int, default=4, help="timed steps per side, after one warm-up step each")
    parser.add_argument("--precision", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--profile", action="store_true", help="print a torch.profiler table of one step each")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_trainer_") as run_dir:
        trainer = build_trainer(args, Path(run_dir))
        trainer.model.train()
        hf = HuggingFaceLoop(trainer, args.precision)
        config = trainer.model_config
        tokens_per_step = trainer.tokens_per_step
        flops_token = flops_per_token(config, args.seq_len)
        print(
            f"model {args.model}: {count_parameters(config, True) / 1e6:.2f}M parameters "
            f"({count_parameters(config, False) / 1e6:.2f}M non-embedding), vocab {config.vocab_size}, "
            f"seq {args.seq_len}, batch {trainer.batch} ({tokens_per_step} tokens/step), {args.precision}, "
            f"{torch.get_num_threads()} threads, {flops_token / 1e6:.1f} MFLOP/token"
        )
        gemm_gflops = {
            "fp32": measure_gemm_flops(torch.float32, BF16_PROBE_SIZE, repeats=2) / 1e9,
            "bf16": measure_gemm_flops(torch.bfloat16, BF16_PROBE_SIZE, repeats=2) / 1e9,
        }
        print(
            f"{BF16_PROBE_SIZE}^3 GEMM: fp32 {gemm_gflops['fp32']:.1f} GFLOP/s, bf16 {gemm_gflops['bf16']:.1f} GFLOP/s "
            f"(CPU capability {torch.backends.cpu.get_cpu_capability()}; bf16 autocast pays only with AVX512-BF16/AMX)"
        )
        sides: dict[str, Callable[[int], float]] = {"ziya2lab": lambda s: ours_step(trainer, s), "hf": hf.step}
        first_losses = {name: timed(lambda run=run: run(0))[2] for name, run in sides.items()}  # warm-up, step 0
        print(f"warm-up step 0 losses: ziya2lab {first_losses['ziya2lab']:.5f}, hf {first_losses['hf']:.5f}")
        gap = abs(first_losses["ziya2lab"] - first_losses["hf"])
        if gap > FIRST_LOSS_TOLERANCE:
            raise SystemExit(f"first-step losses differ by {gap:.2e}: the two sides do not compute the same model")

        times: dict[str, list[float]] = {name: [] for name in sides}
        cpu_times: dict[str, list[float]] = {name: [] for name in sides}
        peaks: list[float] = []
        print(
            f"{'round':>5} {'GEMM GFLOP/s':>13} {'ziya2lab s':>11} {'hf s':>8} {'ratio':>6} "
            f"{'ziya2lab cpu-s':>15} {'hf cpu-s':>9} {'cpu ratio':>9} {'loss ours':>10} {'loss hf':>8}"
        )
        for round_index in range(args.rounds):
            step = round_index + 1
            peak = measure_gemm_flops(DTYPES[args.precision], GEMM_PROBE_SIZE, repeats=3)
            order = list(sides) if round_index % 2 == 0 else list(reversed(sides))
            losses = {}
            for name in order:
                seconds, cpu_seconds, losses[name] = timed(lambda name=name, step=step: sides[name](step))
                times[name].append(seconds)
                cpu_times[name].append(cpu_seconds)
            peaks.append(peak)
            print(
                f"{step:>5} {peak / 1e9:>13.1f} {times['ziya2lab'][-1]:>11.2f} {times['hf'][-1]:>8.2f} "
                f"{times['hf'][-1] / times['ziya2lab'][-1]:>6.2f} {cpu_times['ziya2lab'][-1]:>15.2f} "
                f"{cpu_times['hf'][-1]:>9.2f} {cpu_times['hf'][-1] / cpu_times['ziya2lab'][-1]:>9.2f} "
                f"{losses['ziya2lab']:>10.4f} {losses['hf']:>8.4f}"
            )

        adamw = {kind: optimizer_step_seconds(hf.model, kind) for kind in ("foreach", "fused")}
        print(
            f"AdamW step over the model's parameters (1 thread, CPU time): foreach {adamw['foreach'] * 1e3:.0f} ms, fused "
            f"{adamw['fused'] * 1e3:.0f} ms ({adamw['foreach'] / statistics.median(cpu_times['ziya2lab']):.1%} and "
            f"{adamw['fused'] / statistics.median(cpu_times['ziya2lab']):.1%} of a ziya2lab step's CPU time)"
        )
        if args.profile:
            for name, run in sides.items():
                print(f"\n--- torch.profiler, one step of {name} (self CPU time) ---")
                print(profile_table(lambda run=run: run(args.rounds + 1), rows=25))

    tokens_per_s = {name: tokens_per_step * len(values) / sum(values) for name, values in times.items()}
    ratio = tokens_per_s["ziya2lab"] / tokens_per_s["hf"]
    round_ratio = statistics.median(h / o for h, o in zip(times["hf"], times["ziya2lab"], strict=True))
    cpu_ratio = sum(cpu_times["hf"]) / sum(cpu_times["ziya2lab"])
    peak = max(peaks)
    mfu = tokens_per_s["ziya2lab"] * flops_token / peak
    print(
        f"\ntokens/s  ziya2lab {tokens_per_s['ziya2lab']:.0f}   hf {tokens_per_s['hf']:.0f}   "
        f"ratio {ratio:.3f} (all timed steps; median of per-round ratios {round_ratio:.3f}; CPU-time ratio "
        f"{cpu_ratio:.3f})\n"
        f"ziya2lab {tokens_per_s['ziya2lab'] * flops_token / 1e9:.1f} GFLOP/s against a measured {args.precision} "
        f"GEMM peak of {peak / 1e9:.1f} GFLOP/s ({GEMM_PROBE_SIZE}^3): MFU {mfu:.1%}"
    )
    print(json.dumps({
        "tokens_per_s_ours": round(tokens_per_s["ziya2lab"], 1),
        "tokens_per_s_hf": round(tokens_per_s["hf"], 1),
        "tokens_per_s_ratio": round(ratio, 3),
        "median_round_ratio": round(round_ratio, 3),
        "cpu_time_ratio": round(cpu_ratio, 3),
        "mfu": round(mfu, 4),
        "gemm_peak_gflops": round(peak / 1e9, 2),
        "model": args.model,
        "seq_len": args.seq_len,
        "batch": trainer.batch,
        "precision": args.precision,
        "threads": torch.get_num_threads(),
        "gemm_512_gflops_fp32": round(gemm_gflops["fp32"], 2),
        "gemm_512_gflops_bf16": round(gemm_gflops["bf16"], 2),
        "adamw_step_cpu_ms_foreach": round(adamw["foreach"] * 1e3, 1),
        "adamw_step_cpu_ms_fused": round(adamw["fused"] * 1e3, 1),
    }))


if __name__ == "__main__":
    main()
