"""The study's downstream evaluation: every finished run's ``final/`` on lm-evaluation-harness tasks, as a long
table, as ``task/metric`` columns of the results table, and as a report section with DataDecide's decision accuracy.

Which runs: every planned run, the base models included (a base model's record belongs to the V = 0 row of every
continuation of its size). Each is evaluated in this process (``ziya2lab.eval.harness``: the checkpoint read once,
lm-eval's ``HFLM`` on the model object, one ``TaskManager`` for every run); its record goes to its ``eval.json``
through ``RunDir`` and is reused by a re-run whenever it was made for the same inputs (the run's summary, the tasks,
their items, the settings). Which tasks: ``study.eval`` (``ziya2lab.eval.config.DownstreamConfig``), by default the
generated multiple-choice proxies at a fixed number of items, sized to add about a minute to the default study
(docs/EVAL.md, "In the study").

    result = evaluate_downstream(run_dirs, test_sets, study.eval)      # writes each run's eval.json
    table = with_downstream_columns(table, result.table)               # task/metric at each run's final point
    markdown, figure = downstream_section(out_dir, table, result)      # the report's section and its PNG
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ziya2lab.common.run_dir import FINAL_VOLUME, RunDir
from ziya2lab.eval.config import DownstreamConfig, GeneratedTasksConfig
from ziya2lab.eval.harness import evaluate_if_stale, expand_tasks, is_evaluable
from ziya2lab.eval.metrics import column_name, eval_rows
from ziya2lab.eval.tasks import build_task_dir
from ziya2lab.study.base_models import BASE_MODEL_POINT
from ziya2lab.study.effects import decision_accuracy

log = logging.getLogger(__name__)

RUN_DIR = "run_dir"  # the results table's column naming each row's run directory (study.collect)
LONG_COLUMNS = [RUN_DIR, "task", "test_set", "kind", "n", "metric", "value", "stderr", "eval_wall_time_s"]
FINAL_POINTS = (FINAL_VOLUME, BASE_MODEL_POINT)  # a run's own end, and a base model's as the V = 0 row
REPORTED_METRICS = ("acc", "acc_norm", "prob_correct", "margin")
PLOTTED_METRIC = "prob_correct"  # continuous, so it ranks small models where accuracy is at chance
FIGURE = "downstream.png"
RUN_KEYS = ["model", "N", "family", "corpus", "level", "V"]  # one cell of seeds


@dataclass
class DownstreamResult:
    """What ``evaluate_downstream`` did: the long table and what happened to each run."""

    table: pd.DataFrame  # LONG_COLUMNS, one row per (run, task, metric)
    evaluated: list[str] = field(default_factory=list)  # run directories evaluated by this call
    reused: list[str] = field(default_factory=list)  # run directories whose eval.json was made for these inputs
    skipped: dict[str, str] = field(default_factory=dict)  # run directory -> why it has no evaluation
    unavailable: dict[str, str] = field(default_factory=dict)  # named lm-eval task -> why it was not scored
    enabled: bool = True


def empty_result(enabled: bool = False) -> DownstreamResult:
    return DownstreamResult(pd.DataFrame(columns=LONG_COLUMNS), enabled=enabled)


def task_test_sets(tasks: Sequence[str], test_sets: Mapping[str, Path], generated: GeneratedTasksConfig
                   ) -> dict[str, str | None]:
    """Each requested task (the tag ``ziya2lab`` expanded) and the held-out set it was generated from (``None``
    for a task lm-eval knows by name); an unknown generated name fails here, before any run is evaluated."""
    task_dir = build_task_dir(test_sets, generated)
    return {name: task_dir.tasks[name].test_set if name in task_dir.tasks else None
            for name in expand_tasks(list(tasks), task_dir)}


def evaluate_downstream(runs: Iterable[RunDir | Path | str], test_sets: Mapping[str, Path],
                        config: DownstreamConfig) -> DownstreamResult:
    """Evaluate every finished run among ``runs`` (whose ``eval.json`` is missing or stale) on ``config.tasks``
    built from ``test_sets`` (``{name: items.jsonl}``, the study's held-out sets); unfinished runs are listed as
    skipped, and a run whose evaluation fails is listed with its error, the others still evaluated."""
    if not config.enabled:
        return empty_result(enabled=False)
    generated, harness = config.generated(list(test_sets)), config.harness()
    test_set_of = task_test_sets(config.tasks, test_sets, generated)
    result = empty_result(enabled=True)
    rows: list[dict[str, Any]] = []
    for run in tqdm([RunDir(Path(getattr(run, "path", run))) for run in runs], desc="downstream evaluation",
                    unit="run"):
        if not is_evaluable(run.path):
            result.skipped[str(run.path)] = f"not a finished run (no {run.summary.name} and {run.final.name}/)"
            continue
        try:
            record, fresh = evaluate_if_stale(run.path, list(config.tasks), test_sets, harness=harness,
                                              generated=generated)
        except Exception as error:  # lm-eval fails in many ways; one run's failure must not lose the others
            log.error("downstream evaluation of %s failed: %r", run.path, error)
            result.skipped[str(run.path)] = f"evaluation failed: {error!r}"
            continue
        (result.evaluated if fresh else result.reused).append(str(run.path))
        result.unavailable.update(record.get("unavailable", {}))
        rows += [{RUN_DIR: str(run.path), "test_set": test_set_of.get(row["task"]), **row,
                  "eval_wall_time_s": record["wall_time_s"]} for row in eval_rows(record)]
    result.table = pd.DataFrame(rows, columns=LONG_COLUMNS)
    return result


def _resolved(path: str) -> str:
    return str(Path(path).resolve())


def with_downstream_columns(table: pd.DataFrame, downstream: pd.DataFrame) -> pd.DataFrame:
    """``table`` (the study's results rows) with one ``task/metric`` column per downstream metric, holding each
    run's value on its rows at the run's final point (a base model's V = 0 rows included); a column that the
    collected branch rows already have (scored in process by the trainer) keeps their values, else NaN there."""
    if downstream.empty:
        return table.copy()
    keyed = downstream.assign(column=[column_name(task, metric)
                                      for task, metric in zip(downstream["task"], downstream["metric"], strict=True)],
                              key=downstream[RUN_DIR].map(_resolved))
    repeated = keyed[keyed.duplicated(["key", "column"])]
    if not repeated.empty:
        raise ValueError(f"the downstream table holds {repeated['column'].iloc[0]} twice for {repeated['key'].iloc[0]}")
    wide = keyed.pivot(index="key", columns="column", values="value")
    at_final = table["point"].isin(FINAL_POINTS).to_numpy()
    clash = [column for column in wide.columns if column in table and table.loc[at_final, column].notna().any()]
    if clash:
        raise ValueError(f"the results table already has final-point values of the downstream columns {clash}")
    columns = wide.reindex(table[RUN_DIR].map(_resolved).to_numpy()).set_axis(table.index).rename_axis(columns=None)
    columns.loc[~at_final] = np.nan
    merged = table.copy()
    for column in columns:
        merged[column] = columns[column].where(at_final, merged.get(column, np.nan))
    return merged


def _run_metrics(table: pd.DataFrame, downstream: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, task, metric) with the run's place in the design and its final loss on the task's set
    (for a task lm-eval knows by name, the mean over the test sets)."""
    finals = table[table["point"].isin(FINAL_POINTS)].assign(key=lambda rows: rows[RUN_DIR].map(_resolved))
    runs = finals.drop_duplicates("key")[["key", *RUN_KEYS, "seed"]]
    losses = finals.groupby(["key", "test_set"])["loss"].mean()
    mean_loss = finals.groupby("key")["loss"].mean()
    rows = downstream.assign(key=downstream[RUN_DIR].map(_resolved)).merge(runs, on="key")
    rows["loss"] = [losses.get((key, test_set), math.nan) if isinstance(test_set, str) else mean_loss.get(key)
                    for key, test_set in zip(rows["key"], rows["test_set"], strict=True)]
    return rows


def _spread(values: pd.Series) -> str:
    """Seed mean ± sd (the mean alone for one seed)."""
    values = values.dropna()
    if values.empty:
        return "–"
    return f"{values.mean():.4f}" if len(values) < 2 else f"{values.mean():.4f} ± {values.std(ddof=1):.4f}"


def _task_table(rows: pd.DataFrame) -> str:
    """Per cell of seeds: the final loss on the task's set and each reported metric, seed mean ± sd."""
    cells = []
    for keys, cell in rows.groupby(RUN_KEYS, dropna=False, sort=True):
        by_metric = cell.pivot_table(index="seed", columns="metric", values="value", dropna=False)
        losses = cell.drop_duplicates("seed")["loss"]
        cells.append({**dict(zip(RUN_KEYS, keys, strict=True)), "seeds": len(losses), "final loss": _spread(losses),
                      **{metric: _spread(by_metric[metric]) for metric in REPORTED_METRICS if metric in by_metric}})
    frame = pd.DataFrame(cells).drop(columns=["N"]).sort_values(["model", "V", "family", "corpus"])
    missing = [column for column in frame.columns if frame[column].isna().any()]  # shown as "–", not "nan"
    return frame.astype(dict.fromkeys(missing, object)).fillna("–").to_markdown(index=False)


def _seed_means(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Per (model, corpus): the seed mean of each reported metric and of the final loss; and the models by size."""
    keys = ["key", "model", "N", "corpus"]
    per_run = rows.pivot_table(index=keys, columns="metric", values="value")
    per_run = per_run[[metric for metric in REPORTED_METRICS if metric in per_run.columns]]
    per_run["final loss"] = rows.groupby(keys)["loss"].first()
    means = per_run.groupby(["model", "corpus"]).mean()
    models = rows.drop_duplicates("model").sort_values("N")["model"].tolist()
    return means, models


def _decision_rows(rows: pd.DataFrame, resamples: int, seed: int) -> list[dict[str, Any]]:
    """DataDecide's decision accuracy between consecutive sizes, per task, on each metric and on the final loss:
    corpora compared at their continuations' final V (seed means), with a 95% bootstrap CI over corpora."""
    found = []
    for task, of_task in rows[rows["V"] > 0].groupby("task"):
        means, models = _seed_means(of_task)
        for small, large in itertools.pairwise(models):
            for measure in means.columns:
                pair = means[measure].unstack("model")[[small, large]].dropna()
                try:
                    estimate, low, high = decision_accuracy(pair[small], pair[large], resamples, seed)
                    shown = f"{estimate:.3f} [{low:.3f}, {high:.3f}]"
                except ValueError as error:  # fewer than two corpora measured at both sizes
                    shown = f"not measured: {error}"
                found.append({"task": task, "measure": measure, "small": small, "large": large,
                              "corpora": len(pair), "decision accuracy [95% CI]": shown})
    return found


def _figure(rows: pd.DataFrame, path: Path) -> Path | None:
    """Per task: the final loss on its held-out set against ``PLOTTED_METRIC``, seed means with sd bars, one
    colour per model; the base models (V = 0) as stars."""
    plotted = rows[rows["metric"] == PLOTTED_METRIC]
    if plotted.empty:
        return None
    tasks = sorted(plotted["task"].unique())
    figure, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 3.8), squeeze=False)
    models = plotted.drop_duplicates("model").sort_values("N")["model"].tolist()
    colours = dict(zip(models, plt.cm.tab10(np.arange(len(models))), strict=True))
    for axis, task in zip(axes[0], tasks, strict=True):
        cells = (plotted[plotted["task"] == task].groupby(RUN_KEYS, dropna=False)
                 .agg(x=("loss", "mean"), x_sd=("loss", "std"), y=("value", "mean"), y_sd=("value", "std"))
                 .reset_index())
        for model, of_model in cells.groupby("model"):
            for is_base, marker, label in ((False, "o", f"{model}"), (True, "*", f"{model} base model (V = 0)")):
                chosen = of_model[(of_model["V"] == 0) == is_base]
                if not chosen.empty:
                    axis.errorbar(chosen["x"], chosen["y"], xerr=chosen["x_sd"].fillna(0), yerr=chosen["y_sd"].fillna(0),
                                  fmt=marker, color=colours[model], markersize=10 if is_base else 5, capsize=2,
                                  label=label)
        test_set = plotted.loc[plotted["task"] == task, "test_set"].dropna()
        axis.set_xlabel(f"final loss on {test_set.iloc[0]}" if not test_set.empty else "final loss (mean of test sets)")
        axis.set_ylabel(PLOTTED_METRIC)
        axis.set_title(task, fontsize=9)
        axis.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _markdown(rows: list[dict[str, Any]], empty: str) -> str:
    return pd.DataFrame(rows).to_markdown(index=False) if rows else empty


def _status_lines(result: DownstreamResult) -> list[str]:
    times = result.table.drop_duplicates(RUN_DIR)["eval_wall_time_s"]
    lines = [f"{len(result.evaluated)} runs evaluated now, {len(result.reused)} reused from their `eval.json` "
             f"(made for the same inputs); evaluation time per run when it was made: median "
             f"{times.median():.2f} s, total {times.sum():.1f} s." if not times.empty else "No run was evaluated."]
    lines += [f"- not evaluated: {run}: {why}" for run, why in result.skipped.items()]
    lines += [f"- task unavailable offline: {task}: {why}" for task, why in result.unavailable.items()]
    return lines


def downstream_section(out_dir: Path, table: pd.DataFrame, result: DownstreamResult, resamples: int = 1000,
                       seed: int = 0) -> tuple[str, Path | None]:
    """The report's downstream section (markdown, its figure linked relative to ``out_dir``) and the figure's
    path (``None`` when nothing was evaluated). ``table`` is the study's results table."""
    title = "## Downstream evaluation (lm-evaluation-harness)"
    if not result.enabled:
        return "\n".join([title, "", "Not run: `study.eval.enabled=false`.", ""]), None
    rows = _run_metrics(table, result.table)
    figure = _figure(rows, out_dir / "figures" / FIGURE)
    lines = [title, "",
             "Each run's `final/` (the base models' too: the V = 0 rows) scored by lm-eval on the generated tasks "
             "(docs/EVAL.md: proxies built from the held-out sets, not MMLU). acc and acc_norm are accuracies; "
             "prob_correct is the probability the model puts on the right answer among the choices and margin its "
             "lead over the best wrong one (DataDecide's continuous proxies: at this scale accuracy is mostly noise). "
             "Chance is 1/choices for acc and prob_correct (0.25 for the 4-way tasks, 0.5 for qa_sentiment).",
             "", *_status_lines(result), ""]
    if rows.empty:
        return "\n".join(lines), figure
    for task, of_task in rows.groupby("task"):
        lines += [f"### {task}", "", _task_table(of_task), ""]
    if figure is not None:
        lines += [f"![downstream]({figure.relative_to(out_dir)})", ""]
    lines += ["### Decision accuracy on downstream metrics",
              "",
              "The fraction of corpus pairs whose order at the smaller size matches the larger size (DataDecide), "
              "on each metric and, beside it, on the final loss on the task's held-out set; seed means at the "
              "continuations' final V, with a 95% bootstrap CI over corpora:",
              "", _markdown(_decision_rows(rows, resamples, seed), "(one model size: nothing to compare)"), ""]
    return "\n".join(lines), figure
