"""Ziya2's five-step data factory on datatrove: preprocess → score → filter → de-duplicate → evaluate.

The pipeline runs on datatrove's executors (local multiprocessing here; its Slurm/Ray executors take the same
steps to a cluster), which gives sharding, completion markers for resume and per-step stats. Every input
document ends up accounted for: kept (``clean/``), removed with its reason (``removed/<step>/``), or rejected as
malformed; ``stats.json`` checks that these add up.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.writers import JsonlWriter

from ziya2lab.common.atomic import atomic_file, atomic_write_json
from ziya2lab.data.config import FactoryConfig
from ziya2lab.data.steps import (
    Deduplicate,
    LanguageFilter,
    PerplexityFilter,
    Preprocess,
    QualityRules,
    SourceReader,
)

FILTER_STEPS = ("language", "perplexity", "rules", "dedup")
RUBRIC = ("coherence", "readability", "toxic")  # the paper's Fig. 8 labels: 1 = has the problem


@dataclass
class FactoryResult:
    output_dir: Path
    corpus_path: Path  # the clean documents, one JSONL file per task
    stats: dict[str, Any]


def _writer(directory: Path) -> JsonlWriter:
    return JsonlWriter(str(directory), output_filename="${rank}.jsonl", compression=None)


def build_pipeline(config: FactoryConfig, output_dir: Path) -> list:
    removed = output_dir / "removed"
    steps = [SourceReader(config.input), Preprocess(config.preprocess),
             LanguageFilter(config.preprocess, _writer(removed / "language"))]
    if config.scoring.enabled:
        steps.append(PerplexityFilter(config.scoring, _writer(removed / "perplexity")))
    steps.append(QualityRules(config.rules, _writer(removed / "rules")))
    if config.dedup.exact or config.dedup.near:
        steps.append(Deduplicate(config.dedup, _writer(removed / "dedup")))
    steps.append(_writer(output_dir / "clean"))
    return steps


def _count_lines(directory: Path) -> int:
    return sum(sum(1 for _ in open(path, encoding="utf-8")) for path in directory.glob("*.jsonl"))


def _total(value: int | dict) -> int:
    return int(value["total"]) if isinstance(value, dict) else int(value)


def _accounting(output_dir: Path, step_stats: list[dict]) -> dict[str, Any]:
    """Kept + removed-by-reason + malformed must equal what the reader read; a mismatch is an error."""
    read = malformed = 0
    removed: dict[str, int] = {}
    for step in step_stats:
        counts = step.get("stats", {})
        if step.get("name", "").startswith("📖"):
            read += _total(counts.get("documents", 0))
            malformed += _total(counts.get("malformed", 0))
        for key, value in counts.items():
            if key.startswith("dropped_"):
                reason = key.removeprefix("dropped_")
                removed[reason] = removed.get(reason, 0) + _total(value)
    kept = _count_lines(output_dir / "clean")
    if kept + sum(removed.values()) != read:
        raise RuntimeError(f"data factory lost documents: read {read}, kept {kept}, removed {removed}")
    return {"read": read, "malformed": malformed, "kept": kept, "removed": removed,
            "kept_fraction": kept / read if read else 0.0}


def _clean_documents(output_dir: Path) -> list[dict]:
    documents = []
    for path in sorted((output_dir / "clean").glob("*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            documents.extend(json.loads(line) for line in handle)
    return documents


def evaluate(output_dir: Path, config: FactoryConfig) -> dict[str, Any]:
    """Step 5, data evaluation: per-language totals and a Fig. 8 labelling sheet of a random sample."""
    documents = _clean_documents(output_dir)
    by_language: dict[str, dict[str, int]] = {}
    for document in documents:
        lang = document.get("metadata", {}).get("lang", "?")
        totals = by_language.setdefault(lang, {"documents": 0, "chars": 0})
        totals["documents"] += 1
        totals["chars"] += len(document["text"])
    sample = random.Random(config.evaluation.seed).sample(documents, min(config.evaluation.sample_size, len(documents)))
    with atomic_file(output_dir / "labelling_sheet.csv") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "lang", "text", *RUBRIC])
        for document in sample:
            writer.writerow([document["id"], document.get("metadata", {}).get("lang"), document["text"][:3000],
                             "", "", ""])
    return {"by_language": by_language, "labelling_sheet": str(output_dir / "labelling_sheet.csv")}


def run_factory(config: FactoryConfig, output_dir: str | Path) -> FactoryResult:
    output_dir = Path(output_dir)
    executor = LocalPipelineExecutor(
        pipeline=build_pipeline(config, output_dir),
        tasks=config.tasks,
        workers=config.workers,
        logging_dir=str(output_dir / "logs"),
        skip_completed=True,
    )
    executor.run()
    step_stats = json.loads((output_dir / "logs" / "stats.json").read_text())  # merged over tasks
    stats = {"factory": config.name, **_accounting(output_dir, step_stats), **evaluate(output_dir, config)}
    atomic_write_json(output_dir / "stats.json", stats)
    return FactoryResult(output_dir, output_dir / "clean", stats)
