"""Step 5, data evaluation (Ziya2 §2.1 "Data Evaluation", Table 1): an automatic report and the human check.

The automatic part reads a random 1% of the kept documents (at least ``min_report_documents``): distributions of
length, perplexity, language and quality bucket, next to the removal counts per step and rule and the kept
fraction from the accounting. The human part exports 1,000 random kept documents as a Fig. 8 labelling sheet;
``evaluation.labels_path`` imports a filled one and passes or fails the corpus at ≤ 1 bad in 1,000.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ziya2lab.common.atomic import atomic_write_json, atomic_write_text
from ziya2lab.data.config import FactoryConfig
from ziya2lab.data.labelling import export_sheet, human_check, import_labels, reservoir_sample
from ziya2lab.data.readers import MalformedRecord, read_documents

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def kept_documents(out: Path):
    if not any((out / "clean").glob("*")):
        return
    for record in read_documents(out / "clean"):
        if not isinstance(record, MalformedRecord):
            yield record


def _quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {f"p{int(q * 100)}": round(float(v), 2) for q, v in zip(QUANTILES, np.quantile(values, QUANTILES),
                                                                 strict=True)}


def _plot(sample: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (length_axis, perplexity_axis) = plt.subplots(1, 2, figsize=(10, 3.5))
    for lang in sorted({doc["metadata"].get("lang", "?") for doc in sample}):
        docs = [doc for doc in sample if doc["metadata"].get("lang") == lang]
        length_axis.hist([np.log10(max(1, len(doc["text"]))) for doc in docs], bins=30, alpha=0.6, label=lang)
        scores = [np.log10(doc["metadata"]["perplexity"]) for doc in docs if doc["metadata"].get("perplexity")]
        if scores:
            perplexity_axis.hist(scores, bins=30, alpha=0.6, label=lang)
    length_axis.set(xlabel="log10 characters", ylabel="documents", title="length")
    perplexity_axis.set(xlabel="log10 KenLM perplexity", title="perplexity (kept)")
    length_axis.legend()
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.9, wspace=0.2)  # tight_layout: +0.2 s
    figure.savefig(path, dpi=100)
    plt.close(figure)


def automatic_report(out: Path, config: FactoryConfig, stats: dict[str, Any]) -> dict[str, Any]:
    size = max(config.evaluation.min_report_documents, round(config.evaluation.report_fraction * stats["kept"]))
    sample = reservoir_sample(kept_documents(out), size, random.Random(config.evaluation.seed))
    for document in sample:
        document.setdefault("metadata", {})
    languages = Counter(doc["metadata"].get("lang", "?") for doc in sample)
    report = {
        "sample_documents": len(sample),
        "language": dict(languages),
        "quality_bucket": dict(Counter(doc["metadata"].get("quality", "unscored") for doc in sample)),
        "length_chars": {lang: _quantiles([len(doc["text"]) for doc in sample if doc["metadata"].get("lang") == lang])
                         for lang in languages},
        "perplexity": {lang: _quantiles([doc["metadata"]["perplexity"] for doc in sample
                                         if doc["metadata"].get("lang") == lang
                                         and doc["metadata"].get("perplexity") is not None])
                       for lang in languages},
        "removed": stats["removed"], "duplicates": stats["duplicates"], "malformed": stats["malformed"],
        "kept_fraction": stats["kept_fraction"],
    }
    atomic_write_json(out / "report.json", report)
    if sample:
        _plot(sample, out / "report.png")
    lines = [f"# Data evaluation: {config.name}", "", f"Kept {stats['kept']:,} of {stats['input']:,} "
             f"({100 * stats['kept_fraction']:.1f}%); report sample {len(sample)} documents.", "",
             "| language | documents | chars p50 | perplexity p50 |", "|---|---:|---:|---:|"]
    lines += [f"| {lang} | {count} | {report['length_chars'][lang].get('p50', '')} | "
              f"{report['perplexity'][lang].get('p50', '')} |" for lang, count in sorted(languages.items())]
    lines += ["", "| removed by | documents |", "|---|---:|"]
    lines += [f"| {key} | {count} |" for key, count in stats["removed"].items()]
    lines += [f"| duplicates | {stats['duplicates']} |", f"| malformed | {stats['malformed']} |", "",
              "![length and perplexity](report.png)", ""]
    atomic_write_text(out / "report.md", "\n".join(lines))
    return report


def evaluate(out: Path, config: FactoryConfig, stats: dict[str, Any]) -> dict[str, Any]:
    """The automatic report, the labelling sheet, and the human check when labels are given."""
    evaluation = config.evaluation
    by_language: dict[str, dict[str, int]] = {}
    for document in kept_documents(out):
        totals = by_language.setdefault(document.get("metadata", {}).get("lang", "?"), {"documents": 0, "chars": 0})
        totals["documents"] += 1
        totals["chars"] += len(document["text"])
    result: dict[str, Any] = {"by_language": by_language, "report": automatic_report(out, config, stats)}
    if stats["kept"]:
        result["labelling_sheet"] = str(export_sheet(kept_documents(out), out / f"labelling_sheet.{evaluation.sheet_format}",
                                                     n=evaluation.sheet_size, seed=evaluation.seed))
    if evaluation.labels_path:
        result["human_check"] = human_check(import_labels(evaluation.labels_path), evaluation.max_bad_per_1000)
    return result
