"""Turn any tree of trainer run directories (a Hydra multirun, a study's ``runs/``, SLURM output) into one table.

The run directory is the unit of record, so this reads only files, through ``RunDir``: the run's summary and
resolved config, Hydra's record of the model preset, and the raters' record beside every rated corpus (one value
per attribute; similarity per test set). One row per (run, data volume, test set): the run's final evaluation and
each WSD cooldown branch are separate data volumes, both complete learning-rate schedules. The stable-phase
evaluations in the metrics log are not: their loss is inflated by the undecayed learning rate, so they are not
rows.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override

from ziya2lab.common.attributes import ATTRIBUTES, COLUMNS, RUN_COLUMN
from ziya2lab.common.run_dir import CORPUS_ATTRIBUTES_FILE, RunDir, find_run_dirs

log = logging.getLogger(__name__)

RESULT_COLUMNS = [
    RUN_COLUMN,
    "model",
    "N",
    "N_total",
    "V",
    "point",
    "corpus",
    "family",
    "level",
    *COLUMNS,
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


def _training_paths(config: dict[str, Any]) -> list[Path]:
    return [
        Path(source["path"])
        for component in config.get("data", {}).get("components", [])
        for source in component.get("sources", [])
        if source.get("path")
    ]


def corpus_attributes(config: dict[str, Any]) -> dict[str, Any]:
    """The raters' record of the run's training corpus, or ``{}`` for mixtures and unrated corpora.

    A corpus is a directory (or a file in one) holding the record; a run that mixes several corpora has no single
    attribute value, so it gets none rather than a wrong one.
    """
    paths = _training_paths(config)
    if len(paths) != 1:
        return {}
    path = paths[0]
    directory = path if path.is_dir() else path.parent
    attributes_file = directory / CORPUS_ATTRIBUTES_FILE
    if not attributes_file.exists():
        return {}
    return json.loads(attributes_file.read_text(encoding="utf-8"))


def attribute_columns(attributes: dict[str, Any], test_set: str) -> dict[str, Any]:
    """The table's attribute columns for one test set: a rater's value, or its value for that test set."""
    columns = {}
    for attribute in ATTRIBUTES:
        value = attributes.get(attribute.rater)
        columns[attribute.column] = value.get(test_set) if isinstance(value, dict) else value
    return columns


def _rows_of_run(run: RunDir, root: Path) -> list[dict[str, Any]]:
    summary = run.read_summary()
    config = run.read_config()
    attributes = corpus_attributes(config)
    run_id = str(run.path.relative_to(root)) if run.path != root else run.path.name
    model = run.preset_choices().get("model", "custom")
    rows = []
    for volume in summary.volumes():
        for test_set, loss in volume.eval.items():
            rows.append(
                {
                    RUN_COLUMN: run_id,
                    "model": model,
                    "N": summary.parameters_non_embedding,
                    "N_total": summary.parameters,
                    "V": volume.tokens,
                    "point": volume.point,
                    "corpus": attributes.get("corpus", "unrated"),
                    "family": attributes.get("family"),
                    "level": attributes.get("level"),
                    **attribute_columns(attributes, test_set),
                    "test_set": test_set,
                    "loss": loss,
                    "seed": config.get("seed"),
                    "wall_time": summary.wall_time_s,
                    "run_dir": str(run.path),
                    **volume.downstream,
                }
            )
    return rows


def _override_value(override: Override) -> Any:
    """A scalar as its value (``train.lr=1e-3`` → 0.001), anything else as written (a list, a dict, a quoted path)."""
    value = override.value()
    return value if isinstance(value, str | int | float | bool) or value is None else \
        override.get_value_element_as_str()


def swept_overrides(runs: list[RunDir]) -> dict[Path, dict[str, Any]]:
    """Per run, the command-line overrides whose value differs between the runs (a multirun's swept keys), keyed
    as written (``train.lr``); keys the table already has (``model``, ``seed``) and Hydra's own are left out."""
    parser = OverridesParser.create()
    given = {run.path: {override.key_or_group: _override_value(override)
                        for override in parser.parse_overrides(run.overrides())} for run in runs}
    keys = sorted({key for overrides in given.values() for key in overrides})
    swept = [key for key in keys if key not in RESULT_COLUMNS and not key.startswith("hydra")
             and len({repr(overrides.get(key)) for overrides in given.values()}) > 1]
    return {path: {key: overrides.get(key) for key in swept} for path, overrides in given.items()}


def collect(root: str | Path) -> pd.DataFrame:
    """One row per (run, data volume, test set) for every finished run below ``root``, with a column per swept
    override (``swept_overrides``) after the fixed ``RESULT_COLUMNS``, then a ``<task>/<metric>`` column per
    downstream score a WSD branch recorded in process (NaN on the other rows).

    Unfinished or failed runs (no summary) are not rows; they are listed in ``table.attrs["skipped"]`` with the
    reason, and logged, so a partly finished sweep can be fitted knowingly.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such directory of trainer runs")
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a directory (give a multirun directory or a study's runs/)")
    rows: list[dict[str, Any]] = []
    skipped: list[SkippedRun] = []
    runs = find_run_dirs(root)
    swept = swept_overrides(runs)
    for run in runs:
        if not run.is_done():
            skipped.append(SkippedRun(str(run.path), "no summary: unfinished or failed"))
            continue
        try:
            rows.extend(row | swept[run.path] for row in _rows_of_run(run, root))
        except (KeyError, ValueError, json.JSONDecodeError) as error:
            skipped.append(SkippedRun(str(run.path), f"unreadable run record: {error!r}"))
    for run in skipped:
        log.warning("collect: skipped %s (%s)", run.run_dir, run.reason)
    swept_columns = list(next(iter(swept.values()), {}))
    downstream_columns = sorted({key for row in rows for key in row} - {*RESULT_COLUMNS, *swept_columns})
    table = pd.DataFrame(rows, columns=[*RESULT_COLUMNS, *swept_columns, *downstream_columns])
    for column in (*COLUMNS, "level", "loss", "wall_time"):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    table.attrs["skipped"] = [run.__dict__ for run in skipped]
    return table
