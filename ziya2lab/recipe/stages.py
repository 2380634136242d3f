"""Every trainer run of the recipe: the base, the three stages, and the ablations' stages, as plain trainer runs.

A run is planned as a ``TrainAppConfig`` and started through ``ziya2lab.train.run_training``. Its plan key, the
hash of the resolved config and of everything upstream (the corpora, the expansion, the previous stage's key),
is kept beside the run directory: the same key and a finished run is reused; the same key and an unfinished run
resumes from its newest checkpoint (``train.resume=auto``); another key starts the run afresh.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.hashing import hash_config
from ziya2lab.common.run_dir import RunDir
from ziya2lab.recipe.config import STAGES, RecipeAppConfig
from ziya2lab.recipe.corpora import DOMAINS, CorpusFiles
from ziya2lab.train import run_training
from ziya2lab.train.config import (
    ComponentConfig,
    DataConfig,
    LoggerConfig,
    LoggerKind,
    SourceConfig,
    StageConfig,
    TokenizerConfig,
    TrainAppConfig,
)

log = logging.getLogger(__name__)
PLAN_SUFFIX = ".plan.json"
BASE = "base"
RECIPE, NO_REPLAY, SINGLE_STAGE = "recipe", "no_replay", "single_stage"


@dataclass(frozen=True)
class StageRun:
    """A finished run of the recipe: which variant and stage, its directory, and its plan key."""

    variant: str
    stage: str
    run: RunDir
    key: str


def resolve_paths(data: DataConfig, root: Path) -> DataConfig:
    """A relative source ``path`` of a preset's mixture is taken from the recipe's output directory."""
    data = copy.deepcopy(data)
    for component in data.components:
        for source in component.sources:
            if source.path is not None and not Path(source.path).is_absolute():
                source.path = str(root / source.path)
    return data


def timeline_eval_sets(files: CorpusFiles) -> dict[str, SourceConfig]:
    """The five domains every run scores at every eval: whole items, no prompt split, no task."""
    return {domain: SourceConfig(path=str(files.timeline_set(domain)), prompt_field=None, task_field=None)
            for domain in DOMAINS}


def trainer_config(cfg: RecipeAppConfig, run_dir: Path, data: DataConfig, tokenizer_dir: Path,
                   init_from: Path | None, steps: int, lr: float, min_lr: float, files: CorpusFiles) -> TrainAppConfig:
    """One run of the recipe: the shared model and optimisation, this run's mixture, steps and learning rates,
    the timeline's eval sets, no logger (the recipe's timeline is the record)."""
    data = dataclasses.replace(resolve_paths(data, Path(cfg.output_dir)), eval_sets=timeline_eval_sets(files),
                               eval_max_windows=cfg.eval_max_windows)
    return TrainAppConfig(
        seed=cfg.seed,
        output_dir=str(run_dir),
        model=copy.deepcopy(cfg.model),
        data=data,
        tokenizer=TokenizerConfig(path=str(tokenizer_dir)),
        logger=LoggerConfig(kind=LoggerKind.none),
        stage=StageConfig(name=run_dir.name, init_from=str(init_from) if init_from else None),
        train=dataclasses.replace(cfg.train, max_steps=steps, max_tokens=None, lr=lr, min_lr=min_lr, resume="auto"),
    )


def _plan_file(run: RunDir) -> Path:
    return run.path.parent / f"{run.path.name}{PLAN_SUFFIX}"


def run_planned(config: TrainAppConfig, upstream: Any) -> str:
    """Train ``config`` unless a finished run with the same plan exists; returns the plan key."""
    resolved = OmegaConf.to_container(OmegaConf.structured(config), resolve=True, enum_to_str=True)
    key = hash_config({"trainer": resolved, "upstream": upstream})
    run, plan = RunDir(config.output_dir), _plan_file(RunDir(config.output_dir))
    same_plan = plan.exists() and json.loads(plan.read_text()).get("key") == key
    if same_plan and run.is_done():
        log.info("recipe: reusing %s", run.path)
        return key
    if not same_plan:
        shutil.rmtree(run.path, ignore_errors=True)
        run.path.mkdir(parents=True)
        atomic_write_json(plan, {"key": key})
    summary = run_training(config)
    if summary.status != "completed":
        raise RuntimeError(f"recipe run {run.path} stopped ({summary.status}); re-run the recipe to resume it")
    return key


def without_replay(data: DataConfig, replay_names: list[str]) -> DataConfig:
    """The mixture minus its replay components, for the same steps."""
    kept = [component for component in data.components if component.name not in replay_names]
    if not kept:
        raise ValueError(f"data {data.name}: nothing but replay components {replay_names}")
    return dataclasses.replace(data, name=f"{data.name}_no_replay", components=kept)


def single_stage_data(cfg: RecipeAppConfig) -> DataConfig:
    """Every stage's own (non-replay) components in one mixture, each contributing all of its windows per epoch."""
    replay = cfg.ablations.replay_components
    components = [
        dataclasses.replace(copy.deepcopy(component), name=f"{stage}_{component.name}", share_of_first=None,
                            tokens_per_epoch=None)
        for stage in STAGES for component in cfg.stages[stage].data.components if component.name not in replay
    ]
    return DataConfig(name="single_stage", components=components, document_mask=cfg.stages["stage1"].data.document_mask)


def run_variant(cfg: RecipeAppConfig, variant: str, start: Path, start_key: str, files: CorpusFiles,
                runs_root: Path, shared_stage1: StageRun | None = None) -> list[StageRun]:
    """The three stages of ``variant`` (``recipe`` or ``no_replay``), each from the previous stage's ``final/``."""
    replay = cfg.ablations.replay_components
    done: list[StageRun] = []
    previous, key = start, start_key
    for stage in STAGES:
        plan = cfg.stages[stage]
        data = plan.data if variant == RECIPE else without_replay(plan.data, replay)
        if shared_stage1 is not None and stage == "stage1" and data.components == plan.data.components:
            done.append(dataclasses.replace(shared_stage1, variant=variant))  # stage 1 has no replay to remove
            previous, key = shared_stage1.run.final, shared_stage1.key
            continue
        run_dir = runs_root / variant / stage
        config = trainer_config(cfg, run_dir, data, previous, previous, plan.steps, plan.lr, plan.min_lr, files)
        key = run_planned(config, {"previous": key})
        done.append(StageRun(variant, stage, RunDir(run_dir), key))
        previous = RunDir(run_dir).final
    return done


def run_single_stage(cfg: RecipeAppConfig, start: Path, start_key: str, files: CorpusFiles,
                     runs_root: Path) -> StageRun:
    """The naive ablation: all the stages' data mixed, for the three stages' total steps, at stage 1's rates."""
    steps = sum(cfg.stages[stage].steps for stage in STAGES)
    first = cfg.stages["stage1"]
    run_dir = runs_root / SINGLE_STAGE / "all"
    config = trainer_config(cfg, run_dir, single_stage_data(cfg), start, start, steps, first.lr, first.min_lr, files)
    return StageRun(SINGLE_STAGE, "all", RunDir(run_dir), run_planned(config, {"previous": start_key}))


def base_data(cfg: RecipeAppConfig) -> DataConfig:
    return DataConfig(name="base_english", components=[ComponentConfig(name="english", sources=cfg.base.sources)])
