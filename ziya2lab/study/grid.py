"""The study's training grid: model presets × corpora × seeds, each run a typed trainer config and its overrides.

One source for every trainer setting: the trainer's own schema. A study preset gives its trainer settings under
``study.grid.trainer`` in the trainer's own keys (``train.max_tokens``, ``data.eval_max_windows``, ...); the grid
adds the WSD schedule derived from them, and composes every run's overrides against the trainer app
(``conf/train.yaml``) before any process starts, so a misspelt or renamed trainer key fails at once, naming it.

The overrides are the interface on purpose: the same strings go to a local subprocess (``runner``), a Hydra
multirun (``sweep_yaml``) or a Slurm job, and a run's id is their hash.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ziya2lab.common.hashing import hash_config
from ziya2lab.eval.config import DownstreamConfig
from ziya2lab.study.compose import compose_app
from ziya2lab.study.config import GridConfig
from ziya2lab.train.config import LoggerConfig, LoggerKind, TrainAppConfig
from ziya2lab.train.datasets import input_paths
from ziya2lab.train.schedule import sequences_per_step, total_steps

TRAINER_APP = "train"
TRAINER_SETTINGS = "study.grid.trainer"  # where a study preset writes the trainer's settings


def make_run_id(label: str, overrides: Sequence[str]) -> str:
    """Readable label plus a hash of the overrides, so a changed setting is a new run, never a stale cache hit."""
    return f"{label}-{hash_config(list(overrides))[:8]}"


@dataclass(frozen=True)
class RunSpec:
    """One trainer run: a readable label, the overrides that define it, and the typed config they compose to."""

    label: str
    overrides: tuple[str, ...]
    config: TrainAppConfig = field(compare=False, repr=False)

    @property
    def run_id(self) -> str:
        return make_run_id(self.label, self.overrides)

    @property
    def planned_tokens(self) -> int:
        train = self.config.train
        return total_steps(train) * sequences_per_step(train) * train.seq_len


def hydra_quoted(text: str | Path) -> str:
    """A string as a Hydra quoted value, so spaces, commas and '=' in it survive the override grammar."""
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def hydra_value(value: Any) -> str:
    """A config value in Hydra's override grammar (strings always quoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return hydra_quoted(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{key}:{hydra_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(hydra_value(item) for item in value) + "]"
    return repr(value)


