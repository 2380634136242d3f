"""The run directory: the unit of record that the trainer writes and collect, the runner, the study, evaluation
and the recipe read.

Everything downstream reads these files, never live objects, so a run made locally, on Slurm or by hand can enter
a table or a fit. This module is the only place that spells the files' names; everything else asks a ``RunDir``.

    <run>/config.yaml        the resolved trainer config, written first
    <run>/metrics.jsonl      one record per logged step (append-only; the last line may be torn by a kill)
    <run>/branches.jsonl     one record per WSD cooldown branch
    <run>/checkpoints/       resumable checkpoints
    <run>/final/             the HF checkpoint (config.json, model.safetensors, tokenizer)
    <run>/stable/            a WSD run's weights at the end of its stable phase, before the decay, as an HF
                             checkpoint like final/ (``train.export_stable``): what a continuation starts from
    <run>/summary.json       written last and atomically: the run is done when it exists
    <run>/eval.json          downstream evaluation of ``final/`` (lm-evaluation-harness)
    <run>/train.log, command.txt, wandb_run_id.txt
    <run>/launch.yaml        how the run was first launched: Hydra's preset choices and command-line overrides
                             (Hydra rewrites <run>/.hydra/ at every launch, a resume included)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from ziya2lab.common.atomic import atomic_write_json, atomic_write_text
from ziya2lab.common.jsonl import read_jsonl, write_jsonl

# The rated corpus's record, beside its documents (not in a run directory, but read by collect through the run's
# training path, and written by the raters).
CORPUS_ATTRIBUTES_FILE = "attributes.json"


def _read_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML ({error})") from error


@dataclass(frozen=True)
class RunDir:
    """Paths of one run directory, and reading and writing its records."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def branches(self) -> Path:
        return self.path / "branches.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def final(self) -> Path:
        return self.path / "final"

    @property
    def stable(self) -> Path:
        """The stable-phase end of a WSD run (``train.export_stable``): the peak-rate weights a continual pre-training
        run continues from, where ``final/`` has been annealed and would have to be re-warmed."""
        return self.path / "stable"

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    @property
    def eval(self) -> Path:
        return self.path / "eval.json"

    @property
    def log(self) -> Path:
        return self.path / "train.log"

    @property
    def command(self) -> Path:
        return self.path / "command.txt"

    @property
    def wandb_id(self) -> Path:
        return self.path / "wandb_run_id.txt"

    @property
    def launch(self) -> Path:
        return self.path / "launch.yaml"

    @property
    def hydra_dir(self) -> Path:
        return self.path / ".hydra"

    def is_run(self) -> bool:
        """Whether the trainer wrote this directory (it writes ``config.yaml`` first, then ``metrics.jsonl``)."""
        return self.config.exists() and self.metrics.exists()

    def is_done(self) -> bool:
        """A run is done when its summary exists: the trainer writes it last, atomically, on completion only."""
        return self.summary.exists()

    # ------------------------------------------------------------------------------------------ records
    def write_config(self, resolved: Mapping[str, Any]) -> None:
        """The resolved trainer config, as YAML (enums as their values)."""
        atomic_write_text(self.config, yaml.safe_dump(dict(resolved), sort_keys=False, allow_unicode=True))

    def read_config(self) -> dict[str, Any]:
        """The resolved trainer config; ``{}`` if the run has none (a run directory made by hand)."""
        return (_read_yaml(self.config) or {}) if self.config.exists() else {}

    def read_metrics(self) -> list[dict[str, Any]]:
        """The logged records; a last line torn by a kill is dropped, a run that has logged nothing gives ``[]``."""
        return read_jsonl(self.metrics, on_bad_line="torn_tail", missing_ok=True)

    def read_branches(self) -> list[BranchRecord]:
        return [BranchRecord.from_dict(record) for record in read_jsonl(self.branches, missing_ok=True)]

    def write_branches(self, branches: list[BranchRecord]) -> None:
        write_jsonl(self.branches, (branch.to_dict() for branch in branches))

    def read_summary(self) -> RunSummary:
        return RunSummary.read(self.summary)

    def write_summary(self, summary: RunSummary) -> None:
        atomic_write_json(self.summary, summary.to_dict())

    def write_launch(self, choices: Mapping[str, str | None], overrides: list[str]) -> None:
        """Record how the run was first launched; a resume keeps this record (Hydra's own is rewritten)."""
        record = {"choices": dict(choices), "overrides": list(overrides)}
        atomic_write_text(self.launch, yaml.safe_dump(record, sort_keys=False, allow_unicode=True))

    def _launch_record(self) -> dict[str, Any]:
        """The first launch's record; for a run made without it, Hydra's record of the last launch."""
        if self.launch.exists():
            return _read_yaml(self.launch) or {}
        hydra_file, overrides_file = self.hydra_dir / "hydra.yaml", self.hydra_dir / "overrides.yaml"
        hydra = (_read_yaml(hydra_file) or {}).get("hydra", {}) if hydra_file.exists() else {}
        return {"choices": hydra.get("runtime", {}).get("choices", {}),
                "overrides": (_read_yaml(overrides_file) or []) if overrides_file.exists() else []}

    def preset_choices(self) -> dict[str, str]:
        """The config-group presets the run was composed from (``model``, ``data``, ...); ``{}`` without Hydra."""
        choices = self._launch_record().get("choices") or {}
        return {str(group): str(choice) for group, choice in choices.items() if choice is not None}

    def overrides(self) -> list[str]:
        """The command-line overrides the run was launched with; ``[]`` without Hydra."""
        return [str(item) for item in self._launch_record().get("overrides") or []]


