"""Continual pre-training from shared base models: one base per size, every continuation names its own base through
one override (so the grid is still a sweep), the runner waits for the base, and base models are the V = 0 rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from ziya2lab.common.attributes import RUN_COLUMN
from ziya2lab.common.run_dir import RunDir
from ziya2lab.study.base_models import base_of, dependent_launch, link_base_models, results_with_base_rows
from ziya2lab.study.config import StudyAppConfig
from ziya2lab.study.grid import sweep_yaml
from ziya2lab.study.study import plan_study
from ziya2lab.train.config import LoggerConfig, LoggerKind


def _config(tmp_path: Path, **study: object) -> StudyAppConfig:
    config = OmegaConf.structured(StudyAppConfig(output_dir=str(tmp_path), logger=LoggerConfig(kind=LoggerKind.none)))
    config.study = OmegaConf.merge(config.study, study)
    return OmegaConf.to_object(config)


def test_each_continuation_starts_from_the_base_model_of_its_size(tmp_path: Path) -> None:
    plan = plan_study(_config(tmp_path))
    assert len(plan.bases) == 2 and {spec.config.stage.init_from for spec in plan.bases} == {None}
    bases = base_of(plan)
    assert len(bases) == len(plan.continuations) == 2 * 6 * 2
    for spec in plan.continuations:
        assert bases[spec.run_id].config.model == spec.config.model
    sweep_yaml(plan.continuations, [], "header", "hint")  # one init_from for every size: still a product
    link_base_models(plan)
    assert sorted(path.name for path in plan.links.iterdir()) == ["h160-l4-i432", "h96-l3-i256"]
    for spec in plan.bases:  # each link points at its base run's stable/ (dangling until that run finishes)
        assert spec.config.train.export_stable
        assert (plan.links / next(path.name for path in plan.links.iterdir() if path.resolve() ==
                                  RunDir(spec.config.output_dir).stable.resolve())).is_symlink()


def test_a_changed_base_model_changes_every_continuation(tmp_path: Path) -> None:
    before = {spec.run_id for spec in plan_study(_config(tmp_path)).continuations}
    changed = _config(tmp_path, base_model={"trainer": {"train": {"max_tokens": 1_000_000}}})
    assert before.isdisjoint(spec.run_id for spec in plan_study(changed).continuations)


def test_base_and_continuations_must_be_scored_alike(tmp_path: Path) -> None:
    plan = plan_study(_config(tmp_path, base_model={"trainer": {"data": {"eval_max_windows": 3}}}))
    with pytest.raises(ValueError, match="eval_max_windows differs"):
        link_base_models(plan)


@pytest.mark.parametrize("key", ["lr", "min_lr", "wsd_decay_ratio"])
def test_continuations_extend_the_base_schedule_at_its_own_rates(tmp_path: Path, key: str) -> None:
    value = 0.5 * getattr(plan_study(_config(tmp_path)).bases[0].config.train, key)
    plan = plan_study(_config(tmp_path, grid={"trainer": {"train": {key: value}}}))
    with pytest.raises(ValueError, match=f"train.{key} differs.*re-warms or cools the base"):
        link_base_models(plan)


def test_a_continuation_of_a_failed_base_does_not_start(tmp_path: Path) -> None:
    plan = plan_study(_config(tmp_path))
    started = []
    launch = dependent_launch(plan, lambda command, run, environment: started.append(run.path) or 1)
    base = RunDir(plan.bases[0].config.output_dir)
    base.path.mkdir(parents=True)
    assert launch([], base, {}) == 1  # the base fails (writes no summary)
    continuation = next(spec for spec in plan.continuations if base_of(plan)[spec.run_id] == plan.bases[0])
    run = RunDir(continuation.config.output_dir)
    run.path.mkdir(parents=True)
    assert launch([], run, {}) == 1 and started == [base.path]
    assert "did not finish" in run.log.read_text()


def test_base_models_become_the_v0_rows_of_the_clean_base(tmp_path: Path) -> None:
    plan = plan_study(_config(tmp_path))
    base, continuation = plan.bases[0], plan.continuations[0]
    common = {"model": "llama_300k", "N": 1, "test_set": "en_prose", "seed": 0, "RA": 0.9}
    collected = pd.DataFrame([
        {RUN_COLUMN: base.run_id, "V": 2_000_000, "point": "final", "corpus": "pretrain", "family": "pretrain",
         "level": None, "CH": None, "SIM": None, "loss": 4.0, **common},
        {RUN_COLUMN: continuation.run_id, "V": 1000, "point": "final", "corpus": "base", "family": "base",
         "level": 0.0, "CH": 0.8, "SIM": 0.1, "loss": 3.5, **common},
        {RUN_COLUMN: "older-settings", "V": 1000, "point": "final", "corpus": "base", "family": "base",
         "level": 0.0, "CH": 0.8, "SIM": 0.1, "loss": 9.0, **common},
    ])
    table = results_with_base_rows(collected, plan)
    assert len(table) == 2
    start = table[table["V"] == 0].iloc[0]
    assert (start["family"], start["corpus"], start["CH"], start["SIM"], start["pretrain_tokens"]) == \
        ("base", "base", 0.8, 0.1, 2_000_000)
