"""``report.md`` and its figures, written only from the results table, the corpora's ratings and the fits."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ziya2lab.common.atomic import atomic_write_text
from ziya2lab.common.attributes import ATTRIBUTES, COLUMNS, RUN_COLUMN
from ziya2lab.scaling import FitResult
from ziya2lab.scaling.plots import plot_attribute_effects, plot_fit
from ziya2lab.study import figures
from ziya2lab.study.analysis import JOINT, StudyFit, multipliers_with_intervals, ordering_verdict
from ziya2lab.study.downstream import DownstreamResult, downstream_section
from ziya2lab.study.runner import RunOutcome

log = logging.getLogger(__name__)


def _interval(value: tuple[float, float, float]) -> str:
    estimate, low, high = value
    return f"{estimate:.4g} [{low:.4g}, {high:.4g}]"


def parameter_table(fits: Mapping[str, StudyFit]) -> pd.DataFrame:
    """Every fitted parameter of every fit with its 95% bootstrap interval (NaN without a bootstrap): the report's
    table and the wandb summary run's."""
    rows = []
    for name, study_fit in fits.items():
        for parameter, value in study_fit.result.params.items():
            low, high = study_fit.intervals.get(parameter, (float("nan"), float("nan")))
            rows.append({"fit": name, "parameter": parameter, "estimate": value, "ci95_low": low, "ci95_high": high})
    return pd.DataFrame(rows)


def fit_summary(fits: Mapping[str, StudyFit], table: pd.DataFrame) -> dict[str, Any]:
    """Everything the report states about the fits, as data (also saved as fits.json)."""
    summary: dict[str, Any] = {}
    for name, study_fit in fits.items():
        coefficients = {column: study_fit.coefficient(column) for column in COLUMNS}
        rows = table if name == JOINT else table[table["model"] == name.split("/", 1)[1]]
        summary[name] = {
            **study_fit.result.to_dict(),
            "intervals": study_fit.intervals,
            "coefficients": coefficients,
            "multipliers": multipliers_with_intervals(study_fit, rows),
            "ordering": ordering_verdict(coefficients) if study_fit.intervals else None,
        }
    return summary


def _slug(fit_name: str) -> str:
    return fit_name.replace("/", "_")


def headline_fit(fits: Mapping[str, StudyFit]) -> str:
    """The fit the report's verdict and multiplier figure are judged on: the joint law when there is one."""
    return JOINT if JOINT in fits else next(iter(fits))


def _drawn(plot: Callable[[FitResult, Path, str], Path], study_fit: StudyFit, path: Path, title: str) -> Path | str:
    """A library figure of one fit, or why it could not be drawn: the report keeps every number either way."""
    try:
        return plot(study_fit.result, path, title)
    except (ValueError, FloatingPointError) as error:
        log.error("figure %s could not be drawn: %r", path.name, error)
        return f"figure {path.name} could not be drawn: {error!r}"


def write_figures(
    figure_dir: Path, table: pd.DataFrame, fits: Mapping[str, StudyFit], summary: Mapping[str, Any]
) -> dict[str, Path | str]:
    """The report's figures, by key: loss against volume, coefficients, per fit its Fig. 7 view and diagnostics,
    and the headline fit's multipliers (a fit's figure that fails to draw is replaced by why)."""
    figure_dir.mkdir(parents=True, exist_ok=True)
    images = {"loss_vs_volume": figures.loss_versus_volume(table, figure_dir / "loss_vs_volume.png")}
    coefficients = {name: summary[name]["coefficients"] for name in fits}
    images["coefficients"] = figures.coefficients_with_intervals(coefficients, figure_dir / "coefficients.png")
    for name, study_fit in fits.items():
        slug = _slug(name)
        images[f"fig7_{slug}"] = _drawn(plot_attribute_effects, study_fit, figure_dir / f"fig7_{slug}.png",
                                        f"Fig. 7 view: {name}")
        images[f"fit_{slug}"] = _drawn(plot_fit, study_fit, figure_dir / f"fit_{slug}.png", f"fit quality: {name}")
    headline = headline_fit(fits)
    multipliers = {f"{column} ({headline})": value for column, value in summary[headline]["multipliers"].items()}
    images["multipliers"] = figures.multipliers_with_intervals(multipliers, figure_dir / "multipliers.png")
    return images