def find_run_dirs(root: str | Path) -> list[RunDir]:
    """Every run directory below ``root`` (``root`` itself included), in path order."""
    root = Path(root)
    found = [RunDir(config.parent) for config in sorted(root.rglob("config.yaml")) if config.parent.name != ".hydra"]
    return [run for run in found if run.is_run()]


def _from_dict(cls: type, record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of dataclass ``cls`` present in ``record``; a required field that is missing is a ``KeyError``."""
    missing = [f.name for f in fields(cls)
               if f.name not in record and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise KeyError(f"{cls.__name__} lacks {', '.join(missing)}")
    known = {f.name for f in fields(cls)}
    return {key: value for key, value in record.items() if key in known}


# Summaries written before the run directory had an owner spelt each eval loss "eval/<test set>" inside branches.
_LEGACY_EVAL_PREFIX = "eval/"


@dataclass
class BranchRecord:
    """One WSD cooldown branch: a complete learning-rate schedule ending at ``tokens``, with its held-out losses."""

    branch_at_tokens: int
    branch_step: int
    cooldown_steps: int
    steps: int
    tokens: int
    final_train_loss: float | None
    skipped_steps: int
    eval: dict[str, float]
    # lm-eval's scores at the branch's end as results-table columns (``<task>/<metric>``), when the trainer scored
    # them in process (``downstream.enabled``): a branch's cooled-down weights are not kept, so only then
    downstream: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> BranchRecord:
        if "eval" not in record:  # the legacy spelling: read, never written
            losses = {key.removeprefix(_LEGACY_EVAL_PREFIX): value for key, value in record.items()
                      if key.startswith(_LEGACY_EVAL_PREFIX)}
            record = {**record, "eval": losses}
        return cls(**_from_dict(cls, record))


FINAL_VOLUME = "final"  # the name of the run's own end among its data volumes


@dataclass(frozen=True)
class DataVolume:
    """One data volume a run reports: a point name, the tokens trained on, and the held-out losses there."""

    point: str  # "branch@<tokens>" or "final"
    tokens: int
    eval: dict[str, float]
    downstream: dict[str, float] = field(default_factory=dict)  # a branch's in-process lm-eval columns, if any


@dataclass
class RunSummary:
    """What a finished run reports: its size, its data volume and its held-out losses (``eval``: test set → loss).

    ``branches`` holds one record per WSD cooldown branch, each with its own ``tokens`` and ``eval``.
    """

    status: str
    steps: int
    total_steps: int
    tokens: int
    loss_tokens: int
    tokens_per_step: int
    seq_len: int
    batch_size: int
    parameters: int
    parameters_non_embedding: int
    flops_per_token: float
    eval: dict[str, float]
    skipped_steps: int
    wall_time_s: float
    num_processes: int
    precision: str
    warmup_steps: int
    branches: list[BranchRecord] = field(default_factory=list)
    resumed_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: str | Path) -> None:
        atomic_write_json(path, self.to_dict())

    def volumes(self) -> list[DataVolume]:
        """The run's complete learning-rate schedules, smallest first: each cooldown branch, then the final one."""
        branches = [DataVolume(f"branch@{branch.branch_at_tokens}", branch.tokens, branch.eval, branch.downstream)
                    for branch in self.branches]
        return [*branches, DataVolume(FINAL_VOLUME, self.tokens, self.eval)]

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> RunSummary:
        values = _from_dict(cls, record)
        values["branches"] = [BranchRecord.from_dict(branch) for branch in values.get("branches", [])]
        return cls(**values)

    @classmethod
    def read(cls, path: str | Path) -> RunSummary:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: not a run summary ({error})") from error
