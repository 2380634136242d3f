"""What the study can conclude, as data (``conclusions.json``): every number the report states beyond the fits.

- whether the models learned anything: the clean-base model's loss against the unigram and trigram baselines;
- whether the curves behave: the share of (run, test set) sequences whose loss falls at every V;
- the seed-to-seed noise, and every effect against the clean base as a multiple of it, with t intervals;
- the controls, which calibrate the harness: the positive one must be detected, the negative one must not;
- the size axis: whether the larger model is lower, and DataDecide's decision accuracy between sizes;
- the fits' held-out prediction error (each run's largest V left out) and every parameter at its bound, tested;
- the compute: FLOPs of the runs against this machine's measured peak, and the wall time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd
import torch

from ziya2lab.attributes.levels import BASE
from ziya2lab.common.attributes import BY_COLUMN, COLUMNS, RUN_COLUMN
from ziya2lab.common.run_dir import RunDir
from ziya2lab.model import accounting
from ziya2lab.scaling import fit
from ziya2lab.study.analysis import StudyFit
from ziya2lab.study.base_models import PRETRAIN, StudyPlan
from ziya2lab.study.config import FitConfig, StudyConfig
from ziya2lab.study.controls import CONTROL_FAMILIES, NEGATIVE_CONTROL, POSITIVE_CONTROL
from ziya2lab.study.effects import decision_accuracy, effects_against_base, final_points, seed_noise

FITTED_FAMILIES = (BASE, *COLUMNS)  # the controls calibrate the harness; they are not points of the law
AT_BOUND = 1e-6  # relative distance from a lower bound at which a parameter counts as sitting on it


def _finals(table: pd.DataFrame) -> pd.DataFrame:
    """Seed means of the final loss per (model, N, corpus, family, level, test set)."""
    return (final_points(table[table["V"] > 0])
            .groupby(["model", "N", "corpus", "family", "level", "test_set"], dropna=False, as_index=False)
            .agg(loss=("loss", "mean"), seeds=("loss", "size"), V=("V", "first")))


def learned(table: pd.DataFrame, baselines: Mapping[str, Any], natural: Sequence[str]) -> dict[str, Any]:
    """Per model: the clean-base model's final loss per test set, the baselines, and the mean margin below the
    unigram table over the natural-text test sets."""
    finals = _finals(table)
    result = {}
    for model, rows in finals[finals["corpus"] == BASE].groupby("model"):
        per_test = {}
        for row in rows.itertuples():
            reference = baselines["test_sets"][row.test_set]
            per_test[row.test_set] = {"loss": row.loss, "unigram": reference["unigram"],
                                      "trigram": reference["trigram"], "below_unigram": reference["unigram"] - row.loss,
                                      "below_trigram": reference["trigram"] - row.loss}
        margins = [per_test[name]["below_unigram"] for name in natural if name in per_test]
        result[str(model)] = {"test_sets": per_test, "V": int(rows["V"].iloc[0]),
                              "mean_below_unigram_natural": float(np.mean(margins)) if margins else float("nan")}
    return result


def monotone_curves(table: pd.DataFrame) -> dict[str, Any]:
    """The share of (run, test set) sequences whose loss falls at every step of V, the base model's V = 0 first."""
    starts = table[table["V"] == 0].set_index(["model", "test_set"])["loss"]
    outcomes = []
    for (run, test_set), rows in table[table["V"] > 0].groupby([RUN_COLUMN, "test_set"]):
        curve = rows.sort_values("V")["loss"].to_numpy()
        start = starts.get((rows["model"].iloc[0], test_set))
        curve = np.concatenate([[start], curve]) if start is not None else curve
        outcomes.append({"run": run, "family": rows["family"].iloc[0], "test_set": test_set,
                         "falls": bool(np.all(np.diff(curve) < 0))})
    frame = pd.DataFrame(outcomes)
    if frame.empty:
        return {"fraction": float("nan"), "sequences": 0, "by_family": {}, "by_test_set": {}, "cells": []}
    cells = (frame.groupby(["family", "test_set"])["falls"].agg(["mean", "size"]).reset_index()
             .rename(columns={"mean": "fraction", "size": "sequences"}))
    return {"fraction": float(frame["falls"].mean()), "sequences": len(frame),
            "by_family": frame.groupby("family")["falls"].mean().to_dict(),
            "by_test_set": frame.groupby("test_set")["falls"].mean().to_dict(),
            "cells": cells.to_dict(orient="records"),
            "rising": frame.loc[~frame["falls"], ["run", "test_set"]].to_dict(orient="records")}