def _coefficient_rows(fits: Mapping[str, StudyFit], summary: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"fit": name, **{f"{attribute.coefficient} ({attribute.column})":
                          _interval(summary[name]["coefficients"][attribute.column]) for attribute in ATTRIBUTES}}
         for name in fits]
    )


def _multiplier_rows(fits: Mapping[str, StudyFit], summary: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"fit": name, **{column: _interval(value) for column, value in summary[name]["multipliers"].items()}}
         for name in fits]
    )


def _runs(table: pd.DataFrame) -> pd.DataFrame:
    return table.groupby(RUN_COLUMN).agg(model=("model", "first"), N=("N", "first"), corpus=("corpus", "first"),
                                         wall_time_s=("wall_time", "first"))


def _data_sections(title: str, table: pd.DataFrame, corpora: pd.DataFrame, test_sets: Mapping[str, Path],
                   fit_names: Sequence[str], image: Callable[[str], str]) -> list[str]:
    """Where the numbers come from, the corpora, the test sets, and the loss curves with the Fig. 7 views."""
    test_set_rows = pd.DataFrame([{"test set": name, "file": str(path)} for name, path in test_sets.items()])
    return [
        f"# Data-centric scaling study: {title}",
        "",
        f"Generated {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC from {_runs(table).shape[0]} runs "
        f"({len(table)} rows of `results.parquet`). Every number and figure below is computed from "
        "`results.parquet`, the corpora's `attributes.json`, `fits.json` and `conclusions.json` (computed from those and "
        "the baselines); none is typed by hand. Design: one base model per size pre-trained on a clean split, each "
        "continued on every corpus; V counts continuation tokens and the V = 0 rows are the base models.",
        "",
        "## Corpora (measured attributes)",
        "",
        corpora.to_markdown(index=False, floatfmt=".4g"),
        "",
        "## Test sets (held-out real text, never in a training corpus)",
        "",
        test_set_rows.to_markdown(index=False),
        "",
        "## Loss against data volume, per attribute level",
        "",
        image("loss_vs_volume"),
        "",
        "## The paper's Fig. 7 view",
        "",
        *(image(f"fig7_{_slug(name)}") for name in fit_names),
        "",
    ]


def _fit_sections(fits: Mapping[str, StudyFit], summary: Mapping[str, Any], image: Callable[[str], str]) -> list[str]:
    """Coefficients, all parameters, multipliers, the ordering verdict and the fits' diagnostics."""
    headline = headline_fit(fits)
    verdict = summary[headline]["ordering"]
    return [
        "## Fitted attribute coefficients (95% bootstrap intervals over runs)",
        "",
        _coefficient_rows(fits, summary).to_markdown(index=False),
        "",
        image("coefficients"),
        "",
        "All parameters:",
        "",
        parameter_table(fits).to_markdown(index=False, floatfmt=".5g"),
        "",
        "## Effective-data multipliers",
        "",
        "Moving one attribute across the span this study measured for it (worst to best corpus of its family), with "
        "the others at the clean base, multiplies the effective data per token D_eff/V by:",
        "",
        _multiplier_rows(fits, summary).to_markdown(index=False),
        "",
        image("multipliers"),
        "",
        "## Does the paper's ordering (RA ≈ CH ≫ SIM) hold here?",
        "",
        f"Judged on the `{headline}` fit: {verdict['statement'] if verdict else 'no bootstrap, no verdict'}.",
        "",
        "## Fit quality",
        "",
        *(image(f"fit_{_slug(name)}") for name in fits),
        "",
        *(f"- {name}: failed check: {message}" for name in fits for message in summary[name]["failures"]),
        *(f"- {name}: {message}" for name in fits for message in summary[name]["warnings"]),
        "",
    ]


def _runs_section(table: pd.DataFrame, outcomes: Sequence[RunOutcome]) -> list[str]:
    failed = [outcome for outcome in outcomes if outcome.status == "failed"]
    return [
        "## Runs",
        "",
        _runs(table).reset_index().to_markdown(index=False, floatfmt=".4g"),
        "",
        f"Failed runs: {len(failed)}" + "".join(f"\n- {outcome.run_dir}" for outcome in failed),
        "",
    ]


