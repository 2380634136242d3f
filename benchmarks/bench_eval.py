"""Evaluating one ``llama_1m`` checkpoint on every generated task: ziya2lab.eval against the stock ``lm_eval`` CLI;
with ``--study``, what the study's downstream step costs per run.

    .venv/bin/python benchmarks/bench_eval.py [--checkpoint <final dir>] [--max-length 128] [--threads 2]
                                             [--no-cli]
    .venv/bin/python benchmarks/bench_eval.py --study [--repeats 3] [--threads 2]

The checkpoint is a run's ``final/`` when given, else a ``llama_1m`` (``conf/model/llama_1m.yaml``) at random
initialisation with the trainer's default tokenizer (the small BPE, 4,096 ids), saved as an HF checkpoint:
evaluation costs the same whatever the weights. The tasks are every generated task (tag ``ziya2lab``) at the
default settings, from the held-out test sets in ``$ZIYA2LAB_CACHE/test_sets``. Side by side in one run:

- ``build_tasks_s``: ``build_task_dir`` (a cache hit after the first run ever, reported as ``tasks_cached``);
- ``ours_first_s``: ``evaluate_checkpoint`` the first time in the process (model load, TaskManager without the
  built-in index, datasets' JSON cache), then ``ours_s``: the same again (what a study pays per run);
- ``ours_bpb_s`` / ``ours_mc_s``: the bits-per-byte tasks and the multiple-choice tasks alone;
- ``cli_s``: ``lm_eval --model hf ... --include_path <tasks> --tasks ziya2lab`` in a fresh process (it indexes all
  built-in tasks first), with the same model arguments; its bits_per_byte must equal ours (a correctness check).

The target is ``ours_s`` ≤ 30 s on this 2-core CPU.

``--study``: the default study's downstream step (``study.eval``, ``ziya2lab.eval.config.DownstreamConfig``), per
model preset of its grid, on a random-initialised checkpoint of that preset with the study's vocabulary size and
sequence length (the small BPE of that size): ``study_first_s`` is the first evaluation in the process (task
directory, TaskManager, datasets' cache), ``study_s_per_run_<preset>`` the mean of ``--repeats`` further ones (what
each of the study's runs pays), beside ``all_generated_s_per_run_<largest preset>``, every generated task on the
same checkpoint; ``study_estimate_s`` is the step for the study's planned runs (counted from its plan), the first
call's extra cost included. The target is 60–90 s on the idle 2-core machine.

``load_average`` is recorded: a figure taken while the machine is shared is marked as contended in docs/EVAL.md.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from ziya2lab.common.paths import cache_dir, repo_root
from ziya2lab.eval.config import GENERATED_TAG, GeneratedTasksConfig, HarnessConfig
from ziya2lab.eval.harness import evaluate_checkpoint
from ziya2lab.eval.heldout import load_test_sets
from ziya2lab.eval.tasks import BITS_PER_BYTE, build_task_dir
from ziya2lab.model import Llama, LlamaConfig
from ziya2lab.study.compose import compose_app
from ziya2lab.study.study import plan_study
from ziya2lab.train.config import TokenizerConfig
from ziya2lab.train.datasets import load_tokenizer


def random_checkpoint(directory: Path, preset_name: str = "llama_1m", vocab_size: int | None = None) -> Path:
    """A model preset at random initialisation with the trainer's small BPE (its default size unless
    ``vocab_size``), as an HF checkpoint: evaluation costs the same whatever the weights."""
    tokenizer = load_tokenizer(TokenizerConfig(**({"vocab_size": vocab_size} if vocab_size else {})))
    preset = OmegaConf.to_container(OmegaConf.load(repo_root() / "conf" / "model" / f"{preset_name}.yaml"))
    config = dataclasses.replace(LlamaConfig(**preset), vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                                 eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    Llama(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def run_cli(checkpoint: Path, task_dir: Path, max_length: int, eos: int, output: Path) -> tuple[float, dict]:
    command = [str(Path(sys.executable).parent / "lm_eval"), "--model", "hf", "--model_args",
               f"pretrained={checkpoint},max_length={max_length},prefix_token_id={eos},add_bos_token=False",
               "--include_path", str(task_dir), "--tasks", GENERATED_TAG, "--device", "cpu", "--batch_size", "32",
               "--output_path", str(output)]
    seconds, process = timed(subprocess.run, command, capture_output=True, text=True)
    if process.returncode:
        raise RuntimeError(f"lm_eval failed:\n{process.stderr[-3000:]}")
    return seconds, json.loads(next(output.rglob("results_*.json")).read_text())["results"]


def study_figures(scratch: Path, repeats: int) -> dict:
    """Seconds per run of the default study's downstream step, per model preset, and the step's estimate."""
    cfg = OmegaConf.to_object(compose_app("attribute_scaling", [f"output_dir={scratch / 'study'}"]))
    study = cfg.study
    config = study.eval
    plan = plan_study(cfg)
    runs = collections.Counter(spec.label.split("-", 1)[0] for spec in [*plan.bases, *plan.continuations])
    seq_len = plan.continuations[0].config.train.seq_len
    test_sets = load_test_sets(study.test_sets, cache_dir("test_sets"))
    options = {"harness": dataclasses.replace(config.harness(), max_length=seq_len),
               "generated": config.generated(list(test_sets)), "test_sets": test_sets}
    figures, first_extra = {}, 0.0
    for preset in runs:
        checkpoint = random_checkpoint(scratch / preset, preset, study.tokenizer_vocab_size)
        first_s, record = timed(evaluate_checkpoint, checkpoint, list(config.tasks), **options)
        warm = [timed(evaluate_checkpoint, checkpoint, list(config.tasks), **options)[0] for _ in range(repeats)]
        figures[f"study_s_per_run_{preset}"] = sum(warm) / len(warm)
        if not first_extra:
            figures["study_first_s"] = first_s
            first_extra = first_s - figures[f"study_s_per_run_{preset}"]
    largest = list(runs)[-1]
    figures[f"all_generated_s_per_run_{largest}"] = timed(evaluate_checkpoint, checkpoint, [GENERATED_TAG],
                                                          **options)[0]
    estimate = first_extra + sum(count * figures[f"study_s_per_run_{preset}"] for preset, count in runs.items())
    return {**figures, "study_estimate_s": estimate, "study_runs": dict(runs), "study_tasks": list(config.tasks),
            "items_per_task": {name: result["n"] for name, result in record["tasks"].items()},
            "vocab_size": study.tokenizer_vocab_size, "max_length": seq_len, "target_s": [60, 90]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="a run's final/ (default: a random-init llama_1m)")
    parser.add_argument("--max-length", type=int, default=128, help="the training sequence length (the study's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-cli", action="store_true", help="skip the lm_eval command-line side")
    parser.add_argument("--study", action="store_true", help="the study's downstream step per run instead")
    parser.add_argument("--repeats", type=int, default=3, help="--study: warm evaluations per preset")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if args.study:
        with tempfile.TemporaryDirectory() as scratch:
            figures = study_figures(Path(scratch), args.repeats)
        print(json.dumps({key: round(value, 3) if isinstance(value, float) else value
                          for key, value in figures.items()} | {"threads": args.threads,
                                                                  "load_average": round(os.getloadavg()[0], 2)}))
        return
    generated = GeneratedTasksConfig()
    harness = HarnessConfig(max_length=args.max_length)
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = args.checkpoint or random_checkpoint(Path(scratch) / "llama_1m")
        test_sets = load_test_sets(generated.test_sets, cache_dir("test_sets"))
        tasks_cached = (cache_dir("eval_tasks")).exists() and any(cache_dir("eval_tasks").iterdir())
        build_s, task_dir = timed(build_task_dir, test_sets, generated)
        options = {"harness": harness, "generated": generated, "test_sets": test_sets}
        first_s, _ = timed(evaluate_checkpoint, checkpoint, [GENERATED_TAG], **options)
        ours_s, record = timed(evaluate_checkpoint, checkpoint, [GENERATED_TAG], **options)
        bpb = [name for name, task in task_dir.tasks.items() if task.kind == BITS_PER_BYTE]
        choice = [name for name in task_dir.tasks if name not in bpb]
        bpb_s, _ = timed(evaluate_checkpoint, checkpoint, bpb, **options)
        mc_s, _ = timed(evaluate_checkpoint, checkpoint, choice, **options)
        figures = {"ours_first_s": first_s, "ours_s": ours_s, "ours_bpb_s": bpb_s, "ours_mc_s": mc_s,
                   "build_tasks_s": build_s, "tasks_cached": tasks_cached}
        if not args.no_cli:
            eos = record["harness"]["prefix_token_id"]
            cli_s, cli = run_cli(checkpoint, task_dir.path, args.max_length, eos, Path(scratch) / "cli")
            worst = max(abs(cli[name]["bits_per_byte,none"] / record["tasks"][name]["metrics"]["bits_per_byte"] - 1)
                        for name in bpb)
            figures.update(cli_s=cli_s, cli_vs_ours_bpb_max_rel_diff=worst)
    for name, result in record["tasks"].items():
        print(f"{name:36s} n={result['n']:4d}  " + "  ".join(
            f"{metric}={value:.4f}" for metric, value in result["metrics"].items() if "stderr" not in metric))
    figures = {key: round(value, 3) if isinstance(value, float) and math.isfinite(value) else value
               for key, value in figures.items()}
    print(json.dumps({**figures, "target_s": 30, "tasks": len(record["tasks"]),
                      "documents": sum(result["n"] for result in record["tasks"].values()),
                      "checkpoint": "given" if args.checkpoint else "llama_1m random init",
                      "max_length": args.max_length, "threads": args.threads,
                      "load_average": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
