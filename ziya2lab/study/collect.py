"""Turn any tree of trainer run directories (a Hydra multirun, a study's ``runs/``, SLURM output) into one table.

The run directory is the unit of record, so this reads only files: the trainer's ``summary.json`` and resolved
``config.yaml``, Hydra's ``.hydra/hydra.yaml`` (for the chosen model preset) and the ``attributes.json`` of the
raters (``coherence``, ``readability``, ``similarity`` per test set) beside every rated corpus. One row per (run, data volume, test set): the run's final evaluation and
each WSD cooldown branch are separate data volumes, both complete learning-rate schedules. The stable-phase
evaluations in ``metrics.jsonl`` are not: their loss is inflated by the undecayed learning rate, so they are not
rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

log = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.yaml"
CORPUS_ATTRIBUTES_FILE = "attributes.json"
EVAL_PREFIX = "eval/"

RESULT_COLUMNS = [
    "run_id",
    "model",
    "N",
    "N_total",
    "V",
    "point",
    "corpus",
    "family",
    "level",
    "CH",
    "RA",
    "SIM",
    "test_set",
    "loss",
    "seed",
    "wall_time",
    "run_dir",
]


@dataclass
class SkippedRun:
    run_dir: str
    reason: str


def _read_yaml(path: Path) -> dict[str, Any]:
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def _model_preset(run_dir: Path) -> str:
    hydra_file = run_dir / ".hydra" / "hydra.yaml"
    if hydra_file.exists():
        choices = _read_yaml(hydra_file).get("hydra", {}).get("runtime", {}).get("choices", {})
        if choices.get("model"):
            return str(choices["model"])
    return "custom"


def _training_paths(config: dict[str, Any]) -> list[Path]:
    return [
        Path(source["path"])
        for component in config.get("data", {}).get("components", [])
        for source in component.get("sources", [])
        if source.get("path")
    ]


def corpus_attributes(config: dict[str, Any]) -> dict[str, Any]:
    """The ``attributes.json`` of the run's training corpus, or ``{}`` for mixtures and unrated corpora.

    A corpus is a directory (or a file in one) holding ``attributes.json``; a run that mixes several corpora has
    no single attribute value, so it gets none rather than a wrong one.
    """
    paths = _training_paths(config)
    if len(paths) != 1:
        return {}
    path = paths[0]
    directory = path if path.is_dir() else path.parent
    attributes_file = directory / CORPUS_ATTRIBUTES_FILE
    if not attributes_file.exists():
        return {}
    return json.loads(attributes_file.read_text())


def _volume_points(summary: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, float]]]:
    """(point name, tokens, {test set: loss}) for each cooldown branch and the final evaluation."""
    for branch in summary.get("branches", []):
        losses = {key.removeprefix(EVAL_PREFIX): value for key, value in branch.items() if key.startswith(EVAL_PREFIX)}
        yield f"branch@{branch['branch_at_tokens']}", int(branch["tokens"]), losses
    yield "final", int(summary["tokens"]), dict(summary.get("eval", {}))


def _rows_of_run(run_dir: Path, root: Path) -> list[dict[str, Any]]:
    summary = json.loads((run_dir / SUMMARY_FILE).read_text())
    config = _read_yaml(run_dir / CONFIG_FILE) if (run_dir / CONFIG_FILE).exists() else {}
    attributes = corpus_attributes(config)
    similarity = attributes.get("similarity", {})
    run_id = str(run_dir.relative_to(root)) if run_dir != root else run_dir.name
    rows = []
    for point, tokens, losses in _volume_points(summary):
        for test_set, loss in losses.items():
            rows.append(
                {
                    "run_id": run_id,
                    "model": _model_preset(run_dir),
                    "N": summary["parameters_non_embedding"],
                    "N_total": summary["parameters"],
                    "V": tokens,
                    "point": point,
                    "corpus": attributes.get("corpus", "unrated"),
                    "family": attributes.get("family"),
                    "level": attributes.get("level"),
                    "CH": attributes.get("coherence"),
                    "RA": attributes.get("readability"),
                    "SIM": similarity.get(test_set) if isinstance(similarity, dict) else similarity,
                    "test_set": test_set,
                    "loss": loss,
                    "seed": config.get("seed"),
                    "wall_time": summary.get("wall_time_s"),
                    "run_dir": str(run_dir),
                }
            )
    return rows


def find_run_dirs(root: Path) -> Iterator[Path]:
    """Every directory below ``root`` that the trainer wrote (it always writes ``config.yaml`` first)."""
    for config_file in sorted(root.rglob(CONFIG_FILE)):
        if config_file.parent.name != ".hydra" and (config_file.parent / "metrics.jsonl").exists():
            yield config_file.parent


def collect(root: str | Path) -> pd.DataFrame:
    """One row per (run, data volume, test set) for every finished run below ``root``.

    Unfinished or failed runs (no ``summary.json``) are not rows; they are listed in ``table.attrs["skipped"]``
    with the reason, and logged, so a partly finished sweep can be fitted knowingly.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"no run directory tree at {root}")
    rows: list[dict[str, Any]] = []
    skipped: list[SkippedRun] = []
    for run_dir in find_run_dirs(root):
        if not (run_dir / SUMMARY_FILE).exists():
            skipped.append(SkippedRun(str(run_dir), "no summary.json: unfinished or failed"))
            continue
        try:
            rows.extend(_rows_of_run(run_dir, root))
        except (KeyError, ValueError, json.JSONDecodeError) as error:
            skipped.append(SkippedRun(str(run_dir), f"unreadable run record: {error!r}"))
    for run in skipped:
        log.warning("collect: skipped %s (%s)", run.run_dir, run.reason)
    table = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    for column in ("CH", "RA", "SIM", "level", "loss", "wall_time"):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    table.attrs["skipped"] = [run.__dict__ for run in skipped]
    return table
