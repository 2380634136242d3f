"""Continual pre-training from shared base models: the runs that pre-train them, how every continuation names its
base, the order the runs may start in, and the base models' own evaluation as the V = 0 rows of the table.

A base model is a WSD run that also writes its weights where its decay begins (``train.export_stable``). Every
continuation starts *there*, at the base's peak learning rate, and is itself a WSD run: each of its data volumes
(cooldown branches and its final decay) is the base's stable phase extended by V tokens of the corpus, then annealed.
The V = 0 row is the base's own annealed end: the same stable phase, annealed with no continuation tokens. Starting
from the annealed ``final/`` instead would re-warm an annealed model, a loss bump that hides the gain from V.

Every continuation run names its start with one override, the same for every size::

    stage.init_from='<study>/base_models/<base key>/h${model.hidden_size}-l${model.num_hidden_layers}-i${...}'

which the trainer's config resolves per model preset; the study links each base run's ``stable/`` there. So the
continuation grid stays a product of its varying settings (a Hydra sweep can describe it), and the base key (a hash
of the base runs' ids) changes every continuation's run id whenever a base model's settings change.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ziya2lab.attributes.levels import BASE
from ziya2lab.common.attributes import COLUMNS, RUN_COLUMN
from ziya2lab.common.hashing import hash_config
from ziya2lab.common.run_dir import RunDir
from ziya2lab.model import LlamaConfig
from ziya2lab.study.baselines import PRETRAIN_CORPUS as PRETRAIN  # the pre-training split: name and family
from ziya2lab.study.config import GridConfig, StudyConfig
from ziya2lab.study.grid import RunSpec, grid_specs, hydra_quoted
from ziya2lab.study.runner import Launch, launch_local
from ziya2lab.train.config import LoggerConfig

BASE_MODEL_POINT = "base_model"  # the ``point`` of a V = 0 row
SHAPE = "h{hidden_size}-l{num_hidden_layers}-i{intermediate_size}"
MATCHED_EVAL_KEYS = ("train.seq_len", "data.eval_max_windows")  # a V = 0 row must be scored like the others
# a continuation extends its base's stable phase: at the same peak and final rates, decay fraction and shape
MATCHED_SCHEDULE_KEYS = ("train.lr", "train.min_lr", "train.wsd_decay_ratio", "train.wsd_decay_tokens",
                         "train.wsd_decay_shape")


@dataclass(frozen=True)
class StudyPlan:
    bases: list[RunSpec]  # one per model preset
    continuations: list[RunSpec]
    links_root: Path

    @property
    def base_key(self) -> str:
        return hash_config(sorted(spec.run_id for spec in self.bases))[:8]

    @property
    def links(self) -> Path:
        return self.links_root / self.base_key


def shape_name(model: LlamaConfig) -> str:
    return SHAPE.format(hidden_size=model.hidden_size, num_hidden_layers=model.num_hidden_layers,
                        intermediate_size=model.intermediate_size)


def _setting(spec: RunSpec, dotted: str) -> object:
    value: object = spec.config
    for key in dotted.split("."):
        value = getattr(value, key)
    return value


def plan_base_models(study: StudyConfig, pretrain_file: Path, test_sets: Mapping[str, Path], tokenizer_dir: Path,
                     logger: LoggerConfig, runs_dir: Path) -> list[RunSpec]:
    """One pre-training run per model preset of the grid, on the pre-training split, without WSD branches, writing
    its stable-phase weights for the continuations."""
    grid = GridConfig(models=list(study.grid.models), seeds=[study.base_model.seed], branch_fractions=[],
                      trainer=study.base_model.trainer,
                      extra_overrides=[*study.grid.extra_overrides, "train.export_stable=true"])
    bases = grid_specs(grid, {PRETRAIN: pretrain_file}, test_sets, tokenizer_dir, logger, study.name, runs_dir)
    shapes = [shape_name(spec.config.model) for spec in bases]
    if len(set(shapes)) != len(shapes):
        raise ValueError(f"study.grid.models {list(study.grid.models)} include two presets of the same shape {shapes}")
    return bases


def continuation_grid(grid: GridConfig, bases: Sequence[RunSpec], links_root: Path) -> GridConfig:
    """``grid`` with every run continuing the base model of its own preset."""
    key = StudyPlan(list(bases), [], links_root).base_key
    shape = SHAPE.format(hidden_size="${model.hidden_size}", num_hidden_layers="${model.num_hidden_layers}",
                         intermediate_size="${model.intermediate_size}")
    init_from = f"stage.init_from={hydra_quoted(links_root / key / shape)}"
    return replace(grid, extra_overrides=[*grid.extra_overrides, init_from])


def _check_matched_settings(plan: StudyPlan) -> None:
    """The V = 0 rows are scored like every other row, and each continuation continues its base's schedule."""
    reasons = {key: "the base models' V = 0 rows must be scored on the same windows as the continuations"
               for key in MATCHED_EVAL_KEYS}
    reasons |= {key: "a continuation extends its base's stable phase at its peak rate and anneals like it (a "
                     "different rate re-warms or cools the base)" for key in MATCHED_SCHEDULE_KEYS}
    for key, reason in reasons.items():
        values = {repr(_setting(spec, key)) for spec in [*plan.bases, *plan.continuations]}
        if len(values) > 1:
            raise ValueError(f"{key} differs between study.base_model.trainer and study.grid.trainer ({values}): "
                             f"{reason}")