def _control_counts(rows: pd.DataFrame) -> dict[str, Any]:
    return {"cells": len(rows), "harmful_and_excludes_zero": int((rows["low"] > 0).sum()),
            "includes_zero": int((~rows["excludes_zero"]).sum()),
            "mean_in_noise_units": float(rows["in_noise_units"].mean())}


def effects_and_controls(table: pd.DataFrame, natural: Sequence[str]) -> dict[str, Any]:
    """Seed noise, every corpus's effect against the clean base, and the controls' verdicts: over every (size,
    test set) cell, and over the natural-text test sets alone (the shuffle control harms word order, which code
    and natural text do not share)."""
    continued = table[table["V"] > 0]
    try:
        noise = seed_noise(continued)
    except ValueError as error:
        return {"noise": None, "effects": [], "controls": {}, "why": str(error)}
    effects = effects_against_base(continued, noise)
    levels = continued.drop_duplicates("corpus").set_index("corpus")["level"]
    frame = pd.DataFrame([{**asdict(effect), "level": levels.get(effect.corpus), "excludes_zero": effect.excludes_zero}
                          for effect in effects])
    controls, verdict = {}, {}
    for family in CONTROL_FAMILIES:
        rows = frame[frame["family"] == family] if not frame.empty else frame
        for scope, chosen in (("all test sets", rows), ("natural-text test sets", rows[rows["test_set"].isin(natural)]
                                                        if not rows.empty else rows)):
            if chosen.empty:
                continue
            counts = controls[f"{family} ({scope})"] = _control_counts(chosen)
            if family == POSITIVE_CONTROL:
                verdict[f"positive control detected ({scope})"] = counts["harmful_and_excludes_zero"] == counts["cells"]
            elif family == NEGATIVE_CONTROL:
                verdict[f"negative control null ({scope})"] = counts["includes_zero"] == counts["cells"]
    return {"noise": asdict(noise), "effects": frame.to_dict(orient="records"), "controls": controls,
            "verdict": verdict}


def size_axis(table: pd.DataFrame, resamples: int, seed: int) -> list[dict[str, Any]]:
    """Per pair of consecutive sizes: the share of (corpus, test set) cells where the larger model is lower at the
    final V, and DataDecide's decision accuracy per test set (corpora ordered alike at both sizes) with a CI."""
    finals = _finals(table)
    models = finals.drop_duplicates("model").sort_values("N")["model"].tolist()
    pairs = []
    for small, large in itertools.pairwise(models):
        by_cell = finals.pivot_table(index=["corpus", "test_set"], columns="model", values="loss")[[small, large]]
        by_cell = by_cell.dropna()
        accuracy = {}
        for test_set, rows in by_cell.groupby(level="test_set"):
            losses = rows.droplevel("test_set")
            if len(losses) >= 2:
                estimate, low, high = decision_accuracy(losses[small], losses[large], resamples, seed)
                accuracy[str(test_set)] = {"estimate": estimate, "low": low, "high": high, "corpora": len(losses)}
        pairs.append({"small": small, "large": large, "cells": len(by_cell),
                      "larger_lower": float((by_cell[large] < by_cell[small]).mean()) if len(by_cell) else math.nan,
                      "decision_accuracy": accuracy,
                      "mean_decision_accuracy": float(np.mean([value["estimate"] for value in accuracy.values()]))
                      if accuracy else math.nan})
    return pairs


