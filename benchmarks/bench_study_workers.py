"""The study's training grid run two ways on the same cores: 2 workers × 1 thread against 1 worker × 2 threads.

    .venv/bin/python benchmarks/bench_study_workers.py [--models llama_100k,llama_300k,llama_1m] [--seeds 0,1]
                                                       [--max-tokens 200000] [--compile auto] [--layouts 2x1,1x2]

Each layout trains the same runs — every model × seed, on the trainer's packaged default corpus with the study's
vocabulary (2,048) and the study's schedule (``ziya2lab.study.grid.schedule_overrides``: WSD over
``--max-tokens``, cooldown branches at 25% and 50%, one evaluation at the end, four checkpoints) — through the
study's own runner (``ziya2lab.study.runner.run_grid``), one fresh process per run, into a fresh directory. It
reports the grid's wall time, its training FLOP/s (every run's main and branch tokens × ``flops_per_token``, over
the wall time) against the machine's measured fp32 GEMM peak with all cores, and how much of a run's wall time is
spent outside training (process start, imports, config, tokenizer and data set-up). Short untimed runs first fill the caches. ``--compile`` passes
``train.compile`` (auto = the trainer's default) so the same comparison shows what compiling does to the whole
grid. The last line is one JSON object; ``faster_layout`` is the one the runner's default should be.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ziya2lab.common.run_dir import RunDir
from ziya2lab.model.accounting import measure_gemm_flops
from ziya2lab.study.config import GridConfig
from ziya2lab.study.grid import RunSpec, compose_trainer, make_run_id, schedule_overrides, typed_trainer
from ziya2lab.study.runner import run_grid

GEMM_PROBE_SIZE = 2048
WARM_UP_TOKENS = 16 * 2048  # 16 steps of the study's shape
STUDY_SHAPE = ["train.seq_len=128", "train.batch_size=16", "tokenizer.vocab_size=2048"]


def study_specs(args: argparse.Namespace, runs_dir: Path) -> list[RunSpec]:
    """model × seed runs with the study's trainer settings, composed and validated as the study does."""
    settings = [*STUDY_SHAPE, f"train.max_tokens={args.max_tokens}", "train.max_steps=null", "logger=none"]
    if args.compile != "auto":
        settings.append(f"train.compile={args.compile}")
    shared = [*settings, *schedule_overrides(GridConfig(), typed_trainer(compose_trainer(settings), [], runs_dir))]
    specs = []
    for model in args.models.split(","):
        composed = compose_trainer([f"model={model}", *shared])
        for seed in args.seeds.split(","):
            overrides = (f"model={model}", f"seed={seed}", *shared)
            label = f"{model}-s{seed}"
            config = typed_trainer(composed, [f"seed={seed}"], runs_dir / make_run_id(label, overrides))
            specs.append(RunSpec(label, overrides, config))
    return specs


def trained_flops(run: RunDir) -> tuple[float, float]:
    """Training FLOPs of a finished run (main run plus its cooldown branches) and its in-trainer wall seconds."""
    summary = run.read_summary()
    tokens = summary.tokens + sum(branch.cooldown_steps for branch in summary.branches) * summary.tokens_per_step
    return tokens * summary.flops_per_token, summary.wall_time_s


def run_layout(args: argparse.Namespace, workers: int, threads: int, peak_flops: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_study_workers_") as directory:
        runs_dir = Path(directory)
        specs = study_specs(args, runs_dir)
        start = time.perf_counter()
        outcomes = run_grid(specs, runs_dir, workers, threads)
        wall = time.perf_counter() - start
        failed = [outcome for outcome in outcomes if outcome.status != "completed"]
        if failed:
            raise SystemExit(f"{workers}x{threads}: {len(failed)} run(s) failed, e.g.\n" + "\n".join(failed[0].error_tail))
        flops, in_trainer = zip(*(trained_flops(RunDir(outcome.run_dir)) for outcome in outcomes), strict=True)
        outside = [outcome.seconds - seconds for outcome, seconds in zip(outcomes, in_trainer, strict=True)]
    result = {
        "wall_s": wall,
        "runs": len(outcomes),
        "grid_gflops": sum(flops) / wall / 1e9,
        "grid_mfu": sum(flops) / wall / peak_flops,
        "median_run_s": statistics.median(outcome.seconds for outcome in outcomes),
        "median_outside_training_s": statistics.median(outside),
    }
    print(f"{workers} worker(s) x {threads} thread(s): {wall:.1f} s for {len(outcomes)} runs, "
          f"{result['grid_gflops']:.2f} GFLOP/s = {result['grid_mfu']:.1%} of the GEMM peak; median run "
          f"{result['median_run_s']:.1f} s, of which {result['median_outside_training_s']:.1f} s outside training")
    return result


def warm_up_caches(args: argparse.Namespace) -> None:
    """Short untimed runs (one per model), so the tokenizer, token and compile caches are not paid by one layout."""
    warm_up = argparse.Namespace(**{**vars(args), "seeds": "0", "max_tokens": WARM_UP_TOKENS})
    with tempfile.TemporaryDirectory(prefix="bench_study_workers_warm_up_") as directory:
        outcomes = run_grid(study_specs(warm_up, Path(directory)), Path(directory), 1, 1)
    failed = [outcome for outcome in outcomes if outcome.status != "completed"]
    if failed:
        raise SystemExit("a warm-up run failed:\n" + "\n".join(failed[0].error_tail))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="llama_100k,llama_300k,llama_1m")
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds: runs per model")
    parser.add_argument("--max-tokens", type=int, default=200_000, help="per run, as the default study")
    parser.add_argument("--compile", choices=["auto", "true", "false"], default="auto")
    parser.add_argument("--layouts", default="2x1,1x2", help="workers x threads, comma-separated")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    peak = measure_gemm_flops(torch.float32, GEMM_PROBE_SIZE, repeats=3)
    print(f"{cores} cores; fp32 {GEMM_PROBE_SIZE}^3 GEMM peak with {cores} threads: {peak / 1e9:.1f} GFLOP/s")
    warm_up_caches(args)
    results = {}
    for layout in args.layouts.split(","):
        workers, threads = (int(part) for part in layout.split("x"))
        results[layout] = run_layout(args, workers, threads, peak)
    faster = min(results, key=lambda layout: results[layout]["wall_s"])
    figures = {
        "cores": cores,
        "gemm_peak_gflops": round(peak / 1e9, 2),
        "models": args.models,
        "seeds": args.seeds,
        "max_tokens": args.max_tokens,
        "compile": args.compile,
        "faster_layout": faster,
    }
    for layout, result in results.items():
        figures.update({f"{key}_{layout}": round(value, 4) for key, value in result.items()})
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
