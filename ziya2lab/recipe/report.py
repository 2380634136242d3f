"""The recipe's report: the timeline figure, the forgetting table and figure, the init comparison, downstream
metrics, and a plain statement of what replay did. Every number is read from the runs' records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

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


def replay_effect(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """English forgetting of stages 2–3 (English bits/byte after stage 3 minus after stage 1), with and without
    replay, and against the base."""
    def english(variant: str, stage: str) -> float:
        return next(row[f"{BPB_PREFIX}{ENGLISH}"] for row in rows
                    if row["variant"] == variant and row["checkpoint"] == stage)

    effect: dict[str, Any] = {}
    for variant in (RECIPE, NO_REPLAY):
        effect[variant] = {"after_stage1": english(variant, "stage1"), "after_stage3": english(variant, "stage3"),
                           "base": english(variant, BASE)}
        effect[variant]["forgetting"] = effect[variant]["after_stage3"] - effect[variant]["after_stage1"]
    effect["reduction"] = effect[NO_REPLAY]["forgetting"] - effect[RECIPE]["forgetting"]
    effect["replay_reduced_forgetting"] = effect["reduction"] > 0
    return effect


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


def _statement(effect: dict[str, Any]) -> str:
    with_replay, without = effect[RECIPE]["forgetting"], effect[NO_REPLAY]["forgetting"]
    head = (f"Stages 2–3 changed English held-out bits per byte by {without:+.4f} without replay and by "
            f"{with_replay:+.4f} with replay (after stage 3 minus after stage 1; one seed, no interval).")
    if effect["replay_reduced_forgetting"]:
        share = f" ({effect['reduction'] / without:.0%} of the forgetting without replay)" if without > 0 else ""
        return f"{head} **Replay reduced English forgetting by {effect['reduction']:.4f} bits per byte{share}.**"
    return f"{head} **Replay did not reduce English forgetting at this scale.**"


def write_report(directory: Path, results: dict[str, Any]) -> Path:
    """``report.md``, ``results.json`` and the figures into ``directory``; returns the report's path."""
    timeline = results["timeline"]
    plot_timeline(timeline, directory / TIMELINE_FIGURE)
    rows = forgetting_rows(timeline, results["downstream"], results["checkpoints"])
    effect = replay_effect(rows)
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
        "## Runs", _table(results["runs"], ["variant", "stage", "steps", "tokens", "wall_time_s", "path"]),
    ]
    report = directory / REPORT_FILE
    atomic_write_text(report, "\n\n".join(sections) + "\n")
    return report
