"""The recipe's report: the timeline figure, the forgetting table and figure, the init comparison, downstream
metrics, and a plain statement of what replay did. Every number is read from the runs' records."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from scipy import stats

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ziya2lab.common.atomic import atomic_write_json, atomic_write_text
from ziya2lab.recipe.corpora import DOMAINS
from ziya2lab.recipe.stages import BASE, NO_REPLAY, RECIPE, SINGLE_STAGE
from ziya2lab.recipe.timeline import BPB_PREFIX, stage_end_bpb

TIMELINE_FIGURE = "timeline.png"
FORGETTING_FIGURE = "forgetting.png"
REPORT_FILE = "report.md"
RESULTS_FILE = "results.json"
ENGLISH = "en_prose"
# downstream (lm-eval) columns of the forgetting table: task name -> metric
DOWNSTREAM_COLUMNS = {
    "ziya2lab_bpb_en_prose": "bits_per_byte",
    "ziya2lab_mc_en_next_sentence": "acc",
    "ziya2lab_bpb_zh_news": "bits_per_byte",
}
STYLES = {RECIPE: "-", NO_REPLAY: "--", SINGLE_STAGE: ":"}


def plot_timeline(timeline: list[dict[str, Any]], path: Path) -> None:
    """Every domain's held-out bits per byte across the stages, one line per variant, stage ends marked."""
    figure, axes = plt.subplots(1, len(DOMAINS), figsize=(4 * len(DOMAINS), 3.4), sharex=True)
    base = timeline[0]
    variants = sorted({row["variant"] for row in timeline[1:]}, key=list(STYLES).index)
    for axis, domain in zip(axes, DOMAINS, strict=True):
        key = f"{BPB_PREFIX}{domain}"
        for variant in variants:
            rows = [base] + [row for row in timeline[1:] if row["variant"] == variant and key in row]
            axis.plot([row["tokens"] for row in rows], [row[key] for row in rows], STYLES[variant], label=variant)
        for row in timeline:
            if row.get("boundary") and row["variant"] == RECIPE:
                axis.axvline(row["tokens"], color="grey", linewidth=0.6, linestyle="--")
        axis.set_title(domain)
        axis.set_xlabel("continual pre-training tokens")
    axes[0].set_ylabel("held-out bits per byte")
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def forgetting_rows(timeline: list[dict[str, Any]], downstream: dict[str, dict[str, Any]],
                    checkpoints: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Per (variant, checkpoint): the timeline's bits per byte per domain and the downstream columns."""
    rows = []
    for variant, stages in checkpoints.items():
        for stage in [BASE, *stages]:
            record = {"variant": variant, "checkpoint": stage,
                      **{f"{BPB_PREFIX}{domain}": value
                         for domain, value in stage_end_bpb(timeline, variant, stage).items()}}
            tasks = downstream.get(f"{variant}/{stage}" if stage != BASE else BASE, {})
            for task, metric in DOWNSTREAM_COLUMNS.items():
                value = tasks.get(task, {}).get(metric)
                record[f"{task}:{metric}"] = value
            rows.append(record)
    return rows


def replay_effect(seed_rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What replay did to English forgetting in stages 2–3, over the seeds that ran them: per seed, English bits
    per byte after stage 3 minus after the shared stage 1 with (``recipe``) and without replay, and the reduction
    (without minus with); over two or more seeds, their mean, sd and a 95% t interval, and a verdict that only
    claims an effect when the interval excludes zero. ``None`` when no no-replay ablation ran."""
    if not seed_rows:
        return None
    reductions = np.array([row["reduction"] for row in seed_rows])
    effect: dict[str, Any] = {
        "per_seed": seed_rows, "seeds": len(seed_rows), "mean_reduction": float(reductions.mean()),
        "mean_forgetting": {variant: float(np.mean([row[variant] for row in seed_rows]))
                            for variant in (RECIPE, NO_REPLAY)},
    }
    if len(seed_rows) < 2:
        return effect | {"sd_reduction": None, "ci95": None, "verdict": "undetermined: one seed"}
    sd = float(reductions.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(reductions) - 1)) * sd / math.sqrt(len(reductions))
    low, high = effect["mean_reduction"] - half, effect["mean_reduction"] + half
    verdict = "reduced forgetting" if low > 0 else "increased forgetting" if high < 0 else "no detectable effect"
    return effect | {"sd_reduction": sd, "ci95": [low, high], "verdict": verdict,
                     "forgetting_sd": {variant: float(np.std([row[variant] for row in seed_rows], ddof=1))
                                       for variant in (RECIPE, NO_REPLAY)}}


def plot_forgetting(rows: list[dict[str, Any]], path: Path) -> None:
    figure, axis = plt.subplots(figsize=(5.5, 3.4))
    for variant in STYLES:
        points = [row for row in rows if row["variant"] == variant]
        if points:
            axis.plot([row["checkpoint"] for row in points], [row[f"{BPB_PREFIX}{ENGLISH}"] for row in points],
                      STYLES[variant], marker="o", label=variant)
    axis.set_ylabel("English held-out bits per byte")
    axis.set_title("English forgetting across the stages")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(row.get(column)) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def _statement(effect: dict[str, Any] | None) -> str:
    if effect is None:
        return "The no-replay ablation did not run (ablations.no_replay=false): nothing to compare."
    forgetting = effect["mean_forgetting"]
    head = (f"Stages 2–3 changed English held-out bits per byte (after stage 3 minus after stage 1) by "
            f"{forgetting[NO_REPLAY]:+.4f} without replay and by {forgetting[RECIPE]:+.4f} with replay")
    if effect["ci95"] is None:
        return (f"{head}: a reduction of {effect['mean_reduction']:+.4f}, from one seed. **The seed noise is not "
                f"measured, so this is not evidence either way** (`ablations.seeds=[1,2]` repeats stages 2–3 with "
                f"more seeds).")
    low, high = effect["ci95"]
    head = (f"{head}, averaged over {effect['seeds']} seeds of stages 2–3 from one stage 1: a reduction of "
            f"{effect['mean_reduction']:+.4f} (sd {effect['sd_reduction']:.4f} between seeds; 95% t interval "
            f"[{low:+.4f}, {high:+.4f}]).")
    verdicts = {"reduced forgetting": "**Replay reduced English forgetting at this scale.**",
                "increased forgetting": "**Replay increased English forgetting at this scale.**",
                "no detectable effect": "**No detectable effect of replay on English forgetting at this scale: the "
                                        "interval includes zero.**"}
    return f"{head} {verdicts[effect['verdict']]}"


def write_report(directory: Path, results: dict[str, Any]) -> Path:
    """``report.md``, ``results.json`` and the figures into ``directory``; returns the report's path."""
    timeline = results["timeline"]
    plot_timeline(timeline, directory / TIMELINE_FIGURE)
    rows = forgetting_rows(timeline, results["downstream"], results["checkpoints"])
    effect = replay_effect(results["replay_seeds"])
    plot_forgetting(rows, directory / FORGETTING_FIGURE)
    results = {**results, "forgetting": rows, "replay_effect": effect}
    atomic_write_json(directory / RESULTS_FILE, results)
    init_rows = [{"init": name, **scores} for name, scores in results["init_comparison"]["by_init"].items()]
    expansion = results["expansion"]
    sections = [
        f"# Ziya2 recipe: `{results['name']}`",
        f"Base vocabulary {expansion['base_vocab_size']} → {expansion['vocab_size']} "
        f"({expansion['added_tokens']} CJK characters added, {expansion['padding_tokens']} padding); Chinese "
        f"held-out tokens per CJK character {expansion['tokens_per_cjk_char_before']:.3f} → "
        f"{expansion['tokens_per_cjk_char_after']:.3f}; English unchanged token for token: "
        f"{expansion['english_unchanged']}.",
        "## Initial held-out Chinese loss of the expanded base, per initialisation (untrained)",
        _table(init_rows, ["init", "loss_per_token", "bits_per_byte", "loss_on_new_tokens", "loss_on_base_tokens"]),
        f"The stages start from `{results['init_comparison']['stage_init']}` (the paper's averaging).",
        "## Timeline", f"![every domain across the stages]({TIMELINE_FIGURE})",
        "## Forgetting (held-out bits per byte at each stage end; downstream from lm-evaluation-harness)",
        _table(rows, ["variant", "checkpoint", *(f"{BPB_PREFIX}{d}" for d in DOMAINS),
                      *(f"{t}:{m}" for t, m in DOWNSTREAM_COLUMNS.items())]),
        f"![English forgetting]({FORGETTING_FIGURE})",
        "## Did replay reduce forgetting?", _statement(effect),
        _table(results["replay_seeds"], ["seed", RECIPE, NO_REPLAY, "reduction"]) if results["replay_seeds"] else "",
        "## Runs", _table(results["runs"] + results["seed_runs"],
                          ["variant", "stage", "seed", "steps", "tokens", "wall_time_s", "path"]),
    ]
    report = directory / REPORT_FILE
    atomic_write_text(report, "\n\n".join(sections) + "\n")
    return report
