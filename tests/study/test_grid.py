"""The study's grid: typed trainer configs validated before anything runs, and the sweep file generated from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser

from ziya2lab.common.paths import repo_root
from ziya2lab.study import study as study_module
from ziya2lab.study.config import GridConfig, StudyAppConfig, StudyConfig, refuse_moved_keys
from ziya2lab.study.grid import grid_specs, sweep_yaml
from ziya2lab.study.runner import launch_overrides
from ziya2lab.study.sweep_file import study_sweep_yaml
from ziya2lab.train.app import RequireInputs
from ziya2lab.train.config import LoggerConfig, Schedule, TrainAppConfig
from ziya2lab.train.schedule import total_steps


def _grid(**changes) -> GridConfig:
    """A grid that does not depend on the study's current defaults."""
    settings = dict(models=["llama_100k", "llama_300k"], seeds=[0], branch_fractions=[0.25, 0.5],
                    trainer={"train": {"max_tokens": 200_000, "batch_size": 16}})
    return GridConfig(**{**settings, **changes})


def _specs(tmp_path: Path, grid: GridConfig | None = None):
    corpora = {"base": tmp_path / "base.jsonl", "ch_0.2": tmp_path / "ch, 0.2.jsonl"}  # a comma survives quoting
    test_sets = {"en_prose": tmp_path / "en_prose.jsonl", "code": tmp_path / "code.jsonl"}
    return grid_specs(grid or _grid(), corpora, test_sets, tmp_path / "tok", LoggerConfig(), "g", tmp_path / "runs")


def test_every_run_is_a_typed_trainer_config(tmp_path: Path) -> None:
    specs = _specs(tmp_path)
    assert [spec.label for spec in specs] == ["llama_100k-base-s0", "llama_100k-ch_0.2-s0", "llama_300k-base-s0",
                                              "llama_300k-ch_0.2-s0"]
    for spec in specs:
        config = spec.config
        assert isinstance(config, TrainAppConfig) and config.output_dir == str(tmp_path / "runs" / spec.run_id)
        train = config.train
        assert train.schedule is Schedule.wsd and train.max_tokens == 200_000 and train.batch_size == 16
        steps = total_steps(train)
        assert steps == 98 and train.eval_every_steps == steps and train.ckpt_every_steps == 24
        assert train.wsd_branch_at_tokens == [50_000, 100_000]
        assert train.lr == TrainAppConfig().train.lr, "what the study does not set is the trainer's default"
        assert config.tokenizer.path == str(tmp_path / "tok") and config.logger.group == "g"
        eval_files = {name: source.path for name, source in config.data.eval_sets.items()}
        assert {name: eval_files[name] for name in ("en_prose", "code")} == {
            "en_prose": str(tmp_path / "en_prose.jsonl"), "code": str(tmp_path / "code.jsonl")}
        assert spec.planned_tokens == steps * 16 * 128
    assert specs[1].config.data.components[0].sources[0].path == str(tmp_path / "ch, 0.2.jsonl")
    assert specs[0].config.model.hidden_size < specs[2].config.model.hidden_size


@pytest.mark.parametrize(("grid", "named"), [
    (_grid(trainer={"train": {"max_tokens": 1000, "max_stepz": 3}}), "max_stepz"),
    (_grid(extra_overrides=["train.lrr=0.1"]), "lrr"),
    (_grid(trainer={"train": {"max_tokens": 1000, "schedule": "cosinus"}}), "cosinus"),
    (_grid(models=["llama_100k", "llama_7k"]), "llama_7k"),
])
def test_a_grid_the_trainer_refuses_fails_naming_the_key(tmp_path: Path, grid: GridConfig, named: str) -> None:
    with pytest.raises(ValueError, match=f"trainer refuses the study's grid.*{named}"):
        _specs(tmp_path, grid)


