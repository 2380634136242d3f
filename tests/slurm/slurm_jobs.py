"""Helpers of the Slurm tests: trainer sweeps as subprocesses, and the levers the drills pull on a running job."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ziya2lab.common.paths import repo_root
from ziya2lab.common.run_dir import RunDir

JOB_PREFIX = "slurmtest-"  # every job the tests submit is named so; the session cancels what is left of them
COMMAND_TIMEOUT_S = 30
PROCESS_TIMEOUT_S = 600  # a sweep that has not ended by then is a hang, and fails the test
TRAINER = [sys.executable, "-m", "ziya2lab.train"]
UNFINISHED_STATES = {"PENDING", "RUNNING", "REQUEUED", "COMPLETING", "SUSPENDED"}


def run_command(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=COMMAND_TIMEOUT_S).stdout


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(poll_s)


def start_sweep(sweep_dir: Path, launcher: str, overrides: Sequence[str], job_name: str | None = None,
                log: Path | None = None) -> subprocess.Popen:
    """``python -m ziya2lab.train -m hydra/launcher=<launcher> ...`` in the background, its output in ``log``."""
    command = [*TRAINER, "--multirun", f"hydra/launcher={launcher}", f"hydra.sweep.dir={sweep_dir}", *overrides]
    if job_name is not None:
        command.append(f"hydra.launcher.name={JOB_PREFIX}{job_name}")
    log = log or sweep_dir.with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as handle:
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=repo_root())


def finish(process: subprocess.Popen, log: Path) -> str:
    """Wait for a background process (never longer than PROCESS_TIMEOUT_S) and return its output."""
    try:
        process.wait(timeout=PROCESS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return log.read_text(errors="replace")


def loss_records(run: Path) -> list[tuple]:
    """(step, train loss, held-out losses) of every metrics record: what must not depend on how the run went."""
    return [(record["step"], record["loss"], tuple(sorted((key, value) for key, value in record.items()
                                                          if key.startswith("eval/"))))
            for record in RunDir(run).read_metrics()]


def wandb_runs(run: Path) -> list[str]:
    """The offline wandb runs in a run directory (one per process that trained it), by directory name."""
    return sorted(path.name for path in (run / "wandb").glob("offline-run-*"))


class SlurmControl:
    """What the drills do to a job, with Slurm's own commands. Job ids are strings (``12`` or ``12_0``)."""

    @staticmethod
    def job_of(directory: Path, timeout_s: float = 120) -> str:
        """The id of the one Slurm job of a one-job sweep (or a study run): the name of its submitit folder."""
        folder = directory / ".submitit"
        wait_until(lambda: folder.is_dir() and any(path.is_dir() for path in folder.iterdir()), timeout_s,
                   f"a job folder in {folder}")
        (job,) = [path.name for path in folder.iterdir() if path.is_dir()]
        return job

    @staticmethod
    def freeze(job: str) -> None:
        """SIGSTOP every process of the job's steps, so it cannot finish before the drill's signal arrives."""
        run_command("scancel", "--signal=STOP", job)

    @staticmethod
    def requeue(job: str) -> None:
        run_command("scontrol", "requeue", job)

    @staticmethod
    def cancel(job: str) -> None:
        run_command("scancel", job)

    @staticmethod
    def set_time_limit(job: str, minutes: int) -> None:
        run_command("scontrol", "update", f"JobId={job}", f"TimeLimit={minutes}")

    @staticmethod
    def elapsed_s(job: str) -> int:
        """Seconds the job has run so far (squeue's [hours:]minutes:seconds)."""
        fields = run_command("squeue", "--noheader", f"--jobs={job}", "--format=%M").strip().split(":")
        return sum(int(value) * 60**power for power, value in enumerate(reversed(fields)))

    @staticmethod
    def states(job: str) -> list[str]:
        """The state of every instance of the job in Slurm's accounting (a requeue starts a new one), oldest first."""
        output = run_command("sacct", "--noheader", "--parsable2", "--duplicates", "--allocations",
                             f"--jobs={job}", "--format=State")
        return [line.split()[0] for line in output.splitlines() if line.strip()]

    @classmethod
    def wait_ended(cls, job: str) -> list[str]:
        """The job's states once its last instance has ended (the result arrives before Slurm records the end)."""
        wait_until(lambda: cls.states(job)[-1] not in UNFINISHED_STATES, COMMAND_TIMEOUT_S, f"job {job} to end")
        return cls.states(job)

    @staticmethod
    def jobs_named(prefix: str) -> list[str]:
        output = run_command("squeue", "--noheader", "--format=%i %j")
        return [job for job, name in (line.split(maxsplit=1) for line in output.splitlines()) if name.startswith(prefix)]
