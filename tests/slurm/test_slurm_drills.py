"""Preemption and time-limit drills on the local Slurm cluster: an interrupted job resumes bit for bit.

Three copies of one tiny run start together: an uninterrupted reference (a local process), a Slurm job that
``scontrol requeue`` interrupts, and a Slurm job that reaches its time limit. Each Slurm job is frozen (SIGSTOP)
a few steps in, so it cannot finish before its interruption however fast the machine is; Slurm's own signals
then wake it (SIGCONT before SIGTERM on a requeue, and before the warning signal at the time limit). Both interrupted runs must log the reference's losses exactly (fp32 on CPU) and continue one
wandb run (offline).
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from slurm_jobs import (
    TRAINER,
    SlurmControl,
    finish,
    loss_records,
    start_sweep,
    wait_until,
    wandb_runs,
)

from ziya2lab.common.paths import repo_root
from ziya2lab.common.run_dir import RunDir

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

STEPS = 120
FREEZE_AFTER_STEPS = 5
DRILL_RUN = ["model=llama_100k", "tokenizer.vocab_size=400", "tokenizer.max_train_chars=60000", "train.seq_len=64",
             "train.batch_size=8", f"train.max_steps={STEPS}", "train.log_every_steps=1", "train.eval_every_steps=60",
             "train.ckpt_every_steps=1000", "train.keep_checkpoints=1", "train.threads=1", "data.eval_max_windows=2",
             "logger=wandb"]
# Ten minutes, and the warning 90 s before the end: nothing happens until the drill shortens the limit.
TIME_LIMIT_LAUNCHER = ["hydra.launcher.timeout_min=10", "hydra.launcher.signal_delay_s=90"]
SLURM_WAIT_S = 300


@dataclass
class Drill:
    sweep: Path
    job: str
    output: str
    returncode: int

    @property
    def run(self) -> Path:
        return self.sweep / "0"

    def submitit_log(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in (self.sweep / ".submitit").rglob("*_log.*"))


def _frozen_mid_run(slurm: SlurmControl, sweep: Path) -> str:
    job = slurm.job_of(sweep)
    wait_until(lambda: len(RunDir(sweep / "0").read_metrics()) >= FREEZE_AFTER_STEPS, SLURM_WAIT_S,
               f"job {job} to train {FREEZE_AFTER_STEPS} steps")
    slurm.freeze(job)
    return job


def _requeue(slurm: SlurmControl, sweep: Path) -> str:
    job = _frozen_mid_run(slurm, sweep)
    slurm.requeue(job)  # Slurm sends SIGCONT and SIGTERM (SIGKILL 5 s later), and queues the job again
    return job


def _reach_time_limit(slurm: SlurmControl, sweep: Path) -> str:
    job = _frozen_mid_run(slurm, sweep)
    # End the job 1-2 minutes from now: within 90 s + the 30 s between Slurm's time-limit checks, so the next
    # check sends the warning (with a SIGCONT, which wakes the frozen job).
    slurm.set_time_limit(job, slurm.elapsed_s(job) // 60 + 2)
    wait_until(lambda: "REQUEUED" in slurm.states(job), SLURM_WAIT_S, f"the warning, and submitit to requeue job {job}")
    slurm.set_time_limit(job, 10)  # the next instance would keep the shortened limit and be warned at once
    return job


@pytest.fixture(scope="module")
def drills(slurm: SlurmControl, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Drill | Path]:
    root = tmp_path_factory.mktemp("drills")
    reference = root / "reference"
    with open(root / "reference.log", "w") as log:
        processes = {"reference": subprocess.Popen([*TRAINER, f"hydra.run.dir={reference}", *DRILL_RUN], stdout=log,
                                                   stderr=subprocess.STDOUT, cwd=repo_root())}
    processes["requeue"] = start_sweep(root / "requeue", "slurm_local", DRILL_RUN, "requeue")
    processes["time_limit"] = start_sweep(root / "time_limit", "slurm_local", [*DRILL_RUN, *TIME_LIMIT_LAUNCHER],
                                          "time-limit")
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            requeued = pool.submit(_requeue, slurm, root / "requeue")
            timed_out = pool.submit(_reach_time_limit, slurm, root / "time_limit")
            jobs = {"requeue": requeued.result(), "time_limit": timed_out.result()}
        outputs = {name: finish(process, root / f"{name}.log") for name, process in processes.items()}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    assert processes["reference"].returncode == 0, outputs["reference"][-3000:]
    assert RunDir(reference).read_summary().resumed_from is None
    drills: dict[str, Drill | Path] = {"reference": reference}
    for name, job in jobs.items():
        drills[name] = Drill(root / name, job, outputs[name], processes[name].returncode)
    return drills


def _assert_resumed_bitwise(drill: Drill, reference: Path) -> None:
    assert drill.returncode == 0, drill.output[-3000:]
    summary = RunDir(drill.run).read_summary()
    assert summary.status == "completed" and summary.steps == STEPS
    assert summary.resumed_from is not None, "the job was interrupted and resumed from its checkpoint"
    resumed_at = int(Path(summary.resumed_from).name.removeprefix("step_"))
    assert FREEZE_AFTER_STEPS <= resumed_at < STEPS, f"checkpoint {summary.resumed_from} is not mid-run"
    assert loss_records(drill.run) == loss_records(reference), "every logged loss equals the uninterrupted run's"
    run_id = RunDir(drill.run).wandb_id.read_text().strip()
    assert len(wandb_runs(drill.run)) == 2 and all(name.endswith(f"-{run_id}") for name in wandb_runs(drill.run))


def test_a_requeued_job_resumes_from_its_checkpoint_bitwise(slurm: SlurmControl, drills: dict) -> None:
    drill: Drill = drills["requeue"]
    _assert_resumed_bitwise(drill, drills["reference"])
    assert slurm.wait_ended(drill.job) == ["REQUEUED", "COMPLETED"]


def test_a_job_at_its_time_limit_checkpoints_and_submitit_requeues_it(slurm: SlurmControl, drills: dict) -> None:
    drill: Drill = drills["time_limit"]
    _assert_resumed_bitwise(drill, drills["reference"])
    assert slurm.wait_ended(drill.job) == ["REQUEUED", "COMPLETED"]
    log = drill.submitit_log()
    assert "time-limit warning (SIGUSR2)" in log, "the trainer was stopped by the warning, not killed"
    assert "this job is timed-out" in log and f"Requeued job {drill.job}" in log, "submitit requeued it"
