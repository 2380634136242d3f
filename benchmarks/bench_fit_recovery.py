"""Synthetic recovery and 95%-interval coverage of the default Ziya2 fit across scales (issue 14).

    .venv/bin/python benchmarks/bench_fit_recovery.py                              # the full suite (about an hour)
    .venv/bin/python benchmarks/bench_fit_recovery.py --datasets 2 --development-draws 4 --heldout 6   # a quick look

Every dataset is drawn from Ziya2's law with known parameters (ziya2lab/scaling/recovery.py) and fitted with the
library's defaults, ``fit(table, "ziya2")``; then every interval kind of ``recovery.INTERVAL_KINDS`` is computed:
the profile likelihood with its threshold from residual resamples (the default of ``FitResult.profile``), with
χ²₁'s and with F(1, n − p)'s, the percentile residual bootstrap (the default of ``FitResult.bootstrap``) and the
percentile bootstrap over runs, each bootstrap with ``--resamples`` refits warm-started from the optimum (as are the
threshold's). Three sets of cases:
- the *development settings*, fixed cases the start grid, the checks and the intervals were developed on
  (``--datasets`` each, seeds 0, 1, ...);
- the *development draws* (``--development-draws``), random cases from the held-out generator at seeds 1000, 1001,
  ...: they were looked at while developing (the headline of an earlier run, then the tuning set of the profile's
  walk and threshold), so they show what the held-out figures are compared against;
- the *held-out* cases (``--heldout``), drawn by the same generator from issue 14's ranges (V 1e3–1e12, F 1e2–1e12,
  α 0.03–0.6, noise 1e-4–1e-2; confounded, one at a time or random designs of random size; a third with seed
  effects, correlated points within a run) at seeds from ``--heldout-seed`` (2000): never looked at while
  developing. Other draws used in development: 0–11 (the checks' noise reference), 500–539 (the stationarity
  exemption).
Printed per group: datasets, flagged (the fit failed its checks), recovered (estimate within tolerance: α 10%, E 2%,
A, B, C 25%, F a factor 2; "core" = α, E, A, B, C all); per interval kind the coverage (the share of datasets whose
95% interval holds the truth; a degenerate interval, and every interval of a flagged fit except the profile of one
that only ran off, counts as not holding it) and the coverage among the intervals it reported as such; held-out
coverage by signal to noise; "wrong & unflagged" (the fit passed its checks, its estimate is off tolerance and the
default profile interval misses the truth). The last line is one JSON object of the headline figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ziya2lab.common.jsonl import append_jsonl
from ziya2lab.scaling.recovery import (
    HEADLINE,
    INTERVAL_KINDS,
    development_settings,
    heldout_setting,
    recover,
    summarise,
)

PARAMETERS = ("alpha", "E", "A", "B", "C", "F")
SETS = ("development", "draws", "heldout")
SIGNAL_BANDS = ((0, 3, "< 3 (nothing identifies the law)"), (3, 30, "3–30"), (30, 300, "30–300"),
                (300, np.inf, "> 300"))


def _task(arguments: tuple[str, int, int]) -> dict[str, Any]:
    kind, seed, resamples = arguments
    logging.disable(logging.WARNING)  # flagged fits are counted, not logged one by one
    if kind == "development":
        settings = development_settings()
        setting, seed = settings[seed % len(settings)], seed // len(settings)
    else:
        setting = heldout_setting(seed)
    record = recover(setting, seed, resamples=resamples)
    seeds = ", seed effects" if record["run_noise"] else ""
    record["group"] = setting.name if kind == "development" else f"{kind} {record['design']}{seeds}"
    record["set"] = kind
    return record


def _mean(values: dict[str, float]) -> float:
    """The mean over the parameters that have a value (NaN: no interval of that kind was reported)."""
    finite = [value for value in values.values() if np.isfinite(value)]
    return float(np.mean(finite)) if finite else float("nan")


def _coverage_table(summary: dict[str, Any]) -> str:
    """Per group and interval kind: mean coverage over the six parameters (of reported), then per parameter."""
    rows = []
    for group, rates in summary.items():
        for kind in INTERVAL_KINDS:
            covered, reported = rates[f"{kind}_coverage"], rates[f"{kind}_coverage_reported"]
            rows.append({"group": group, "n": rates["datasets"], "flagged": rates["flagged"], "interval": kind,
                         "coverage (of reported)": f"{_mean(covered):.3f} ({_mean(reported):.3f})",
                         **{name: f"{covered[name]:.2f} ({reported[name]:.2f})" for name in PARAMETERS}})
    return pd.DataFrame(rows).to_markdown(index=False)


def _recovery_table(summary: dict[str, Any]) -> str:
    rows = [{"group": group, "n": rates["datasets"], "flagged": rates["flagged"],
             **{name: rates["recovered"][name] for name in PARAMETERS}, "core": rates["recovered_core"],
             "wrong & unflagged (max)": max(rates["wrong_unflagged"].values())} for group, rates in summary.items()]
    return pd.DataFrame(rows).to_markdown(index=False)


def _by_signal(records: list[dict[str, Any]]) -> dict[str, Any]:
    banded = [record | {"band": next(label for low, high, label in SIGNAL_BANDS if low <= record["snr"] < high)}
              for record in records]
    return summarise(banded, key="band")


def _means(rates: dict[str, Any], prefix: str) -> dict[str, float]:
    return {f"{prefix}_{kind.replace(' ', '_')}_{what}": round(_mean(rates[f"{kind}_coverage{suffix}"]), 3)
        for kind in INTERVAL_KINDS for what, suffix in (("coverage", ""), ("coverage_of_reported", "_reported"))}


def _headline(records: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    by_set = summarise(records, key="set")
    heldout, draws = by_set.get("heldout"), by_set.get("draws")
    figures: dict[str, Any] = {}
    if heldout:
        figures |= {"heldout_datasets": heldout["datasets"], "heldout_flagged": heldout["flagged"],
                    "heldout_recovered_core": heldout["recovered_core"], **_means(heldout, "heldout"),
                    **{f"heldout_{HEADLINE}_coverage_of_reported_{name}": heldout[f"{HEADLINE}_coverage_reported"][name]
                       for name in PARAMETERS},
                    "heldout_wrong_unflagged_max": max(heldout["wrong_unflagged"].values())}
    if draws:
        figures |= {"draws_datasets": draws["datasets"], "draws_flagged": draws["flagged"], **_means(draws, "draws")}
    return figures | {"seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=int, default=40, help="per development setting")
    parser.add_argument("--development-draws", type=int, default=100, help="random cases at seeds 1000, 1001, ...")
    parser.add_argument("--heldout", type=int, default=300, help="held-out random cases")
    parser.add_argument("--resamples", type=int, default=100, help="bootstrap resamples per dataset and kind")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--heldout-seed", type=int, default=2000, help="seed of the first held-out case")
    parser.add_argument("--records", help="also append every dataset's record to this JSONL file as it is done")
    args = parser.parse_args()
    tasks = [("development", index, args.resamples) for index in range(args.datasets * len(development_settings()))]
    tasks += [("draws", 1000 + index, args.resamples) for index in range(args.development_draws)]
    tasks += [("heldout", args.heldout_seed + index, args.resamples) for index in range(args.heldout)]
    if args.records:
        Path(args.records).unlink(missing_ok=True)
    began = time.perf_counter()
    records = []
    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        for record in pool.imap_unordered(_task, tasks, chunksize=1):
            records.append(record)
            if args.records:
                append_jsonl(args.records, record)
    seconds = time.perf_counter() - began
    print(f"{len(records)} synthetic datasets, {args.resamples} resamples per bootstrap, {args.processes} processes, "
          f"{seconds:.0f} s ({np.mean([record['seconds'] for record in records]):.2f} s per dataset per process)")
    for name in SETS:
        chosen = [record for record in records if record["set"] == name]
        if not chosen:
            continue
        groups = summarise(chosen, key="group") | {f"all {name}": summarise(chosen, key="set")[name]}
        print(f"\n## {name}: recovery\n\n{_recovery_table(groups)}\n\n## {name}: coverage\n\n{_coverage_table(groups)}")
        if name != "development":
            print(f"\n## {name}: coverage by signal to noise\n\n{_coverage_table(_by_signal(chosen))}")
    print(json.dumps(_headline(records, seconds)))


if __name__ == "__main__":
    main()