def base_of(plan: StudyPlan) -> dict[str, RunSpec]:
    """The base model spec each continuation run starts from, by the continuation's run id."""
    by_link = {plan.links / shape_name(spec.config.model): spec for spec in plan.bases}
    missing = [spec.run_id for spec in plan.continuations if Path(spec.config.stage.init_from) not in by_link]
    if missing:
        raise ValueError(f"continuation runs {missing[:3]} start from no planned base model")
    return {spec.run_id: by_link[Path(spec.config.stage.init_from)] for spec in plan.continuations}


def link_base_models(plan: StudyPlan) -> None:
    """Point ``<links>/<shape>`` at each base run's ``stable/`` (dangling until that run finishes)."""
    _check_matched_settings(plan)
    plan.links.mkdir(parents=True, exist_ok=True)
    for spec in plan.bases:
        link = plan.links / shape_name(spec.config.model)
        target = os.path.relpath(RunDir(spec.config.output_dir).stable, plan.links)
        if link.is_symlink() and os.readlink(link) == target:
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(target, target_is_directory=True)


def dependent_launch(plan: StudyPlan, launch: Launch = launch_local) -> Launch:
    """``launch`` that starts a continuation only once its base model has finished (or fails it if the base failed).

    The runner starts runs in the order given, so with the bases first a worker never waits on a run that has not
    started; a free worker meanwhile takes the continuations of a base that is already done.
    """
    bases = base_of(plan)
    base_dirs = {Path(spec.config.output_dir) for spec in plan.bases}
    finished = {path: threading.Event() for path in base_dirs}
    for path, event in finished.items():
        if RunDir(path).is_done():
            event.set()
    continuation_base = {Path(spec.config.output_dir): Path(bases[spec.run_id].config.output_dir)
                         for spec in plan.continuations}

    def launch_after_base(command: list[str], run: RunDir, environment: Mapping[str, str]) -> int:
        base = continuation_base.get(run.path)
        if base is not None:
            finished[base].wait()
            if not RunDir(base).is_done():
                with open(run.log, "a") as log_handle:
                    log_handle.write(f"not started: its base model {base} did not finish (see its train.log)\n")
                return 1
        try:
            return launch(command, run, environment)
        finally:
            if run.path in finished:
                finished[run.path].set()

    return launch_after_base


def results_with_base_rows(collected: pd.DataFrame, plan: StudyPlan) -> pd.DataFrame:
    """The continuation rows of this plan, plus each base model's final evaluation as its V = 0 row.

    A base model's annealed end is the V = 0 point of every continuation of its size (they all extend its stable
    phase), so its row belongs to the clean base corpus's curve at V = 0 (family ``base``), with that corpus's
    measured attributes; its seed is the base model's seed.
    """
    planned = {spec.run_id for spec in plan.continuations}
    table = collected[collected[RUN_COLUMN].isin(planned)]
    bases = collected[collected[RUN_COLUMN].isin({spec.run_id for spec in plan.bases})
                      & (collected["point"] == "final")].copy()
    reference = table[table["corpus"] == BASE].drop_duplicates("test_set").set_index("test_set")
    if bases.empty or reference.empty:
        return table.reset_index(drop=True)
    bases["pretrain_tokens"] = bases["V"]
    bases = bases.assign(V=0, point=BASE_MODEL_POINT, corpus=BASE, family=BASE, level=0.0)
    for column in COLUMNS:
        bases[column] = bases["test_set"].map(reference[column])
    return pd.concat([bases, table], ignore_index=True)
