"""Ziya2's five-step data factory on datatrove: preprocess → score → filter → de-duplicate → evaluate.

Two datatrove stages. Stage one is sharded into ``tasks``: read, preprocess (encoding, normalisation, language,
t2s), score (KenLM perplexity), rules. Stage two is one task over everything stage one kept, because its steps
need the whole corpus: the perplexity buckets (percentiles over all tasks' scores) and de-duplication (a
duplicate may sit in another shard). Both run on datatrove executors (local here; Slurm/Ray take the same step
lists), whose completion markers make a killed run resume where it stopped.

Every input record ends in exactly one state (kept, removed by step/rule, duplicate, malformed) and
``stats.json`` proves it: ``kept + sum(removed) + duplicates + malformed == input``, else the run fails.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter
from datatrove.pipeline.writers.disk_base import DiskWriter

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.data.config import FactoryConfig, OutputConfig, ScoringConfig
from ziya2lab.data.dedup import DUPLICATE_REASONS, Deduplicate
from ziya2lab.data.kenlm_model import train_model
from ziya2lab.data.report import evaluate, kept_documents
from ziya2lab.data.sources import is_reference, iter_source
from ziya2lab.data.steps import (
    MALFORMED_EXAMPLES,
    CappedRemovedWriter,
    LanguageFilter,
    PerplexityBucket,
    PerplexityScorer,
    Preprocess,
    QualityRules,
    SourceReader,
    StageOneWriter,
)

# datatrove step name -> the paper's step, used in stats.json keys "<step>/<rule>"
PAPER_STEPS = {"language": "preprocess", "perplexity": "scoring", "rules": "rules", "dedup": "dedup"}
OUTPUT_FORMATS = ("jsonl", "parquet")
PARQUET_METADATA = ("lang", "quality", "perplexity", "source", "url")
PARQUET_SCHEMA = pa.schema([
    ("id", pa.string()), ("text", pa.string()),
    ("metadata", pa.struct([("lang", pa.string()), ("quality", pa.string()), ("perplexity", pa.float64()),
                            ("source", pa.string()), ("url", pa.string()), ("extra", pa.string())])),
])


@dataclass
class FactoryResult:
    output_dir: Path
    corpus_path: Path  # the clean shards (JSONL or Parquet)
    stats: dict[str, Any]


def _parquet_row(writer: DiskWriter, document: Document) -> dict:
    """A fixed schema (metadata keys vary between documents; Parquet batches may not)."""
    metadata = dict(document.metadata)
    fixed = {key: metadata.pop(key, None) for key in PARQUET_METADATA}
    fixed["perplexity"] = None if fixed["perplexity"] is None else float(fixed["perplexity"])
    fixed = {key: value if key == "perplexity" or value is None else str(value) for key, value in fixed.items()}
    return {"id": document.id, "text": document.text,
            "metadata": {**fixed, "extra": json.dumps(metadata, ensure_ascii=False)}}


def clean_writer(directory: Path, output: OutputConfig) -> DiskWriter:
    if output.format not in OUTPUT_FORMATS:
        raise ValueError(f"factory.output.format={output.format!r}: choose one of {OUTPUT_FORMATS}")
    if output.format == "parquet":
        return ParquetWriter(str(directory), output_filename="${rank}.parquet", compression=output.compression,
                             adapter=_parquet_row, schema=PARQUET_SCHEMA, max_file_size=output.max_shard_bytes)
    return JsonlWriter(str(directory), output_filename="${rank}.jsonl", compression=output.compression,
                       max_file_size=output.max_shard_bytes)


def reference_models(config: ScoringConfig) -> dict[str, str]:
    """One KenLM model per language, trained (or found in the cache) on the reference sources' train split."""
    models = {}
    for lang, sources in config.reference_sources.items():
        texts = [document["text"] for source in sources
                 for document in itertools.islice(
                     (doc for doc in iter_source(source, split="train")
                      if is_reference(doc["id"], config.reference_percent)), config.reference_documents)]
        models[lang] = str(train_model(texts, lang, config.order, config.fallback_order, config.use_lmplz))
    return models


def stage_one(config: FactoryConfig, out: Path, models: dict[str, str]) -> list:
    removed = config.output.audit_per_rule
    reference = {source: config.scoring.reference_percent for sources in config.scoring.reference_sources.values()
                 for source in sources} if config.scoring.enabled else {}
    steps = [SourceReader(config.input, str(out / "malformed"), progress=config.output.progress, reference=reference),
             Preprocess(config.preprocess),
             LanguageFilter(config.preprocess, CappedRemovedWriter(str(out / "removed" / "preprocess"), removed))]
    if config.scoring.enabled:
        steps.append(PerplexityScorer(config.scoring, models, str(out / "scores")))
    steps.append(QualityRules(config.rules, CappedRemovedWriter(str(out / "removed" / "rules"), removed)))
    steps.append(StageOneWriter(str(out / "stage1")))
    return steps


