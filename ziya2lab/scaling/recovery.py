"""Synthetic recovery of Ziya2's law: tables drawn from the law with known parameters, fitted with the library's
defaults, scored for *recovery* (estimates within tolerance) and *coverage* (95% intervals holding the truth).

A design is how the runs cover the attributes:
- ``one_at_a_time`` (de-confounded): CH, RA and SIM each varied alone over ``levels`` values in [0.2, 0.8], the other
  two at 0.5 (issue 14's case);
- ``random`` (de-confounded): every run has its own CH, RA, SIM drawn uniformly from [0.1, 0.9];
- ``confounded``: the paper's three corpora, one run each, each with its own CH and RA for all its rows and a SIM
  per test set (four test sets), so CH and RA are tied to the corpus;
- ``families``: the study's design, a clean base corpus (``BASE_ATTRIBUTES``) and one family per attribute that
  degrades it alone to each of ``levels`` values in [0.2, 0.5] (with ``family`` and ``corpus`` columns, as the
  study's results table has).
Every run is evaluated at ``steps`` log-spaced volumes; every point gets independent log-normal noise of scale
``noise`` and, optionally, every run a shared offset of scale ``run_noise`` (a seed effect, which makes the points of
one run correlated). Optionally ``base_runs`` runs of the model before any corpus is added (V = 0 rows, where
D_eff = F, as the continual-pretraining study evaluates its base model) join the table, one row per test set.

``development_settings`` are the cases the start grid and the checks were developed on; ``heldout_setting`` draws
a random case (parameters, volumes, design, noise) from the full ranges issue 14 names, never used while
developing. benchmarks/bench_fit_recovery.py runs both; docs/SCALING.md reports the held-out figures as headline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from ziya2lab.common.attributes import COLUMNS, RUN_COLUMN
from ziya2lab.scaling.fitting import FitResult, fit
from ziya2lab.scaling.intervals import CHI2, F_TEST, Interval
from ziya2lab.scaling.laws import get_law
from ziya2lab.scaling.resampling import RUNS

# Recovered: |estimate / truth − 1| within these (F: within a factor of 2, as |log ratio| ≤ log 2).
TOLERANCES = {"alpha": 0.1, "E": 0.02, "A": 0.25, "B": 0.25, "C": 0.25}
F_FACTOR = 2.0
CORE = ("alpha", "E", "A", "B", "C")
TEST_SET_SIM_OFFSETS = (-0.1, 0.0, 0.05, 0.1)
CONFOUNDED_CORPORA = ((0.9, 0.8, 0.4), (0.6, 0.7, 0.3), (0.4, 0.5, 0.5))  # (CH, RA, SIM) of the paper-like corpora
BASE_ATTRIBUTES = {"CH": 0.9, "RA": 0.8, "SIM": 0.5}  # the clean base corpus of the families design


@dataclass(frozen=True)
class Truth:
    A: float
    B: float
    C: float
    F: float
    alpha: float
    E: float


@dataclass(frozen=True)
class Design:
    kind: str  # one_at_a_time | random | confounded | families
    volume_min: float
    volume_max: float
    steps: int
    noise: float  # σ of the log-normal noise of every point
    runs_per_corpus: int = 2
    levels: int = 4  # one_at_a_time: values per attribute; random: runs
    run_noise: float = 0.0  # σ of a log offset shared by all points of a run
    base_runs: int = 0  # runs of V = 0 rows (the model before the corpus), with the base corpus's attributes
    corpora: tuple[tuple[float, float, float], ...] = CONFOUNDED_CORPORA  # confounded only


@dataclass(frozen=True)
class Setting:
    name: str
    truth: Truth
    design: Design


ISSUE_CASE = Setting("issue 14 case", Truth(A=1.5, B=2.0, C=0.6, F=3e6, alpha=0.08, E=1.5),
                     Design("one_at_a_time", 1e5, 1e11, 9, noise=5e-4, runs_per_corpus=2, levels=4))


def _runs(design: Design, rng: np.random.Generator) -> list[dict[str, Any]]:
    """One entry per run: its attributes (SIM as one value per test set)."""
    runs = []
    if design.kind == "one_at_a_time":
        for column in COLUMNS:
            for level in np.linspace(0.2, 0.8, design.levels):
                for _ in range(design.runs_per_corpus):
                    runs.append({**dict.fromkeys(COLUMNS, 0.5), column: float(level)})
    elif design.kind == "random":
        runs = [dict(zip(COLUMNS, rng.uniform(0.1, 0.9, 3), strict=True)) for _ in range(design.levels)]
    elif design.kind == "confounded":
        for ch, ra, sim in design.corpora:
            for _ in range(design.runs_per_corpus):
                runs.append({"CH": ch, "RA": ra, "SIM": [sim + offset for offset in TEST_SET_SIM_OFFSETS]})
    elif design.kind == "families":
        corpora = [("base", "base", BASE_ATTRIBUTES)] + [
            (f"{column}_{level:.2f}", column, {**BASE_ATTRIBUTES, column: float(level)})
            for column in COLUMNS for level in np.linspace(0.2, 0.5, design.levels)]
        runs = [{**attributes, "corpus": corpus, "family": family}
                for corpus, family, attributes in corpora for _ in range(design.runs_per_corpus)]
    else:
        raise ValueError(f"unknown design {design.kind!r}; known: one_at_a_time, random, confounded, families")
    return runs


def law_log_losses(law: str, params: dict[str, float], table: pd.DataFrame) -> np.ndarray:
    """The noiseless log loss of ``law`` with ``params`` (plain names) at ``table``'s points."""
    model = get_law(law)
    data = {column: torch.tensor(table[column].to_numpy(dtype=np.float64)) for column in model.columns}
    with torch.no_grad():
        return model.log_predict(torch.tensor(model.to_theta(params)), data).numpy()


