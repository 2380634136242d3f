"""The runner: finished runs are cached, the rest launched a few at a time; a failure is reported, not fatal."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from ziya2lab.common.run_dir import RunDir
from ziya2lab.study.grid import RunSpec
from ziya2lab.study.runner import launch_local, run_grid
from ziya2lab.train.config import TrainAppConfig


def _spec(label: str) -> RunSpec:
    return RunSpec(label, (f"seed={len(label)}", "model=llama_100k"), TrainAppConfig())


def _finish(run: RunDir) -> None:
    """What the runner looks at: the summary exists (the trainer writes it last)."""
    run.summary.write_text("{}")


class FakeTrainer:
    """Stands in for ``python -m ziya2lab.train``: logs, and finishes a run unless its label says otherwise."""

    def __init__(self) -> None:
        self.launched: list[list[str]] = []

    def __call__(self, command: list[str], run: RunDir, environment: Mapping[str, str]) -> int:
        self.launched.append(command)
        assert environment["OMP_NUM_THREADS"] == "1"
        with open(run.log, "a") as log:
            log.write(f"training {run.path.name}\n")
        if "broken" in run.path.name:
            return 1
        _finish(run)
        return 0


def test_cached_completed_and_failed_runs(tmp_path: Path) -> None:
    done, todo, broken = _spec("done"), _spec("todo"), _spec("broken")
    RunDir(tmp_path / done.run_id).path.mkdir(parents=True)
    _finish(RunDir(tmp_path / done.run_id))
    trainer = FakeTrainer()
    outcomes = {outcome.spec.label: outcome for outcome in run_grid([done, todo, broken], tmp_path, 2, 1, trainer)}
    assert {label: outcome.status for label, outcome in outcomes.items()} == {
        "done": "cached", "todo": "completed", "broken": "failed"}
    assert len(trainer.launched) == 2, "the finished run was not launched again"
    assert outcomes["broken"].error_tail == ["exit status 1", f"training {broken.run_id}"]
    for spec in (todo, broken):
        run = RunDir(tmp_path / spec.run_id)
        command = shlex.split(run.command.read_text())
        assert command[:3] == [sys.executable, "-m", "ziya2lab.train"]
        assert f"hydra.run.dir='{run.path}'" in command and "train.resume=auto" in command
        assert command[-2:] == list(spec.overrides)
    again = FakeTrainer()
    outcomes = {outcome.spec.label: outcome.status for outcome in run_grid([done, todo, broken], tmp_path, 2, 1, again)}
    assert outcomes == {"done": "cached", "todo": "cached", "broken": "failed"} and len(again.launched) == 1


def test_a_run_that_exits_cleanly_without_a_summary_failed(tmp_path: Path) -> None:
    outcomes = run_grid([_spec("quiet")], tmp_path, 1, 1, lambda command, run, environment: 0)
    assert [outcome.status for outcome in outcomes] == ["failed"]


def test_launch_local_runs_the_command_and_appends_to_the_run_log(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.log.write_text("earlier attempt\n")
    code = "import os, sys; print('threads', os.environ['OMP_NUM_THREADS']); sys.exit(3)"
    assert launch_local([sys.executable, "-c", code], run, {"OMP_NUM_THREADS": "1"}) == 3
    assert run.log.read_text() == "earlier attempt\nthreads 1\n"