def stage_two(config: FactoryConfig, out: Path) -> list:
    removed = config.output.audit_per_rule
    steps = [JsonlReader(str(out / "stage1"), doc_progress=config.output.progress, add_file_path=False)]
    if config.scoring.enabled:
        steps.append(PerplexityBucket(config.scoring, str(out / "scores"),
                                      CappedRemovedWriter(str(out / "removed" / "scoring"), removed)))
    steps.append(Deduplicate(config.dedup, CappedRemovedWriter(str(out / "removed" / "dedup"), removed)))
    steps.append(clean_writer(out / "clean", config.output))
    return steps


def _task_stats(logs: Path) -> list[list[dict]]:
    """Each task's per-step stats: on resume, the tasks skipped this time still count."""
    return [json.loads(path.read_text()) for path in sorted((logs / "stats").glob("*.json"))]


def _total(value: int | dict) -> int:
    return int(value["total"]) if isinstance(value, dict) else int(value)


def _step_name(step: dict) -> str:
    return step.get("name", "").split(": ", 1)[-1]


def accounting(out: Path) -> dict[str, Any]:
    """Every input record in exactly one state; raises if the states do not add up to the input."""
    documents = malformed = duplicates = 0
    removed: dict[str, int] = {}
    by_duplicate_kind: dict[str, int] = {}
    stage_one_written = stage_two_read = 0
    for stage in ("stage1", "stage2"):
        for task in _task_stats(out / "logs" / stage):
            for step in task:
                name, counts = _step_name(step), step.get("stats", {})
                if name == SourceReader.name:
                    documents += _total(counts.get("documents", 0))
                    malformed += _total(counts.get("malformed", 0))
                elif stage == "stage2" and step.get("name", "").startswith("📖"):
                    stage_two_read += _total(counts.get("documents", 0))
                elif stage == "stage1" and step.get("name", "").startswith("💽"):
                    stage_one_written += _total(counts.get("total", 0))
                for key, value in counts.items():
                    if not key.startswith("dropped_"):
                        continue
                    reason = key.removeprefix("dropped_")
                    if name == Deduplicate.name:
                        duplicates += _total(value)
                        by_duplicate_kind[reason] = by_duplicate_kind.get(reason, 0) + _total(value)
                    else:
                        label = f"{PAPER_STEPS.get(name, name)}/{reason}"
                        removed[label] = removed.get(label, 0) + _total(value)
    if stage_one_written != stage_two_read:
        raise RuntimeError(f"stage one wrote {stage_one_written} documents but stage two read {stage_two_read}")
    kept = sum(1 for _document in kept_documents(out))
    total = documents + malformed
    if kept + sum(removed.values()) + duplicates + malformed != total:
        raise RuntimeError(f"data factory lost documents: input {total}, kept {kept}, removed {removed}, "
                           f"duplicates {duplicates}, malformed {malformed}")
    malformed_records = [json.loads(line) for path in sorted((out / "malformed").glob("*.jsonl"))
                         for line in path.read_text(encoding="utf-8").splitlines()]
    unknown = set(by_duplicate_kind) - set(DUPLICATE_REASONS)
    if unknown:
        raise RuntimeError(f"unknown duplicate reasons {sorted(unknown)}")
    return {"input": total, "kept": kept, "removed": dict(sorted(removed.items())), "duplicates": duplicates,
            "malformed": malformed, "kept_fraction": kept / total if total else 0.0,
            "duplicates_by_kind": by_duplicate_kind, "malformed_records": malformed_records[:MALFORMED_EXAMPLES],
            "malformed_files": str(out / "malformed")}


def summary_table(stats: dict[str, Any]) -> str:
    """The accounting as a table whose rows add up to the input count."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"data factory: {stats.get('factory', '')}", show_footer=True)
    table.add_column("state", footer="input")
    table.add_column("documents", justify="right", footer=f"{stats['input']:,}")
    table.add_column("share", justify="right", footer="100.0%")
    rows = [("kept", stats["kept"]), *((f"removed {key}", n) for key, n in stats["removed"].items()),
            *((f"duplicate ({kind})", n) for kind, n in stats["duplicates_by_kind"].items()),
            ("malformed", stats["malformed"])]
    for label, count in rows:
        table.add_row(label, f"{count:,}", f"{100 * count / max(1, stats['input']):.1f}%")
    console = Console(width=100, record=True, file=open("/dev/null", "w"))  # noqa: SIM115  (render only)
    console.print(table)
    return console.export_text()


def run_factory(config: FactoryConfig, output_dir: str | Path) -> FactoryResult:
    out = Path(output_dir)
    models = reference_models(config.scoring) if config.scoring.enabled else {}
    first = LocalPipelineExecutor(pipeline=stage_one(config, out, models), tasks=config.tasks,
                                  workers=config.workers, logging_dir=str(out / "logs" / "stage1"),
                                  skip_completed=True)
    second = LocalPipelineExecutor(pipeline=stage_two(config, out), tasks=1, workers=1,
                                   logging_dir=str(out / "logs" / "stage2"), skip_completed=True, depends=first)
    second.run()
    stats = {"factory": config.name, **accounting(out), "models": models}
    stats.update(evaluate(out, config, stats))
    atomic_write_json(out / "stats.json", stats)
    return FactoryResult(out, out / "clean", stats)