def synthetic_table(setting: Setting, seed: int) -> pd.DataFrame:
    """A results table drawn from Ziya2's law with ``setting.truth`` on ``setting.design``."""
    rng = np.random.default_rng(seed)
    design = setting.design
    volumes = np.geomspace(design.volume_min, design.volume_max, design.steps)
    rows = []
    for run, attributes in enumerate(_runs(design, rng)):
        offset = rng.normal(0, design.run_noise) if design.run_noise else 0.0
        sims = attributes["SIM"] if isinstance(attributes["SIM"], list) else [attributes["SIM"]]
        for test_set, sim in enumerate(sims):
            rows += [{**attributes, RUN_COLUMN: f"run{run}", "test_set": test_set, "V": volume, "SIM": sim,
                      "offset": offset} for volume in volumes]
    labels = {"corpus": "base", "family": "base"} if design.kind == "families" else {}
    for run in range(design.base_runs):
        offset = rng.normal(0, design.run_noise) if design.run_noise else 0.0
        rows += [{**BASE_ATTRIBUTES, **labels, RUN_COLUMN: f"base{run}", "test_set": test_set, "V": 0.0,
                  "SIM": BASE_ATTRIBUTES["SIM"] + sim_offset, "offset": offset}
                 for test_set, sim_offset in enumerate(TEST_SET_SIM_OFFSETS)]
    table = pd.DataFrame(rows)
    clean = law_log_losses("ziya2", asdict(setting.truth), table)
    table["loss"] = np.exp(clean + table.pop("offset").to_numpy() + rng.normal(0, design.noise, len(table)))
    return table


def signal_to_noise(setting: Setting) -> float:
    """How far the noiseless log loss falls over the volumes, in units of the noise: below a few, no fit can
    recover the law."""
    truth, design = setting.truth, setting.design
    quality = 0.5 * (truth.A + truth.B + truth.C)
    d_low, d_high = (quality * volume + truth.F for volume in (design.volume_min, design.volume_max))
    fall = np.log(d_low**-truth.alpha + truth.E) - np.log(d_high**-truth.alpha + truth.E)
    return float(fall / design.noise)


def _outcome(interval: Any, value: float) -> str:
    if interval.degenerate:
        return "degenerate"
    return "covered" if interval.low <= value <= interval.high else "missed"


