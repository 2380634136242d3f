"""``study.launcher`` chooses how each trainer run starts: locally, or as a Slurm job on a launcher preset."""

from __future__ import annotations

import pytest

from ziya2lab.study.config import StudyConfig
from ziya2lab.study.runner import launch_local
from ziya2lab.study.study import study_launch


def test_local_is_the_default_and_a_preset_name_launches_on_slurm() -> None:
    assert study_launch(StudyConfig()) is launch_local
    on_slurm = study_launch(StudyConfig(launcher="slurm_local", launcher_overrides=["hydra.launcher.timeout_min=5"]))
    assert callable(on_slurm) and on_slurm is not launch_local


def test_an_unknown_launcher_is_refused_naming_the_key_and_the_presets() -> None:
    with pytest.raises(ValueError, match=r"study\.launcher='slurmm'.*slurm_local"):
        study_launch(StudyConfig(launcher="slurmm"))
