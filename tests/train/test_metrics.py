"""The wandb mirror never takes the run down with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ziya2lab.common.run_dir import RunDir
from ziya2lab.train.config import LoggerConfig, LoggerKind
from ziya2lab.train.metrics import WandbMirror


class _DeadService:
    """A wandb run whose service process was killed (as a Slurm requeue or cancel does to every process)."""

    def __init__(self) -> None:
        self.calls = 0

    def log(self, *args: object, **kwargs: object) -> None:
        self.calls += 1
        raise ConnectionResetError(104, "Connection reset by peer")

    def finish(self, *args: object, **kwargs: object) -> None:
        raise ConnectionResetError(104, "Connection reset by peer")


def test_a_lost_wandb_service_stops_mirroring_without_failing_the_run(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    mirror = WandbMirror(LoggerConfig(kind=LoggerKind.none), RunDir(tmp_path), {}, fresh=True, enabled=True)
    dead = _DeadService()
    mirror.run = dead
    mirror.log({"step": 1, "loss": 2.0})
    assert mirror.run is None and dead.calls == 1
    assert "wandb mirror lost" in caplog.text
    mirror.log({"step": 2, "loss": 1.9})  # inert from now on
    assert dead.calls == 1
    mirror.run = _DeadService()
    mirror.finish(failed=False)
    assert mirror.run is None