def _table(rows: list[dict[str, Any]] | pd.DataFrame) -> str:
    frame = pd.DataFrame(rows)
    return frame.to_markdown(index=False, floatfmt=".4g") if not frame.empty else "(none)"


def _learned_section(conclusions: Mapping[str, Any]) -> list[str]:
    baselines = conclusions["baselines"]
    rows = [{"model": model, "test set": name, "V": entry["V"], "loss": value["loss"], "unigram": value["unigram"],
             "KN trigram": value["trigram"], "below unigram": value["below_unigram"],
             "below trigram": value["below_trigram"]}
            for model, entry in conclusions["learned"].items() for name, value in entry["test_sets"].items()]
    margins = [f"- {model}: {entry['mean_below_unigram_natural']:.3f} nats/token below the unigram table on average "
               f"over the natural-text test sets" for model, entry in conclusions["learned"].items()]
    return [
        "## Did the models learn? Clean-base model against the baselines",
        "",
        f"Baselines fitted on the {baselines['train_tokens']:,} tokens the clean-base model trained on "
        f"({' + '.join(baselines['trained_on'])}): an add-½ unigram table and a modified Kneser–Ney trigram (KenLM), "
        "scored on exactly the test tokens the trainer scores (nats/token). Model losses are seed means at the final V.",
        "",
        _table(rows),
        "",
        *margins,
        "",
    ]


def _effects_section(conclusions: Mapping[str, Any]) -> list[str]:
    noise, monotone = conclusions["noise"], conclusions["monotone"]
    if noise is None:
        return ["## Effects against the clean base", "", f"Not measured: {conclusions['why']}", ""]
    effects = pd.DataFrame(conclusions["effects"])
    top = effects.loc[effects.groupby(["model", "family", "test_set"])["level"].transform("max") == effects["level"]]
    shown = top[["model", "family", "corpus", "test_set", "delta", "low", "high", "in_noise_units"]].rename(
        columns={"delta": "Δloss", "low": "95% low", "high": "95% high", "in_noise_units": "Δ / seed sd"})
    return [
        "## Seed noise and effects against the clean base (final V)",
        "",
        f"Seed-to-seed noise of the final loss, pooled over {noise['cells']} (model, corpus, test set) cells: "
        f"sd = {noise['sd']:.4g} nats ({noise['dof']} degrees of freedom). Δloss is the corpus's seed mean minus the "
        "clean base's (positive: worse), with a 95% t interval on the pooled variance; the last column is Δ in units "
        "of the seed sd. Each family's top level and the controls:",
        "",
        _table(shown),
        "",
        "## Controls: what this study can and cannot see",
        "",
        _table([{"control": family, **values} for family, values in conclusions["controls"].items()]),
        "",
        *(f"- {key}: {value}" for key, value in conclusions.get("verdict", {}).items()),
        "",
        "## Does loss fall with V?",
        "",
        f"{monotone['fraction']:.1%} of {monotone['sequences']} (run, test set) sequences fall at every V (the base "
        "model's V = 0 first). A harmful corpus may legitimately raise the loss on a test set, so the share is given "
        "per family and test set, every sequence counted:",
        "",
        _falling_table(monotone),
        "",
    ]


def _falling_table(monotone: Mapping[str, Any]) -> str:
    """Fraction of sequences falling at every V: family × test set, with each family's and each test set's share."""
    cells = pd.DataFrame(monotone.get("cells", []))
    if cells.empty:
        return "(none)"
    shares = cells.pivot(index="family", columns="test_set", values="fraction")
    shares["all test sets"] = shares.index.map(monotone["by_family"])
    shares.loc["all families"] = {**monotone["by_test_set"], "all test sets": monotone["fraction"]}
    counts = cells.groupby("family")["sequences"].sum()
    shares["sequences"] = [*counts.reindex(shares.index[:-1]).tolist(), monotone["sequences"]]
    return shares.reset_index().to_markdown(index=False, floatfmt=".3g")


