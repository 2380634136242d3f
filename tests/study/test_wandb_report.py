"""The offline wandb report: it counts the runs wherever they are, and its upload command works in plain bash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ziya2lab.common.paths import repo_root
from ziya2lab.study.wandb_report import ReportPlan, describe, offline_runs, sync_command

RUNS = [
    "outputs/train/2026-01-01/10-00-00/wandb/offline-run-20260101_100000-aaa",  # a single train.py run
    "multirun/train/2026-01-01/11-00-00/0/wandb/offline-run-20260101_110000-bbb",  # a multirun job
    "multirun/train/2026-01-01/11-00-00/1/wandb/offline-run-20260101_110001-ccc",
    "outputs/attribute_scaling/default/runs/x/wandb/offline-run-20260101_120000-ddd",  # a study's run
    "outputs/attribute_scaling/default/wandb/offline-run-20260101_130000-eee",  # the study's summary run
    "my runs/wandb/offline-run-20260101_140000-fff",  # a space in the path
]
NOT_RUNS = [
    ".venv/lib/wandb/offline-run-20260101_150000-zzz",  # hidden directories are not searched
    "outputs/train/2026-01-01/10-00-00/wandb/run-20260101_160000-online",  # an online run: nothing to sync
]


def _tree(root: Path) -> set[Path]:
    for relative in RUNS + NOT_RUNS:
        (root / relative / "files").mkdir(parents=True)
    return {root / relative for relative in RUNS}


def _fake_wandb(directory: Path, redirect: str) -> None:
    """A ``wandb`` that accepts only ``sync`` and prints each path it was given (one per line)."""
    script = directory / "wandb"
    script.write_text(f'#!/bin/sh\n[ "$1" = sync ] || exit 2\nshift\n'
                      f'for path in "$@"; do echo "$path"{redirect}; done\n')
    script.chmod(0o755)


def test_every_offline_run_is_counted_wherever_it_is(tmp_path):
    expected = _tree(tmp_path)
    assert set(offline_runs(tmp_path)) == expected
    text = describe(ReportPlan("proj", "team", "title", "default", ["en_prose", "code"]), tmp_path, "publish me")
    assert f"{len(RUNS)} offline wandb runs under {tmp_path}" in text
    assert "team/proj" in text and "eval/code" in text and "nothing was published" in text
    assert "**" not in text and text.endswith("  publish me")


def test_printed_sync_command_uploads_exactly_those_runs_in_plain_bash(tmp_path):
    expected = _tree(tmp_path / "work")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    received = tmp_path / "received.txt"
    _fake_wandb(fake_bin, f' >> "{received}"')
    command = sync_command(tmp_path / "work")
    assert command in describe(ReportPlan("p", None, "t", None, []), tmp_path / "work", "")

    subprocess.run(["bash", "--norc", "--noprofile", "-c", command], check=True, cwd=tmp_path,
                   env={**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}"})

    assert {Path(line) for line in received.read_text().splitlines()} == expected


def test_relative_runs_dir_from_the_working_directory(tmp_path):
    expected = {Path(relative) for relative in RUNS}
    _tree(tmp_path)
    fake_bin = tmp_path / ".bin"
    fake_bin.mkdir()
    _fake_wandb(fake_bin, "")
    out = subprocess.run(["bash", "--norc", "-c", sync_command(Path("."))], check=True, cwd=tmp_path, text=True,
                         capture_output=True, env={**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}"})
    assert {Path(line) for line in out.stdout.splitlines()} == expected


def _app(*overrides: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(repo_root() / "experiments" / "wandb_report.py"), *overrides],
                          cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_app_honours_runs_dir_and_defaults_to_the_working_directory(tmp_path):
    _tree(tmp_path)
    default = _app(cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert f"{len(RUNS)} offline wandb runs under ." in default.stdout
    narrowed = _app("runs_dir=multirun", cwd=tmp_path)
    assert narrowed.returncode == 0, narrowed.stderr
    assert "2 offline wandb runs under multirun" in narrowed.stdout
    assert "wandb_report.py runs_dir=multirun logger.mode=online" in narrowed.stdout
    missing = _app("runs_dir=nowhere", cwd=tmp_path)
    assert missing.returncode != 0 and "runs_dir=nowhere" in missing.stderr