def _recovered(name: str, estimate: float, value: float) -> bool:
    if name == "F":
        return bool(abs(np.log(estimate / value)) <= np.log(F_FACTOR)) if estimate > 0 else False
    return bool(abs(estimate / value - 1) <= TOLERANCES[name])


IntervalKind = Callable[[FitResult, int, int], dict[str, Interval]]  # (fit, seed, resamples) -> intervals
INTERVAL_KINDS: dict[str, IntervalKind] = {
    # the default of FitResult.profile(): its threshold from residual resamples
    "profile": lambda result, seed, resamples: result.profile(seed=seed, resamples=resamples),
    "profile chi2": lambda result, seed, resamples: result.profile(calibration=CHI2),
    "profile F": lambda result, seed, resamples: result.profile(calibration=F_TEST),
    "residual bootstrap": lambda result, seed, resamples: result.bootstrap(resamples, seed=seed, refine=0),
    "runs bootstrap": lambda result, seed, resamples: result.bootstrap(resamples, seed=seed, refine=0,
                                                                      resampling=RUNS),
}
HEADLINE = "profile"  # the interval FitResult.profile() reports by default


def recover(setting: Setting, seed: int, resamples: int = 100,
            kinds: dict[str, IntervalKind] | None = None) -> dict[str, Any]:
    """Fit one synthetic table with the defaults; its recovery, failures, and each interval kind's outcome
    (covered, missed, degenerate) and bounds."""
    table = synthetic_table(setting, seed)
    began = time.perf_counter()
    result = fit(table, "ziya2")
    truth = asdict(setting.truth)
    intervals = {kind: method(result, seed, resamples) for kind, method in (kinds or INTERVAL_KINDS).items()}
    return {
        "setting": setting.name, "design": setting.design.kind, "seed": seed, "snr": signal_to_noise(setting),
        "run_noise": setting.design.run_noise > 0, "ok_fit": result.ok_fit, "failures": result.fit_failures,
        "profile_usable": result.profile_usable,
        "estimates": result.params, "truth": truth,
        "recovered": {name: _recovered(name, result.params[name], value) for name, value in truth.items()},
        "outcomes": {kind: {name: _outcome(found[name], value) for name, value in truth.items()}
                     for kind, found in intervals.items()},
        "bounds": {kind: {name: [found[name].low, found[name].high] for name in truth}
                   for kind, found in intervals.items()},
        "seconds": time.perf_counter() - began,
    }


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def heldout_setting(seed: int) -> Setting:
    """A case drawn from issue 14's ranges (V 1e3–1e12, F 1e2–1e12, α 0.03–0.6, noise 1e-4–1e-2), a random design
    and size, and in one case of three a seed effect (every run offset by noise of the points' scale, so a run's
    points are correlated); never used while developing the fitter."""
    rng = np.random.default_rng(10_000 + seed)
    volume_min = _log_uniform(rng, 1e3, 1e9)
    volume_max = min(1e12, volume_min * 10 ** rng.uniform(2, 5))
    kind = str(rng.choice(["one_at_a_time", "random", "confounded"]))
    corpora = tuple(tuple(float(value) for value in rng.uniform(0.2, 0.9, 3)) for _ in range(3))
    noise = _log_uniform(rng, 1e-4, 1e-2)
    design = Design(kind, volume_min, volume_max, int(rng.integers(5, 10)), noise=noise,
                    runs_per_corpus=int(rng.integers(1, 3)), levels=int(rng.integers(3, 6)) if kind != "random"
                    else int(rng.integers(6, 17)), run_noise=noise if rng.uniform() < 1 / 3 else 0.0, corpora=corpora)
    truth = Truth(A=_log_uniform(rng, 0.1, 3), B=_log_uniform(rng, 0.1, 3), C=_log_uniform(rng, 0.1, 3),
                  F=_log_uniform(rng, 1e2, 1e12), alpha=_log_uniform(rng, 0.03, 0.6), E=float(rng.uniform(0.5, 3)))
    return Setting(f"held-out {kind}", truth, design)


