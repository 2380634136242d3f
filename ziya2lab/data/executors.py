"""The factory's stages on datatrove's executors: ``LocalPipelineExecutor`` or ``SlurmPipelineExecutor``.

A stage is a list of datatrove pipeline steps and a task count; the executor only decides where the tasks run.
Both executors write the same completion markers and per-task stats under ``logs/<stage>/``, so a run killed on
one resumes on either, and the accounting reads the same files. On Slurm every stage is one job array that
depends on the previous one (``afterok``); the driver waits for the queue to drain and then checks that every
task of every stage completed, so a failed or cancelled job is an error naming its stage and log folder, never a
hang or a silent partial corpus.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor, SlurmPipelineExecutor
from datatrove.executor.base import PipelineExecutor

from ziya2lab.common.hashing import hash_config
from ziya2lab.data.config import ExecutorKind, FactoryConfig, SlurmConfig

log = logging.getLogger(__name__)


@dataclass
class Stage:
    name: str  # its logs are in <output_dir>/logs/<name>
    pipeline: list
    tasks: int


class SlurmStageExecutor(SlurmPipelineExecutor):
    """datatrove's Slurm executor without its extra stats-merging job (the factory reads every task's stats) and
    without ``--partition``/``--mem-per-cpu`` when they are not set, so the cluster's defaults apply."""

    def launch_merge_stats(self) -> None:
        return None

    def get_sbatch_args(self, max_array: int = 1) -> dict:
        arguments = super().get_sbatch_args(max_array)
        if not self.partition:
            arguments.pop("partition")
        if not self.mem_per_cpu_gb:
            arguments.pop("mem-per-cpu")
        return arguments


def _environment_command(config: SlurmConfig) -> str:
    """The shell line that makes this interpreter's environment (ziya2lab, datatrove's launcher) a job's."""
    if config.env_command:
        return config.env_command
    activate = Path(sys.prefix) / "bin" / "activate"
    return f"source {activate}" if activate.exists() else f"export PATH={Path(sys.prefix) / 'bin'}:$PATH"


def _local(stages: list[Stage], config: FactoryConfig, logs: Path) -> list[PipelineExecutor]:
    executors: list[PipelineExecutor] = []
    for stage in stages:
        workers = stage.tasks if config.workers == -1 else min(config.workers, stage.tasks)
        executors.append(LocalPipelineExecutor(pipeline=stage.pipeline, tasks=stage.tasks, workers=workers,
                                               logging_dir=str(logs / stage.name), skip_completed=True,
                                               depends=executors[-1] if executors else None))
    return executors


def _slurm(stages: list[Stage], config: FactoryConfig, logs: Path) -> list[PipelineExecutor]:
    slurm = config.slurm
    run_token = hash_config(str(logs.resolve()))[:8]  # tells this run's jobs from another run's in the queue
    executors: list[PipelineExecutor] = []
    for stage in stages:
        executors.append(SlurmStageExecutor(
            pipeline=stage.pipeline, tasks=stage.tasks, time=slurm.time, partition=slurm.partition,
            cpus_per_task=slurm.cpus_per_task, mem_per_cpu_gb=slurm.mem_per_cpu_gb, workers=config.workers,
            job_name=f"{slurm.job_name}-{stage.name}-{run_token}", qos=slurm.qos,
            env_command=_environment_command(slurm), sbatch_args=dict(slurm.sbatch_args),
            max_array_size=slurm.max_array_size, depends=executors[-1] if executors else None,
            logging_dir=str(logs.resolve() / stage.name), skip_completed=True, requeue_signals=("SIGUSR1",),
        ))
    return executors


def _queued(job_names: list[str]) -> list[tuple[str, str, str]]:
    """(job id, state, reason) of this run's jobs still in the Slurm queue."""
    listing = subprocess.run(["squeue", "--noheader", "--name", ",".join(job_names), "--format", "%i %T %r"],
                             capture_output=True, text=True, check=True).stdout
    return [tuple(line.split(maxsplit=2)) for line in listing.splitlines() if line.strip()]


def _wait_for_slurm(executors: list[PipelineExecutor], poll_seconds: float) -> None:
    """Until no job of this run is queued; jobs that can never start (a stage before failed) are cancelled."""
    names = [executor.job_name for executor in executors]
    while queued := _queued(names):
        stuck = [job for job, _state, reason in queued if "DependencyNeverSatisfied" in reason]
        if stuck:
            log.error("a stage failed; cancelling the jobs that depend on it: %s", " ".join(stuck))
            subprocess.run(["scancel", *stuck], check=True)
        time.sleep(poll_seconds)


def run_stages(stages: list[Stage], config: FactoryConfig, logs: Path) -> None:
    """Run the stages in order on the configured executor; raises if any task of any stage did not complete."""
    if config.executor == ExecutorKind.local:
        executors = _local(stages, config, logs)
        executors[-1].run()
    else:
        missing = [command for command in ("sbatch", "squeue", "scancel") if shutil.which(command) is None]
        if missing:
            raise RuntimeError(f"factory.executor=slurm needs Slurm's {', '.join(missing)} on PATH (a login node "
                               f"of the cluster); factory.executor=local runs the same stages here")
        executors = _slurm(stages, config, logs)
        executors[-1].launch_job()  # launches the stages before it first, each depending on the previous
        _wait_for_slurm(executors, config.slurm.poll_seconds)
    for stage, executor in zip(stages, executors, strict=True):
        incomplete = executor.get_incomplete_ranks(skip_completed=True)
        if incomplete:
            raise RuntimeError(f"stage {stage.name!r}: tasks {incomplete[:10]} of {stage.tasks} did not complete; "
                               f"see {logs / stage.name} (logs/, slurm_logs/)")