def settings_overrides(settings: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``{"train": {"lr": 0.001}}`` → ``["train.lr=0.001"]``: a nested mapping of trainer keys as overrides."""
    overrides = []
    for key, value in settings.items():
        if isinstance(value, Mapping) and value:
            overrides += settings_overrides(value, f"{prefix}{key}.")
        else:
            overrides.append(f"{prefix}{key}={hydra_value(value)}")
    return overrides


def _refused(error: Exception) -> ValueError:
    cause = f" ({error.__cause__})" if error.__cause__ else ""
    return ValueError(f"the trainer refuses the study's grid: {error}{cause}".replace("\n", " "))


def compose_trainer(overrides: Sequence[str]) -> DictConfig:
    """The trainer app's config for ``overrides``, as ``python -m ziya2lab.train <overrides>`` composes it.

    A key the trainer does not know, a bad value or a missing preset is a ``ValueError`` naming it.
    """
    try:
        return compose_app(TRAINER_APP, overrides)
    except (HydraException, OmegaConfBaseException) as error:
        raise _refused(error) from error


def typed_trainer(composed: DictConfig, value_overrides: Sequence[str], output_dir: str | Path) -> TrainAppConfig:
    """``composed`` with further plain-value overrides (no preset choices) applied, as the typed trainer config.

    Equal to composing all the overrides at once, at a fraction of the cost, so every run of a large grid is typed
    and validated before any of them starts.
    """
    config = copy.deepcopy(composed)
    overrides = [*value_overrides, f"output_dir={hydra_quoted(output_dir)}"]
    try:
        for override in OverridesParser.create().parse_overrides(overrides):
            OmegaConf.update(config, override.key_or_group, override.value(), merge=True)
        return OmegaConf.to_object(config)
    except (HydraException, OmegaConfBaseException) as error:
        raise _refused(error) from error


def logger_overrides(logger: LoggerConfig, group: str) -> list[str]:
    return [
        f"logger.kind={LoggerKind(logger.kind).value}",
        f"logger.mode={logger.mode}",
        f"logger.project={logger.project}",
        f"logger.group={group}",
    ]


def schedule_overrides(grid: GridConfig, trainer: TrainAppConfig) -> list[str]:
    """WSD over the run's whole budget, branching at ``branch_fractions`` of it, one evaluation at the end."""
    train = trainer.train
    if train.max_tokens is None:
        raise ValueError(f"{TRAINER_SETTINGS}.train.max_tokens is not set: every run of the grid needs a token budget")
    steps = total_steps(train)
    branches = sorted({round(fraction * train.max_tokens) for fraction in grid.branch_fractions})
    decay = train.wsd_decay_ratio * train.max_tokens if train.wsd_decay_tokens is None else train.wsd_decay_tokens
    if branches and branches[-1] >= train.max_tokens - decay:
        raise ValueError(
            f"study.grid.branch_fractions {list(grid.branch_fractions)} must lie in the stable phase, which ends "
            f"{decay:.0f} tokens (the decay) before train.max_tokens={train.max_tokens}"
        )
    return [
        "train.schedule=wsd",
        f"train.wsd_branch_at_tokens={hydra_value(branches)}",
        f"train.eval_every_steps={steps}",
        f"train.ckpt_every_steps={max(1, steps // 4)}",
    ]


def branch_downstream_overrides(grid: GridConfig, downstream: DownstreamConfig | None,
                                test_sets: Mapping[str, Path]) -> list[str]:
    """The trainer's in-process lm-eval at the end of each WSD branch, on the study's own test sets.

    A branch's cooled-down weights are not kept, so this is the only way its data volume gets downstream values; the
    run's final point is scored from ``final/`` afterwards, like the base models (``study.downstream``).
    """
    if downstream is None or not downstream.enabled or not grid.branch_fractions:
        return []
    settings = {"enabled": True, "tasks": list(downstream.tasks), "mc_max_items": downstream.mc_max_items,
                "bpb_max_bytes": downstream.bpb_max_bytes, "batch_size": downstream.batch_size}
    files = {name: str(path) for name, path in test_sets.items()}
    return [*settings_overrides({"downstream": settings}), f"++downstream.test_set_files={hydra_value(files)}",
            "train.downstream_at=branches"]


def grid_specs(
    grid: GridConfig,
    corpora: Mapping[str, Path],
    test_sets: Mapping[str, Path],
    tokenizer_dir: Path,
    logger: LoggerConfig,
    group: str,
    runs_dir: Path,
    downstream: DownstreamConfig | None = None,
) -> list[RunSpec]:
    """One run per (model preset, corpus, seed), each composed and validated by the trainer's schema.

    ``corpora`` maps a corpus name to its training file; ``test_sets`` replace the trainer's eval sets of the same
    names (``++`` merges into them). Runs live in ``runs_dir/<run id>``. With ``downstream``, each WSD branch is also
    scored on its tasks in process (``branch_downstream_overrides``).
    """
    eval_sets = ",".join(f"{name}:{{source:null,path:{hydra_quoted(path)}}}" for name, path in test_sets.items())
    settings = [
        *settings_overrides(grid.trainer),
        "train.max_steps=null",  # max_tokens decides
        "data=files",
        f"++data.eval_sets={{{eval_sets}}}",
        f"tokenizer.path={hydra_quoted(tokenizer_dir)}",
        *logger_overrides(logger, group),
        *branch_downstream_overrides(grid, downstream, test_sets),
        *grid.extra_overrides,
    ]
    shared = [*settings, *schedule_overrides(grid, typed_trainer(compose_trainer(settings), [], runs_dir))]
    composed_by_model = {model: compose_trainer([f"model={model}", *shared]) for model in grid.models}
    specs = []
    for model, (corpus, corpus_file), seed in itertools.product(grid.models, corpora.items(), grid.seeds):
        run_values = (f"data.components.0.sources.0.path={hydra_quoted(corpus_file)}", f"seed={seed}")
        overrides = (f"model={model}", *run_values, *shared)
        label = f"{model}-{corpus}-s{seed}"
        config = typed_trainer(composed_by_model[model], run_values, runs_dir / make_run_id(label, overrides))
        specs.append(RunSpec(label, overrides, config))
    if len({spec.run_id for spec in specs}) != len(specs):
        raise ValueError("two runs of the grid have the same label and overrides")
    return specs


def sweep_yaml(specs: Sequence[RunSpec], launch: Sequence[str], header: str, hint: str) -> str:
    """The grid as a Hydra sweep config (``+sweep=<name>``): the same overrides as ``specs``, plus ``launch``.

    Keys whose value differs between runs become the sweep's axes; the sweep is their product, so ``specs`` must
    be one (as ``grid_specs`` makes them). A callback refuses the multirun, before any job directory exists, while
    an input of a run is missing, and says ``hint``.
    """
    params: dict[str, list[str]] = {}
    for override in [*launch, *(override for spec in specs for override in spec.overrides)]:
        key, value = override.split("=", 1)
        if value not in params.setdefault(key, []):
            params[key].append(value)
    if len(specs) != len(list(itertools.product(*params.values()))):
        raise ValueError("the runs are not a product of their varying settings: no sweep file describes them")
    inputs = sorted({path for spec in specs for path in input_paths(spec.config)})
    config = {
        "defaults": [{"override /hydra/launcher": "parallel"}],
        "hydra": {
            "mode": "MULTIRUN",
            "callbacks": {
                "require_inputs": {"_target_": "ziya2lab.train.app.RequireInputs", "paths": inputs, "hint": hint}
            },
            "sweeper": {"params": {key: ",".join(values) for key, values in params.items()}},
        },
    }
    body = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100_000)
    return "# @package _global_\n" + "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + body