def heldout_errors(table: pd.DataFrame, fits: Mapping[str, StudyFit], config: FitConfig) -> dict[str, Any]:
    """Per fit: refit on every row but each continuation's largest V, predict those; the median |log residual|
    held out and in sample. The base models' V = 0 rows stay in (every curve starts there). A refit that fails its
    checks says so rather than giving a number."""
    errors = {}
    for name, study_fit in fits.items():
        rows = study_fit.result.table
        largest = rows.groupby(RUN_COLUMN)["V"].transform("max")
        held = (rows["V"] == largest) & (rows["V"] > 0)
        held, kept = rows[held], rows[~held]
        in_sample = float(np.median(np.abs(study_fit.result.log_residuals())))
        if kept.empty or held.empty:
            errors[name] = {"in_sample": in_sample, "heldout": None, "why": "every run has a single V"}
            continue
        refit = fit(kept, law=study_fit.result.law.name, refine=config.refine)
        residuals = np.log(held["loss"].to_numpy()) - np.log(refit.predict(held))
        errors[name] = {"in_sample": in_sample, "heldout": float(np.median(np.abs(residuals))),
                        "heldout_rows": len(held), "refit_failures": refit.failures}
    return errors


def bound_findings(fits: Mapping[str, StudyFit]) -> dict[str, Any]:
    """Per fit: parameters sitting at their lower bound, and the likelihood-ratio test of each attribute
    coefficient at zero (is "no effect" supported?)."""
    findings = {}
    for name, study_fit in fits.items():
        result = study_fit.result
        bounds = result.law.reported_lower_bounds()
        at_bound = [parameter for parameter, bound in bounds.items()
                    if result.params[parameter] - bound <= AT_BOUND * max(1.0, abs(bound))]
        tests = {}
        if result.ok_fit:
            for column in COLUMNS:
                coefficient = BY_COLUMN[column].coefficient
                if coefficient in bounds:
                    tests[coefficient] = result.bound_test(coefficient).to_dict()
        findings[name] = {"at_bound": at_bound, "zero_tests": tests, "fit_ok": result.ok_fit,
                          "failures": result.failures}
    return findings


def compute_budget(table: pd.DataFrame, plan: StudyPlan, baselines: Mapping[str, Any]) -> dict[str, Any]:
    """Tokens, epochs and FLOPs of every run (cooldown branches included) against this machine's measured peak."""
    runs = []
    corpus_tokens = baselines["corpus_tokens"]
    for spec in [*plan.bases, *plan.continuations]:
        run = RunDir(spec.config.output_dir)
        if not run.is_done():
            continue
        summary = run.read_summary()
        processed = summary.tokens + sum(branch.cooldown_steps for branch in summary.branches) * summary.tokens_per_step
        of_run = table.loc[table[RUN_COLUMN] == spec.run_id, "corpus"]
        corpus = PRETRAIN if spec in plan.bases else (of_run.iloc[0] if not of_run.empty else "")
        runs.append({"run": spec.run_id, "tokens": summary.tokens, "processed_tokens": processed,
                     "epochs": summary.tokens / corpus_tokens[corpus] if corpus in corpus_tokens else math.nan,
                     "flops": summary.flops_per_token * processed, "wall_time_s": summary.wall_time_s,
                     "base_model": spec in plan.bases})
    frame = pd.DataFrame(runs)
    peak = accounting.device_peak_flops("cpu", "fp32")
    total = float(frame["flops"].sum()) if not frame.empty else 0.0
    return {"runs": frame.to_dict(orient="records"), "total_flops": total, "peak_flops": peak,
            "peak_threads": torch.get_num_threads(), "seconds_at_peak": total / peak,
            "train_wall_time_s": float(frame["wall_time_s"].sum()) if not frame.empty else 0.0}


def study_conclusions(table: pd.DataFrame, fits: Mapping[str, StudyFit], baselines: Mapping[str, Any],
                      plan: StudyPlan, study: StudyConfig, heldout: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "baselines": baselines,
        "learned": learned(table, baselines, study.natural_test_sets),
        "monotone": monotone_curves(table),
        **effects_and_controls(table, study.natural_test_sets),
        "sizes": size_axis(table, max(100, study.fits.bootstrap), study.seed),
        "heldout": dict(heldout),
        "bounds": bound_findings(fits),
        "budget": compute_budget(table, plan, baselines),
    }

