"""Run a grid of trainer runs as subprocesses, a few at a time, skipping the ones already finished.

Each run is exactly the command a person would type (``python experiments/train.py hydra.run.dir=... <overrides>``),
written to ``command.txt`` in its run directory, so any point of a study can be re-run, inspected or moved to a
cluster by hand. A run is done when its ``summary.json`` exists (the trainer writes it last, atomically); an
interrupted run resumes from its checkpoint through ``train.resume=auto``. One failed run does not stop the others.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ziya2lab.common.atomic import atomic_write_text
from ziya2lab.common.hashing import hash_config
from ziya2lab.common.paths import repo_root
from ziya2lab.study.collect import SUMMARY_FILE
from ziya2lab.train.metrics import read_jsonl

LOG_FILE = "train.log"
COMMAND_FILE = "command.txt"
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class RunSpec:
    """One trainer run: a readable label, the overrides that define it, and the tokens it will train on."""

    label: str
    overrides: tuple[str, ...]
    planned_tokens: int

    @property
    def run_id(self) -> str:
        """Readable label plus a hash of the overrides, so a changed setting is a new run, never a stale cache hit."""
        return f"{self.label}-{hash_config(list(self.overrides))[:8]}"


@dataclass
class RunOutcome:
    spec: RunSpec
    run_dir: Path
    status: str  # cached | completed | failed
    seconds: float = 0.0
    error_tail: list[str] = field(default_factory=list)


def train_command(spec: RunSpec, run_dir: Path, threads: int) -> list[str]:
    return [
        sys.executable,
        str(repo_root() / "experiments" / "train.py"),
        f"hydra.run.dir={run_dir}",
        "train.resume=auto",
        f"train.threads={threads}",
        *spec.overrides,
    ]


def _run_one(spec: RunSpec, run_dir: Path, threads: int) -> RunOutcome:
    run_dir.mkdir(parents=True, exist_ok=True)
    command = train_command(spec, run_dir, threads)
    atomic_write_text(run_dir / COMMAND_FILE, shlex.join(command) + "\n")
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    with open(run_dir / LOG_FILE, "a") as log_handle:
        process = subprocess.run(command, stdout=log_handle, stderr=subprocess.STDOUT, env=environment, check=False)
    seconds = time.perf_counter() - start
    if process.returncode == 0 and (run_dir / SUMMARY_FILE).exists():
        return RunOutcome(spec, run_dir, "completed", seconds)
    tail = (run_dir / LOG_FILE).read_text(errors="replace").splitlines()[-15:]
    return RunOutcome(spec, run_dir, "failed", seconds, tail)


def _tokens_so_far(run_dir: Path) -> int:
    records = read_jsonl(run_dir / "metrics.jsonl")
    return int(records[-1].get("tokens", 0)) if records else 0


def run_grid(specs: Sequence[RunSpec], runs_dir: Path, workers: int, threads_per_run: int) -> list[RunOutcome]:
    """Run every spec not yet finished under ``runs_dir``, ``workers`` at a time, with a progress bar in tokens."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    if len({spec.run_id for spec in specs}) != len(specs):
        raise ValueError("two runs of the grid have the same label and overrides")
    outcomes: list[RunOutcome] = []
    pending: dict[Future[RunOutcome], RunSpec] = {}
    total_tokens = sum(spec.planned_tokens for spec in specs)
    with (
        ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
        tqdm(total=total_tokens, unit="tok", unit_scale=True, desc="training grid") as bar,
    ):
        finished_tokens = 0
        for spec in specs:
            run_dir = runs_dir / spec.run_id
            if (run_dir / SUMMARY_FILE).exists():
                outcomes.append(RunOutcome(spec, run_dir, "cached"))
                finished_tokens += spec.planned_tokens
            else:
                pending[pool.submit(_run_one, spec, run_dir, threads_per_run)] = spec
        bar.update(finished_tokens)
        while pending:
            time.sleep(POLL_SECONDS)
            for future in [future for future in pending if future.done()]:
                spec = pending.pop(future)
                outcome = future.result()
                outcomes.append(outcome)
                finished_tokens += spec.planned_tokens
                if outcome.status == "failed":
                    tqdm.write(f"run {spec.run_id} failed; see {outcome.run_dir / LOG_FILE}")
            in_flight = sum(min(_tokens_so_far(runs_dir / spec.run_id), spec.planned_tokens) for spec in pending.values())
            bar.n = min(finished_tokens + in_flight, total_tokens)
            bar.set_postfix(done=len(outcomes), left=len(pending), failed=sum(o.status == "failed" for o in outcomes))
            bar.refresh()
    return outcomes