def test_a_misspelt_trainer_key_stops_the_study_before_any_step_or_run(tmp_path: Path, monkeypatch) -> None:
    def must_not_run(*args, **kwargs):
        raise AssertionError("a step or run started")

    monkeypatch.setattr(study_module, "run_cached_step", must_not_run)
    monkeypatch.setattr(study_module, "run_grid", must_not_run)
    cfg = StudyAppConfig(output_dir=str(tmp_path), study=StudyConfig(grid=_grid(
        trainer={"train": {"max_tokens": 1000, "batch_sise": 4}})))
    with pytest.raises(ValueError, match="batch_sise"):
        study_module.run_study(cfg)
    assert not any(tmp_path.iterdir()), "nothing was written"


def test_run_ids_change_with_any_setting(tmp_path: Path) -> None:
    before = {spec.run_id for spec in _specs(tmp_path)}
    assert len(before) == 4
    changed = _specs(tmp_path, _grid(trainer={"train": {"max_tokens": 200_000, "batch_size": 16, "lr": 1e-3}}))
    assert before.isdisjoint({spec.run_id for spec in changed})


def test_branches_outside_the_stable_phase_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="branch_fractions"):
        _specs(tmp_path, _grid(branch_fractions=[0.25, 0.9]))


def test_the_sweep_file_expands_to_exactly_the_grids_runs(tmp_path: Path) -> None:
    specs = _specs(tmp_path)
    launch = launch_overrides(1)
    config = yaml.safe_load(sweep_yaml(specs, launch, "header", "hint"))
    params = [f"{key}={value}" for key, value in config["hydra"]["sweeper"]["params"].items()]
    jobs = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(params), None)[0]
    assert sorted(map(sorted, jobs)) == sorted(sorted([*launch, *spec.overrides]) for spec in specs)
    assert config["hydra"]["callbacks"]["require_inputs"]["paths"] == sorted(
        str(path) for path in [tmp_path / "base.jsonl", tmp_path / "ch, 0.2.jsonl", tmp_path / "en_prose.jsonl",
                               tmp_path / "code.jsonl", tmp_path / "tok"])


def test_the_committed_sweep_file_is_the_default_studys_grid() -> None:
    committed = (repo_root() / "sweeps" / "attribute_grid.yaml").read_text()
    assert committed == study_sweep_yaml([]), ("the default study changed: regenerate the sweep file with "
                                               "`python -m ziya2lab.study.sweep_file > sweeps/attribute_grid.yaml`")


def test_moved_grid_keys_fail_naming_the_new_key() -> None:
    refuse_moved_keys(["study=mini", "study.grid.models=[llama_100k]"])
    with pytest.raises(SystemExit, match=r"study\.grid\.lr is now study\.grid\.trainer\.train\.lr.*"
                                         r"\+\+study\.grid\.trainer\.train\.lr=0\.01"):
        refuse_moved_keys(["study.grid.lr=0.01"])


def test_a_sweep_whose_inputs_are_missing_is_refused_with_what_to_run(tmp_path: Path) -> None:
    RequireInputs([str(tmp_path)], "unused").on_multirun_start(config=None)
    with pytest.raises(SystemExit, match=r"1 of the 2 inputs of this sweep do not exist .* e\.g\. nowhere/x: "
                                         r"run the study first"):
        RequireInputs([str(tmp_path), "nowhere/x"], "run the study first").on_multirun_start(config=None)


@pytest.mark.slow
def test_the_attribute_grid_on_a_fresh_clone_says_what_to_run_and_leaves_nothing(tmp_path: Path) -> None:
    """README: `train.py -m +sweep=attribute_grid` before the study has built its corpora."""
    process = subprocess.run([sys.executable, "-m", "ziya2lab.train", "-m", "+sweep=attribute_grid"],
                             capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert process.returncode != 0
    assert "outputs/attribute_scaling/default/" in process.stderr and "make run" in process.stderr
    assert not any(tmp_path.iterdir()), "no sweep or job directory is left behind"
