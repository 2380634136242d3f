"""Trainer runs as Slurm jobs, through Hydra's submitit launcher: requeue-safe, and the same for a sweep and the study.

Two ways in, one mechanism:

- a sweep, ``python -m ziya2lab.train -m hydra/launcher=slurm ...``: the presets in ``conf/hydra/launcher/`` install
  the ``SlurmRequeue`` callback, which runs inside every job;
- the study's grid with ``study.launcher=slurm``: ``slurm_launch`` turns each run's command into a one-job sweep on
  a launcher preset, whose job directory is the run directory, so each run is a Slurm job handled as above.

Why a callback: the trainer stops on SIGTERM by writing a checkpoint and returning without a summary. Inside a
submitit job that return would be pickled as the job's result, and whoever waits on the job (the sweep) would take
an interrupted run for a finished one while Slurm reruns it. And Slurm's time-limit warning (submitit's USR2) would
make submitit requeue the job at once, without the trainer's checkpoint. ``SlurmRequeue`` passes the warning to the
trainer as SIGTERM, and when the trainer has stopped it lets submitit requeue the job (after a warning) or ends the
process without a result (after Slurm's own SIGTERM: ``scontrol requeue``, preemption or ``scancel``), so the
waiter sees the job pending again, or cancelled, never finished.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from submitit.slurm.slurm import SlurmJobEnvironment

from ziya2lab.common.run_dir import RunDir
from ziya2lab.study.grid import hydra_quoted
from ziya2lab.study.runner import Launch, launch_local

log = logging.getLogger(__name__)

# Seconds between repeats of the SIGTERM that stands for the time-limit warning: the warning may come while the
# trainer is still starting up and not yet listening for SIGTERM, so it is repeated until the job ends.
WARNING_REPEAT_S = 1.0


class TimeLimitWarning:
    """Slurm's time-limit warning, caught in place of submitit's handler and passed on to this process as SIGTERM."""

    def __init__(self) -> None:
        self.signum = SlurmJobEnvironment._usr_sig()  # USR2, or $SUBMITIT_PREEMPT_SIGNAL: what submitit asked for
        self._submitit_handler = signal.signal(self.signum, self._on_warning)
        self._ended = threading.Event()
        self._repeater: threading.Thread | None = None

    @property
    def received(self) -> bool:
        return self._repeater is not None

    def _on_warning(self, signum: int, frame: Any) -> None:
        if self._repeater is None:
            log.warning("Slurm's time-limit warning (%s): stopping the trainer at its next step",
                        signal.Signals(signum).name)
            self._repeater = threading.Thread(target=self._terminate_until_ended, daemon=True)
            self._repeater.start()

    def _terminate_until_ended(self) -> None:
        while True:
            os.kill(os.getpid(), signal.SIGTERM)
            if self._ended.wait(WARNING_REPEAT_S):
                return

    def close(self) -> None:
        """Stop repeating and give the signal back to submitit."""
        self._ended.set()
        if self._repeater is not None:
            self._repeater.join()
        signal.signal(self.signum, self._submitit_handler)

    def requeue(self) -> None:
        """Let submitit handle the warning now that the trainer has checkpointed: it resubmits the same job
        arguments and requeues the job (at most ``max_num_timeout`` times), then exits."""
        self._submitit_handler(self.signum, None)


class SlurmRequeue(Callback):
    """Hydra callback for trainer jobs run by submitit on Slurm (see the module docstring).

    Outside a submitit Slurm job, or for an app without a trainer run directory (``output_dir``), it does nothing.
    """

    def __init__(self) -> None:
        self._run: RunDir | None = None
        self._warning: TimeLimitWarning | None = None

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        output_dir = OmegaConf.select(config, "output_dir")
        if not SlurmJobEnvironment().activated() or output_dir is None:
            return
        self._run = RunDir(output_dir)
        self._warning = TimeLimitWarning()

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if self._warning is None or self._run is None:
            return
        warning, run = self._warning, self._run
        self._warning = self._run = None
        warning.close()
        if job_return.status is not JobStatus.COMPLETED or run.is_done():
            return  # finished, or failed: submitit records the result as usual
        if warning.received:
            warning.requeue()
        # Stopped by Slurm's SIGTERM (requeue, preemption, cancel): no result, so the waiter sees what Slurm does.
        raise SystemExit(f"the trainer stopped on a signal before finishing {run.path}; its checkpoint is kept "
                         f"and Slurm decides whether the job runs again")


def slurm_launch(preset: str = "slurm", launcher_overrides: Sequence[str] = ()) -> Launch:
    """The study's ``Launch`` for Slurm: run each trainer command as a one-job sweep on the launcher ``preset``
    (``conf/hydra/launcher/<preset>.yaml``, adjusted by ``launcher_overrides`` such as
    ``hydra.launcher.partition=gpu``), whose job directory is the run directory itself.

    The local process only submits the job and waits for it; it exits non-zero when the job failed or was
    cancelled. Slurm's logs of the job go to ``<run>/.submitit/<job id>/``.
    """

    def launch(command: list[str], run: RunDir, environment: Mapping[str, str]) -> int:
        sweep = ["hydra.mode=MULTIRUN", f"hydra/launcher={preset}", f"hydra.sweep.dir={hydra_quoted(run.path)}",
                 "hydra.sweep.subdir=.", *launcher_overrides]
        return launch_local([*command, *sweep], run, environment)

    return launch
