"""Cached study steps: reused only when finished under the same settings, rebuilt from scratch otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from ziya2lab.study.cache import MARKER, run_cached_step


class Step:
    """A step that writes one file and counts its builds."""

    def __init__(self) -> None:
        self.builds = 0

    def build(self, directory: Path) -> str:
        self.builds += 1
        (directory / "out.txt").write_text(f"build {self.builds}")
        return f"built {self.builds}"

    @staticmethod
    def load(directory: Path) -> str:
        return "loaded " + (directory / "out.txt").read_text()


def test_a_finished_step_is_loaded_not_rebuilt(tmp_path: Path) -> None:
    step = Step()
    assert run_cached_step(tmp_path / "s", {"level": 0.2}, step.build, step.load) == "built 1"
    assert run_cached_step(tmp_path / "s", {"level": 0.2}, step.build, step.load) == "loaded build 1"
    assert step.builds == 1


def test_changed_settings_rebuild_from_an_empty_directory(tmp_path: Path) -> None:
    step = Step()
    run_cached_step(tmp_path / "s", {"level": 0.2}, step.build, step.load)
    (tmp_path / "s" / "stale.txt").write_text("from the old settings")
    assert run_cached_step(tmp_path / "s", {"level": 0.5}, step.build, step.load) == "built 2"
    assert not (tmp_path / "s" / "stale.txt").exists()
    assert run_cached_step(tmp_path / "s", {"level": 0.5}, step.build, step.load) == "loaded build 2"


def test_an_interrupted_step_is_rebuilt(tmp_path: Path) -> None:
    step = Step()

    def interrupted(directory: Path) -> str:
        (directory / "out.txt").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_cached_step(tmp_path / "s", {"level": 0.2}, interrupted, step.load)
    assert not (tmp_path / "s" / MARKER).exists(), "no marker: the step did not finish"
    assert run_cached_step(tmp_path / "s", {"level": 0.2}, step.build, step.load) == "built 1"


def test_settings_key_order_does_not_matter(tmp_path: Path) -> None:
    step = Step()
    run_cached_step(tmp_path / "s", {"a": 1, "b": [1, 2]}, step.build, step.load)
    assert run_cached_step(tmp_path / "s", {"b": [1, 2], "a": 1}, step.build, step.load) == "loaded build 1"
