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
    the timeline's eval sets, no logger (the recipe's timeline is the record). A run that starts from the base
    with the expanded tokenizer grows the embeddings in the trainer, initialised by ``expansion.stage_init``."""
    data = dataclasses.replace(resolve_paths(data, Path(cfg.output_dir)), eval_sets=timeline_eval_sets(files),
                               eval_max_windows=cfg.eval_max_windows)
    return TrainAppConfig(
        seed=cfg.seed,
        output_dir=str(run_dir),
        model=copy.deepcopy(cfg.model),
        data=data,
        tokenizer=TokenizerConfig(path=str(tokenizer_dir)),
        logger=LoggerConfig(kind=LoggerKind.none),
        stage=StageConfig(name=run_dir.name, init_from=str(init_from) if init_from else None,
                          vocab_init=cfg.expansion.stage_init),
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


@dataclass(frozen=True)
class Start:
    """Where a chain of stages begins: a checkpoint, the tokenizer to continue it with, and the key of everything
    upstream (stage 1 and the single stage: the base's ``final/`` with the expanded tokenizer)."""

    checkpoint: Path
    tokenizer: Path
    key: str

    @classmethod
    def after(cls, run: StageRun) -> Start:
        return cls(run.run.final, run.run.final, run.key)


def check_stage1_shared(cfg: RecipeAppConfig) -> None:
    """The variants share stage 1, which is only right when it has no replay to remove."""
    names = [component.name for component in cfg.stages["stage1"].data.components]
    if set(names) & set(cfg.ablations.replay_components):
        raise ValueError(f"stages.stage1.data has replay components {names} (ablations.replay_components): stage 1 "
                         f"is shared by the recipe and its no-replay ablation, so it cannot replay")


def run_chain(cfg: RecipeAppConfig, variant: str, stages: list[str], start: Start, files: CorpusFiles,
              runs_root: Path) -> list[StageRun]:
    """Consecutive stages of ``variant`` (``recipe`` or ``no_replay``: the same without replay components) into
    ``runs_root/<variant>/<stage>``, the first from ``start``, each next one from the previous ``final/``. A
    top-level function, so a worker process can run it."""
    replay = cfg.ablations.replay_components
    done: list[StageRun] = []
    for stage in stages:
        plan = cfg.stages[stage]
        data = plan.data if variant == RECIPE else without_replay(plan.data, replay)
        run_dir = runs_root / variant / stage
        config = trainer_config(cfg, run_dir, data, start.tokenizer, start.checkpoint, plan.steps, plan.lr,
                                plan.min_lr, files)
        done.append(StageRun(variant, stage, RunDir(run_dir), run_planned(config, {"previous": start.key})))
        start = Start.after(done[-1])
    return done


def run_single_stage(cfg: RecipeAppConfig, start: Start, files: CorpusFiles, runs_root: Path) -> StageRun:
    """The naive ablation: all the stages' data mixed, for the three stages' total steps, at stage 1's rates."""
    steps = sum(cfg.stages[stage].steps for stage in STAGES)
    first = cfg.stages["stage1"]
    run_dir = runs_root / SINGLE_STAGE / "all"
    config = trainer_config(cfg, run_dir, single_stage_data(cfg), start.tokenizer, start.checkpoint, steps,
                            first.lr, first.min_lr, files)
    return StageRun(SINGLE_STAGE, "all", RunDir(run_dir), run_planned(config, {"previous": start.key}))


def base_data(cfg: RecipeAppConfig) -> DataConfig:
    return DataConfig(name="base_english", components=[ComponentConfig(name="english", sources=cfg.base.sources)])