def _sizes_and_fits_section(conclusions: Mapping[str, Any]) -> list[str]:
    sizes = [{"small": pair["small"], "large": pair["large"], "cells": pair["cells"],
              "larger model lower": pair["larger_lower"], "mean decision accuracy": pair["mean_decision_accuracy"],
              **{f"DA {name}": f"{value['estimate']:.3g} [{value['low']:.3g}, {value['high']:.3g}]"
                 for name, value in pair["decision_accuracy"].items()}} for pair in conclusions["sizes"]]
    heldout = [{"fit": name, **{key: value for key, value in entry.items() if key != "refit_failures"},
                "refit failures": "; ".join(entry.get("refit_failures", []))}
               for name, entry in conclusions["heldout"].items()]
    bounds = [{"fit": name, "at bound": ", ".join(entry["at_bound"]) or "none",
               **{f"{coefficient}=0: p": test["p_value"] for coefficient, test in entry["zero_tests"].items()},
               **{f"{coefficient}=0 supported": test["bound_supported"]
                  for coefficient, test in entry["zero_tests"].items()}}
              for name, entry in conclusions["bounds"].items()]
    return [
        "## Model size: ordering and decision accuracy",
        "",
        "Share of (corpus, test set) cells where the larger model is lower at the final V, and DataDecide's decision "
        "accuracy (corpus pairs ordered alike at both sizes) per test set with a 95% bootstrap CI over corpora:",
        "",
        _table(sizes),
        "",
        "## Held-out prediction error",
        "",
        "Each fit refitted without every continuation's largest V (the base models' V = 0 rows stay in), then "
        "predicting it: median |log residual| held out, beside the in-sample median.",
        "",
        _table(heldout),
        "",
        "## Parameters at a bound",
        "",
        "A parameter at its lower bound is a finding, not an estimate: each attribute coefficient is tested at 0 by a "
        "likelihood-ratio test against ½χ²₀ + ½χ²₁ (`FitResult.bound_test`); 'supported' means the data cannot reject "
        "no effect at the 95% level.",
        "",
        _table(bounds),
        "",
    ]


def _budget_section(conclusions: Mapping[str, Any]) -> list[str]:
    budget = conclusions["budget"]
    runs = pd.DataFrame(budget["runs"])
    summary = (runs.groupby("base_model").agg(runs=("run", "size"), tokens_per_run=("tokens", "mean"),
                                              epochs=("epochs", "mean"), flops=("flops", "sum"),
                                              wall_time_s=("wall_time_s", "sum")).reset_index()
               if not runs.empty else runs)
    return [
        "## Compute",
        "",
        f"The runs processed {budget['total_flops']:.3g} FLOP (cooldown branches included); at this machine's "
        f"measured fp32 GEMM peak of {budget['peak_flops'] / 1e9:.4g} GFLOP/s ({budget['peak_threads']} threads) "
        f"that is {budget['seconds_at_peak']:.4g} s; the runs' summed wall time is {budget['train_wall_time_s']:.4g} s. "
        "Tokens per run and epochs over each run's corpus:",
        "",
        _table(summary),
        "",
    ]


def write_report(
    out_dir: Path,
    table: pd.DataFrame,
    corpora: pd.DataFrame,
    test_sets: Mapping[str, Path],
    fits: Mapping[str, StudyFit],
    summary: Mapping[str, Any],
    outcomes: Sequence[RunOutcome],
    conclusions: Mapping[str, Any],
    downstream: DownstreamResult | None = None,
) -> Path:
    """``out_dir/report.md`` with its figures under ``out_dir/figures`` (and the downstream section when the study
    evaluated its runs with lm-eval)."""
    images = write_figures(out_dir / "figures", table, fits, summary)
    downstream_lines = [downstream_section(out_dir, table, downstream)[0]] if downstream is not None else []

    def image(key: str) -> str:
        drawn = images[key]
        return f"![{key}]({drawn.relative_to(out_dir)})" if isinstance(drawn, Path) else f"({drawn})"

    lines = [
        *_data_sections(out_dir.name, table, corpora, test_sets, list(fits), image),
        *_learned_section(conclusions),
        *_effects_section(conclusions),
        *_fit_sections(fits, summary, image),
        *_sizes_and_fits_section(conclusions),
        *downstream_lines,
        *_budget_section(conclusions),
        *_runs_section(table, outcomes),
    ]
    report = out_dir / "report.md"
    atomic_write_text(report, "\n".join(lines))
    return report