def development_settings() -> list[Setting]:
    """The fixed cases the defaults were developed on: corners of the ranges, each design."""
    return [
        ISSUE_CASE,
        Setting("small V, fast decay", Truth(0.8, 1.2, 0.4, 1e2, 0.3, 2.0),
                Design("one_at_a_time", 1e3, 1e6, 7, noise=1e-3, runs_per_corpus=1, levels=3)),
        Setting("large V, F dominant, noisy", Truth(1.0, 1.0, 1.0, 1e12, 0.1, 1.0),
                Design("random", 1e9, 1e12, 7, noise=1e-2, levels=12)),
        Setting("paper-like, confounded", Truth(1.66, 1.98, 0.70, 1e10, 0.06, 1.3),
                Design("confounded", 1e9, 1e12, 8, noise=1e-3, runs_per_corpus=1)),
        Setting("tiny α, quiet", Truth(2.0, 0.5, 1.0, 1e5, 0.03, 0.8),
                Design("random", 1e4, 1e10, 9, noise=1e-4, levels=8)),
    ]


@dataclass
class Tally:
    """Rates over a group of records, per parameter."""

    count: int = 0
    flagged: int = 0
    recovered: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # method -> param -> outcome
    wrong_unflagged: dict[str, int] = field(default_factory=dict)  # ok fit, off tolerance, interval misses truth

    def add(self, record: dict[str, Any], method: str) -> None:
        self.count += 1
        self.flagged += not record["ok_fit"]
        for name, ok in record["recovered"].items():
            self.recovered[name] = self.recovered.get(name, 0) + ok
            for kind, outcomes in record["outcomes"].items():
                counts = self.outcomes.setdefault(kind, {}).setdefault(name, {})
                counts[outcomes[name]] = counts.get(outcomes[name], 0) + 1
            wrong = record["ok_fit"] and not ok and record["outcomes"][method][name] == "missed"
            self.wrong_unflagged[name] = self.wrong_unflagged.get(name, 0) + wrong

    def rates(self) -> dict[str, Any]:
        share = lambda value: round(value / self.count, 3) if self.count else float("nan")  # noqa: E731
        return {
            "datasets": self.count,
            "flagged": share(self.flagged),
            "recovered": {name: share(value) for name, value in self.recovered.items()},
            "recovered_core": None,
            **{f"{kind}_coverage": {name: share(counts.get("covered", 0)) for name, counts in by_name.items()}
               for kind, by_name in self.outcomes.items()},
            **{f"{kind}_degenerate": {name: share(counts.get("degenerate", 0)) for name, counts in by_name.items()}
               for kind, by_name in self.outcomes.items()},
            **{f"{kind}_coverage_reported": {name: _reported(counts) for name, counts in by_name.items()}
               for kind, by_name in self.outcomes.items()},
            "wrong_unflagged": {name: share(value) for name, value in self.wrong_unflagged.items()},
        }


def _reported(counts: dict[str, int]) -> float:
    """Coverage among the intervals reported as intervals (not degenerate)."""
    reported = counts.get("covered", 0) + counts.get("missed", 0)
    return round(counts.get("covered", 0) / reported, 3) if reported else float("nan")


def summarise(records: list[dict[str, Any]], key: str = "setting", method: str = HEADLINE) -> dict[str, Any]:
    """Rates per value of ``key`` (setting, design, …): flagged, recovered, coverage (a degenerate interval counts
    as not covering), degenerate rates and coverage among the intervals reported as such, for every interval kind
    recorded, and "wrong and unflagged" (ok fit, estimate off tolerance, ``method``'s interval misses the
    truth)."""
    groups: dict[str, Tally] = {}
    core: dict[str, list[bool]] = {}
    for record in records:
        group = str(record[key])
        groups.setdefault(group, Tally()).add(record, method)
        core.setdefault(group, []).append(all(record["recovered"][name] for name in CORE))
    summary = {}
    for group, tally in groups.items():
        summary[group] = tally.rates() | {"recovered_core": round(float(np.mean(core[group])), 3)}
    return summary
