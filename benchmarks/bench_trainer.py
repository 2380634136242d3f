"""ziya2lab's training step, eager and compiled, against ``transformers.LlamaForCausalLM`` in a plain AdamW loop.

    .venv/bin/python benchmarks/bench_trainer.py [--presets llama_100k,llama_300k,llama_1m,llama_25m] [--rounds 4]
                                                 [--threads 2] [--precision fp32] [--no-break-even] [--profile]

For every preset, three sides train the same model (the ``conf/model`` preset, vocabulary from the project's small
BPE) on the same batches (real tokens: the trainer's own default-corpus mixture, step ``s`` of every side gets
global batch ``s``), from the same initial weights, with the same batch, precision, AdamW settings (β=(0.9, 0.95),
weight decay 0.1, clip 1.0) and thread count:

- ziya2lab eager and ziya2lab compiled: the trainer itself (``Trainer`` built from the composed Hydra config with
  ``train.compile=false`` / ``true``) running its one-optimisation-step method ``Trainer.update`` (batch sampling,
  forward, backward, clipping, guard, AdamW);
- Hugging Face: ``LlamaForCausalLM`` (``sdpa``) loaded with ziya2lab's initial weights, fed the same collated batch,
  cross-entropy on the same aligned targets, ``clip_grad_norm_``, ``torch.optim.AdamW``.

The study's sizes run at its shape (seq 128 × batch 16, vocabulary 2,048); ``llama_25m`` keeps the earlier
benchmark's shape (seq 512 × batch 4, vocabulary 4,096). After one warm-up step each (the compiled side's includes
its compile), every round times a square GEMM probe in the training dtype (the CPU's measured peak right now) and
one step of each side, rotating which side goes first. tokens/s are over all timed steps of a side; MFU is a side's
FLOP/s (``ziya2lab.model.accounting.flops_per_token``) over the best GEMM probe of the run. The first-step losses
must agree (eager against HF within 1e-3, compiled against eager within a relative 1e-5), which checks that all
three compute the same thing.

Break-even (unless ``--no-break-even``): a compile is paid once per process, and every study run is its own process,
so the warm-up is measured the way a run pays it, in fresh processes: one with an empty inductor cache (the first
run of a sweep) and one with the cache it left (every later run). Warm-up = first compiled step − a steady one;
break-even tokens = warm-up / (1/eager tokens/s − 1/compiled tokens/s).

``ratio_vs_hf_<preset>`` in the last line is ours at its default setting (``train.compile`` unset: compiled only
when a default-study run's tokens reach ``ziya2lab.train.compiled.BREAK_EVEN_TOKENS``) against HF eager.
``--profile`` adds a torch.profiler table of one step of each side. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
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
from ziya2lab.train.compiled import INDUCTOR_CACHE_ENV, should_compile
from ziya2lab.train.loop import Trainer
from ziya2lab.train.tokens import IGNORE_INDEX, collate, global_batch_indices

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
# preset: (seq_len, batch, vocabulary); the study's sizes at its training shape, llama_25m at the earlier shape
PRESET_SHAPES = {
    "llama_100k": (128, 16, 2048),
    "llama_300k": (128, 16, 2048),
    "llama_1m": (128, 16, 2048),
    "llama_25m": (512, 4, 4096),
}
STUDY_RUN_TOKENS = 200_000  # one default-study run (conf/study/default.yaml): what "default setting" is judged at
GEMM_PROBE_SIZE = 2048
LR = 1e-3
FIRST_LOSS_TOLERANCE = 1e-3  # ours against HF: different kernels, same model
COMPILED_LOSS_RTOL = 1e-5  # compiled against eager, fp32
PROBE_STEPS = 6  # steps a break-even probe times after its first (compiling) step


def build_trainer(preset: str, args: argparse.Namespace, run_dir: Path, compiled: bool) -> Trainer:
    seq_len, batch, vocabulary = PRESET_SHAPES[preset]
    overrides = [
        f"model={preset}",
        f"train.seq_len={seq_len}",
        f"train.batch_size={batch}",
        f"tokenizer.vocab_size={vocabulary}",
        f"train.precision={args.precision}",
        f"train.threads={args.threads}",
        f"train.lr={LR}",
        "train.schedule=constant",
        f"train.max_steps={args.rounds + PROBE_STEPS + 2}",
        f"train.compile={str(compiled).lower()}",
        "logger=none",
        f"output_dir={run_dir}",
    ]
    with initialize_config_dir(str(repo_root() / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    trainer = Trainer(OmegaConf.to_object(cfg), resolved)
    trainer.model.train()
    return trainer


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


def timed(function: Callable[[], float]) -> tuple[float, float]:
    """Wall seconds and the result."""
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def profile_table(function: Callable[[], float], rows: int) -> str:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        function()
    return profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def check_first_losses(preset: str, losses: dict[str, float], precision: str) -> None:
    gap_hf = abs(losses["eager"] - losses["hf"])
    gap_compiled = abs(losses["compiled"] - losses["eager"]) / abs(losses["eager"])
    print(f"{preset} step-0 losses: eager {losses['eager']:.6f}, compiled {losses['compiled']:.6f}, "
          f"hf {losses['hf']:.6f}")
    if gap_hf > FIRST_LOSS_TOLERANCE:
        raise SystemExit(f"{preset}: ours and HF differ by {gap_hf:.2e} at step 0: they do not train the same model")
    if gap_compiled > COMPILED_LOSS_RTOL and precision == "fp32":
        raise SystemExit(f"{preset}: compiled and eager differ by a relative {gap_compiled:.2e} at step 0")


def measure_preset(preset: str, args: argparse.Namespace) -> dict:
    """Eager, compiled and HF steps of one preset, side by side; tokens/s, ratios, MFU."""
    with tempfile.TemporaryDirectory(prefix="bench_trainer_") as run_dir:
        eager = build_trainer(preset, args, Path(run_dir) / "eager", compiled=False)
        compiled = build_trainer(preset, args, Path(run_dir) / "compiled", compiled=True)
        hf = HuggingFaceLoop(eager, args.precision)
        config, tokens_per_step = eager.model_config, eager.tokens_per_step
        flops_token = flops_per_token(config, eager.cfg.train.seq_len)
        print(f"\n{preset}: {count_parameters(config, True) / 1e6:.2f}M parameters "
              f"({count_parameters(config, False) / 1e6:.3f}M non-embedding), vocab {config.vocab_size}, seq "
              f"{eager.cfg.train.seq_len}, batch {eager.batch} ({tokens_per_step} tokens/step), {args.precision}, "
              f"{torch.get_num_threads()} threads, {flops_token / 1e6:.2f} MFLOP/token")
        sides: dict[str, Callable[[int], float]] = {
            "eager": lambda s: ours_step(eager, s), "compiled": lambda s: ours_step(compiled, s), "hf": hf.step,
        }
        first = {name: timed(lambda run=run: run(0)) for name, run in sides.items()}
        check_first_losses(preset, {name: loss for name, (_, loss) in first.items()}, args.precision)
        times: dict[str, list[float]] = {name: [] for name in sides}
        peaks = []
        for round_index in range(args.rounds):
            peaks.append(measure_gemm_flops(DTYPES[args.precision], GEMM_PROBE_SIZE, repeats=3))
            names = list(sides)
            for name in names[round_index % 3 :] + names[: round_index % 3]:
                times[name].append(timed(lambda name=name, step=round_index + 1: sides[name](step))[0])
            print(f"  round {round_index + 1}: GEMM {peaks[-1] / 1e9:.1f} GFLOP/s, "
                  + ", ".join(f"{name} {times[name][-1] * 1e3:.1f} ms" for name in sides))
        if args.profile:
            for name, run in sides.items():
                print(f"\n--- torch.profiler, one step of {name} (self CPU time) ---")
                print(profile_table(lambda run=run: run(args.rounds + 1), rows=25))
    tokens_per_s = {name: tokens_per_step * len(values) / sum(values) for name, values in times.items()}
    peak = max(peaks)
    default_compiled = should_compile(None, STUDY_RUN_TOKENS, torch.device("cpu"))
    result = {
        "tokens_per_s": tokens_per_s,
        "mfu": {name: rate * flops_token / peak for name, rate in tokens_per_s.items()},
        "compiled_over_eager": tokens_per_s["compiled"] / tokens_per_s["eager"],
        "eager_over_hf": tokens_per_s["eager"] / tokens_per_s["hf"],
        "compiled_over_hf": tokens_per_s["compiled"] / tokens_per_s["hf"],
        "default_compiled": default_compiled,
        "ratio_vs_hf": tokens_per_s["compiled" if default_compiled else "eager"] / tokens_per_s["hf"],
        "in_process_first_compiled_step_s": first["compiled"][0],
        "gemm_peak_gflops": peak / 1e9,
        "shape": PRESET_SHAPES[preset],
    }
    print(f"  tokens/s eager {tokens_per_s['eager']:.0f}, compiled {tokens_per_s['compiled']:.0f}, hf "
          f"{tokens_per_s['hf']:.0f}; compiled/eager {result['compiled_over_eager']:.3f}, eager/hf "
          f"{result['eager_over_hf']:.3f}, compiled/hf {result['compiled_over_hf']:.3f}; MFU eager "
          f"{result['mfu']['eager']:.1%}, compiled {result['mfu']['compiled']:.1%}")
    return result


def probe_compile_warmup(preset: str, args: argparse.Namespace) -> None:
    """Child process: build a compiled trainer, time its first step and ``PROBE_STEPS`` more; print JSON."""
    with tempfile.TemporaryDirectory(prefix="bench_trainer_probe_") as run_dir:
        trainer = build_trainer(preset, args, Path(run_dir), compiled=True)
        first, _ = timed(lambda: ours_step(trainer, 0))
        steady = [timed(lambda step=step: ours_step(trainer, step))[0] for step in range(1, PROBE_STEPS + 1)]
    print(json.dumps({"first_step_s": first, "steady_step_s": statistics.median(steady)}))


def compile_warmups(preset: str, args: argparse.Namespace) -> dict[str, float]:
    """Per-process compile warm-up with an empty inductor cache, then with the cache that run left."""
    warmups = {}
    with tempfile.TemporaryDirectory(prefix="bench_trainer_inductor_") as cache:
        environment = {**os.environ, INDUCTOR_CACHE_ENV: cache}
        for label in ("cold", "warm"):
            command = [sys.executable, __file__, "--probe", preset, "--threads", str(args.threads),
                       "--precision", args.precision, "--rounds", str(args.rounds)]
            child = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
            if child.returncode != 0:
                raise SystemExit(f"break-even probe for {preset} failed:\n{child.stderr[-3000:]}")
            probe = json.loads(child.stdout.strip().splitlines()[-1])
            warmups[label] = probe["first_step_s"] - probe["steady_step_s"]
    return warmups


def break_even_tokens(warmup_s: float, eager_tokens_per_s: float, compiled_tokens_per_s: float) -> float | None:
    """Tokens after which the compiled run has caught up its warm-up; None when compiling never pays."""
    gain_per_token = 1.0 / eager_tokens_per_s - 1.0 / compiled_tokens_per_s
    return warmup_s / gain_per_token if gain_per_token > 0 else None


def headline(results: dict[str, dict], args: argparse.Namespace) -> dict:
    figures: dict = {"presets": list(results), "threads": args.threads, "precision": args.precision,
                     "rounds": args.rounds}
    for preset, result in results.items():
        figures[f"ratio_vs_hf_{preset}"] = round(result["ratio_vs_hf"], 3)
        figures[f"compiled_over_eager_{preset}"] = round(result["compiled_over_eager"], 3)
        figures[f"compiled_over_hf_{preset}"] = round(result["compiled_over_hf"], 3)
        for side in ("eager", "compiled", "hf"):
            figures[f"tokens_per_s_{side}_{preset}"] = round(result["tokens_per_s"][side], 1)
        figures[f"mfu_eager_{preset}"] = round(result["mfu"]["eager"], 4)
        figures[f"mfu_compiled_{preset}"] = round(result["mfu"]["compiled"], 4)
        for label, seconds in result.get("compile_warmup_s", {}).items():
            figures[f"compile_warmup_s_{label}_{preset}"] = round(seconds, 1)
            tokens = result["break_even_tokens"][label]
            figures[f"break_even_tokens_{label}_{preset}"] = round(tokens) if tokens is not None else None
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default=",".join(PRESET_SHAPES), help=f"comma-separated, of {list(PRESET_SHAPES)}")
    parser.add_argument("--rounds", type=int, default=4, help="timed steps per side, after one warm-up step each")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--no-break-even", action="store_true", help="skip the per-process compile warm-up probes")
    parser.add_argument("--profile", action="store_true", help="print a torch.profiler table of one step each")
    parser.add_argument("--probe", metavar="PRESET", help=argparse.SUPPRESS)  # internal: one break-even probe
    args = parser.parse_args()
    if args.probe:
        probe_compile_warmup(args.probe, args)
        return
    presets = args.presets.split(",")
    unknown = set(presets) - set(PRESET_SHAPES)
    if unknown:
        parser.error(f"--presets: unknown {sorted(unknown)}; choose from {list(PRESET_SHAPES)}")
    results = {}
    for preset in presets:
        results[preset] = measure_preset(preset, args)
        if not args.no_break_even:
            warmups = compile_warmups(preset, args)
            rates = results[preset]["tokens_per_s"]
            results[preset]["compile_warmup_s"] = warmups
            results[preset]["break_even_tokens"] = {
                label: break_even_tokens(seconds, rates["eager"], rates["compiled"]) for label, seconds in warmups.items()
            }
            print(f"  compile warm-up per process: cold cache {warmups['cold']:.1f} s, warm cache "
                  f"{warmups['warm']:.1f} s; break-even tokens {results[preset]['break_even_tokens']}")
    print(json.dumps(headline(results, args)))


if __name__ == "__main__":
    main()
