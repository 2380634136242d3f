"""The run directory: the unit of record that the trainer writes and collect, the runner, the study, evaluation
and the recipe read.

Everything downstream reads these files, never live objects, so a run made locally, on Slurm or by hand can enter
a table or a fit. This module is the only place that spells the files' names; everything else asks a ``RunDir``.

    <run>/config.yaml        the resolved trainer config, written first
    <run>/metrics.jsonl      one record per logged step (append-only; the last line may be torn by a kill)
    <run>/branches.jsonl     one record per WSD cooldown branch
    <run>/checkpoints/       resumable checkpoints
    <run>/final/             the HF checkpoint (config.json, model.safetensors, tokenizer)
    <run>/summary.json       written last and atomically: the run is done when it exists
    <run>/eval.json          downstream evaluation of ``final/`` (lm-evaluation-harness)
    <run>/train.log, command.txt, wandb_run_id.txt
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ziya2lab.common.atomic import atomic_write_json

# The rated corpus's record, beside its documents (not in a run directory, but read by collect through the run's
# training path, and written by the raters).
CORPUS_ATTRIBUTES_FILE = "attributes.json"


@dataclass(frozen=True)
class RunDir:
    """Paths of one run directory."""

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

    def is_run(self) -> bool:
        """Whether the trainer wrote this directory (it writes ``config.yaml`` first, then ``metrics.jsonl``)."""
        return self.config.exists() and self.metrics.exists()

    def is_done(self) -> bool:
        """A run is done when its summary exists: the trainer writes it last, atomically, on completion only."""
        return self.summary.exists()

    def read_summary(self) -> RunSummary:
        return RunSummary.read(self.summary)


def find_run_dirs(root: str | Path) -> list[RunDir]:
    """Every run directory below ``root`` (``root`` itself included), in path order."""
    root = Path(root)
    found = [RunDir(config.parent) for config in sorted(root.rglob("config.yaml")) if config.parent.name != ".hydra"]
    return [run for run in found if run.is_run()]


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
    branches: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: str | Path) -> None:
        atomic_write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> RunSummary:
        known = {f.name for f in fields(cls)}
        missing = [f.name for f in fields(cls)
                   if f.name not in record and f.default is MISSING and f.default_factory is MISSING]
        if missing:
            raise KeyError(f"run summary lacks {', '.join(missing)}")
        return cls(**{key: value for key, value in record.items() if key in known})

    @classmethod
    def read(cls, path: str | Path) -> RunSummary:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (KeyError, TypeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: not a run summary ({error})") from error
