"""Run a grid of trainer runs, a few at a time, skipping the ones already finished.

Each run is exactly the command a person would type (``python -m ziya2lab.train hydra.run.dir=... <overrides>``),
written to the run directory's command file, so any point of a study can be re-run, inspected or moved to a
cluster by hand. A run is done when its summary exists (the trainer writes it last, atomically); an interrupted
run resumes from its checkpoint through ``train.resume=auto``. One failed run does not stop the others.

Starting a command is one small function (``Launch``): ``launch_local`` runs it as a subprocess of this machine; a
cluster launcher takes its place without touching the rest.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ziya2lab.common.atomic import atomic_write_text
from ziya2lab.common.run_dir import RunDir
from ziya2lab.study.grid import RunSpec, hydra_quoted

POLL_SECONDS = 2.0
TRAINER_MODULE = "ziya2lab.train"

# Start ``command`` for the run directory ``run`` with ``environment``; return its exit status.
Launch = Callable[[list[str], RunDir, Mapping[str, str]], int]


@dataclass
class RunOutcome:
    spec: RunSpec
    run_dir: Path
    status: str  # cached | completed | failed
    seconds: float = 0.0
    error_tail: list[str] = field(default_factory=list)


def launch_overrides(threads: int) -> list[str]:
    """What every launched run adds to its grid overrides: continue a checkpoint if one exists, and its threads."""
    return ["train.resume=auto", f"train.threads={threads}"]


def train_command(spec: RunSpec, run_dir: Path, threads: int) -> list[str]:
    return [sys.executable, "-m", TRAINER_MODULE, f"hydra.run.dir={hydra_quoted(run_dir)}",
            *launch_overrides(threads), *spec.overrides]


def launch_local(command: list[str], run: RunDir, environment: Mapping[str, str]) -> int:
    """Run ``command`` here, appending its output to the run's log."""
    with open(run.log, "a") as log_handle:
        process = subprocess.run(command, stdout=log_handle, stderr=subprocess.STDOUT, env=dict(environment),
                                 check=False)
    return process.returncode


def _run_one(spec: RunSpec, run: RunDir, threads: int, launch: Launch) -> RunOutcome:
    run.path.mkdir(parents=True, exist_ok=True)
    command = train_command(spec, run.path, threads)
    atomic_write_text(run.command, shlex.join(command) + "\n")
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    returncode = launch(command, run, environment)
    seconds = time.perf_counter() - start
    if returncode == 0 and run.is_done():
        return RunOutcome(spec, run.path, "completed", seconds)
    tail = run.log.read_text(errors="replace").splitlines()[-15:] if run.log.exists() else []
    return RunOutcome(spec, run.path, "failed", seconds, [f"exit status {returncode}", *tail])


def _tokens_so_far(run: RunDir) -> int:
    records = run.read_metrics()
    return int(records[-1].get("tokens", 0)) if records else 0


def run_grid(
    specs: Sequence[RunSpec], runs_dir: Path, workers: int, threads_per_run: int, launch: Launch = launch_local
) -> list[RunOutcome]:
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
            run = RunDir(runs_dir / spec.run_id)
            if run.is_done():
                outcomes.append(RunOutcome(spec, run.path, "cached"))
                finished_tokens += spec.planned_tokens
            else:
                pending[pool.submit(_run_one, spec, run, threads_per_run, launch)] = spec
        bar.update(finished_tokens)
        while pending:
            done, _ = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                spec = pending.pop(future)
                outcome = future.result()
                outcomes.append(outcome)
                finished_tokens += spec.planned_tokens
                if outcome.status == "failed":
                    tqdm.write(f"run {spec.run_id} failed; see {RunDir(outcome.run_dir).log}")
            in_flight = sum(min(_tokens_so_far(RunDir(runs_dir / spec.run_id)), spec.planned_tokens)
                            for spec in pending.values())
            bar.n = min(finished_tokens + in_flight, total_tokens)
            bar.set_postfix(done=len(outcomes), left=len(pending), failed=sum(o.status == "failed" for o in outcomes))
            bar.refresh()
    return outcomes
