"""Ziya2's five-step data factory on datatrove: preprocess → score → filter → de-duplicate → evaluate.

Stage one is sharded into ``tasks``: read, preprocess (encoding, normalisation, language, t2s), score (KenLM
perplexity), rules. Then de-duplication's stages (``dedup.py``: signatures per shard, links per key part, one
corpus-order walk over the links) and the final sharded stage: the perplexity buckets, whose cut-offs come from
every stage-one task's score sample, and the duplicate filter, writing ``clean/``. The same stage lists run on
datatrove's local or Slurm executor (``executors.py``), whose completion markers make a killed run resume where it
stopped; ``output_guard.py`` makes sure it resumes only a run with the same settings and inputs.

Every input record ends in exactly one state (kept, removed by step/rule, duplicate, malformed) and
``stats.json`` proves it: ``kept + sum(removed) + duplicates + malformed == input``, else the run fails.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from datatrove.data import Document
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter
from datatrove.pipeline.writers.disk_base import DiskWriter

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.hashing import hash_bytes, hash_config
from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.data import kenlm_model
from ziya2lab.data import sources as data_sources
from ziya2lab.data.config import ExecutorKind, FactoryConfig, InputConfig, OutputConfig, ScoringConfig
from ziya2lab.data.dedup import (
    DUPLICATE_REASONS,
    DedupLinks,
    DedupResolve,
    DedupSignatures,
    DuplicateFilter,
    PositionedReader,
    link_parts,
)
from ziya2lab.data.executors import Stage, run_stages
from ziya2lab.data.kenlm_model import indexed_model, lmplz_tools, train_model
from ziya2lab.data.output_guard import build_record, claim_output_dir, output_settings
from ziya2lab.data.readers import expand_paths
from ziya2lab.data.report import evaluate, kept_documents
from ziya2lab.data.sources import is_reference, iter_source, source_fingerprint
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

log = logging.getLogger(__name__)

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


def reference_texts(config: ScoringConfig, lang: str) -> list[str]:
    """The texts ``lang``'s reference model is trained on: the first ``reference_documents`` reference documents
    (``is_reference``) of each of its sources' train split."""
    return [document["text"] for source in config.reference_sources[lang]
            for document in itertools.islice((doc for doc in iter_source(source, split="train")
                                              if is_reference(doc["id"], config.reference_percent)),
                                             config.reference_documents)]


def reference_models(config: ScoringConfig) -> dict[str, str]:
    """One KenLM model per language, trained (or found in the cache) on the reference sources' train split.

    The model files are named by a hash of their training text; an index keyed by the settings, the source files'
    fingerprints and the code that extracts and tokenises them finds a model without reading the sources again.
    """
    code = hash_bytes(*(Path(module.__file__).read_bytes() for module in (kenlm_model, data_sources)))
    models = {}
    for lang, sources in config.reference_sources.items():
        key = hash_config({"lang": lang, "sources": {source: source_fingerprint(source) for source in sources},
                           "settings": [config.reference_percent, config.reference_documents, config.order,
                                        config.fallback_order, config.use_lmplz, str(lmplz_tools())], "code": code})
        models[lang] = indexed_model(key[:24], lambda lang=lang: train_model(
            reference_texts(config, lang), lang, config.order, config.fallback_order, config.use_lmplz))
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


def _bucket(config: FactoryConfig, out: Path, audit: bool) -> list:
    if not config.scoring.enabled:
        return []
    writer = CappedRemovedWriter(str(out / "removed" / "scoring"), config.output.audit_per_rule) if audit else None
    return [PerplexityBucket(config.scoring, str(out / "scores"), writer)]


def dedup_stages(config: FactoryConfig, out: Path, tasks: int) -> list[Stage]:
    """Signatures per shard (after the perplexity buckets, as stage two sees the documents), links per key part,
    the one-task walk. Their output is in ``dedup/``."""
    folder = str(out / "dedup")
    signatures = [PositionedReader(str(out / "stage1")), *_bucket(config, out, audit=False),
                  DedupSignatures(config.dedup, folder)]
    return [Stage("signatures", signatures, tasks),
            Stage("links", [DedupLinks(config.dedup, folder)], min(tasks, link_parts(config.dedup))),
            Stage("resolve", [DedupResolve(config.dedup, folder)], 1)]


def stage_two(config: FactoryConfig, out: Path) -> list:
    """Perplexity buckets, the duplicates the dedup stages found, the clean shards (sharded like the signatures)."""
    removed = CappedRemovedWriter(str(out / "removed" / "dedup"), config.output.audit_per_rule)
    return [JsonlReader(str(out / "stage1"), doc_progress=config.output.progress, add_file_path=False),
            *_bucket(config, out, audit=True), DuplicateFilter(config.dedup, str(out / "dedup"), removed),
            clean_writer(out / "clean", config.output)]


def factory_stages(config: FactoryConfig, out: Path, models: dict[str, str], tasks: int) -> list[Stage]:
    return [Stage("stage1", stage_one(config, out, models), tasks), *dedup_stages(config, out, tasks),
            Stage("stage2", stage_two(config, out), tasks)]


def _task_stats(logs: Path) -> list[list[dict]]:
    """Each task's per-step stats: on resume, the tasks skipped this time still count."""
    return [json.loads(path.read_text()) for path in sorted((logs / "stats").glob("*.json"))]


def _total(value: int | dict) -> int:
    return int(value["total"]) if isinstance(value, dict) else int(value)


def _step_name(step: dict) -> str:
    return step.get("name", "").split(": ", 1)[-1]


class EmptyInput(ValueError):
    """The input holds no documents; the message names it."""


def accounting(out: Path, inputs: str = "the input") -> dict[str, Any]:
    """Every input record in exactly one state; raises if the states do not add up to the input, or if there was
    no input record at all (``inputs`` names what was read)."""
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
                    if name == DuplicateFilter.name:
                        duplicates += _total(value)
                        by_duplicate_kind[reason] = by_duplicate_kind.get(reason, 0) + _total(value)
                    else:
                        label = f"{PAPER_STEPS.get(name, name)}/{reason}"
                        removed[label] = removed.get(label, 0) + _total(value)
    if stage_one_written != stage_two_read:
        raise RuntimeError(f"stage one wrote {stage_one_written} documents but stage two read {stage_two_read}")
    total = documents + malformed
    if total == 0:
        raise EmptyInput(f"{inputs}: no documents (no non-blank record in any file); nothing to build a corpus from")
    kept = sum(1 for _document in kept_documents(out))
    if kept + sum(removed.values()) + duplicates + malformed != total:
        raise RuntimeError(f"data factory lost documents: input {total}, kept {kept}, removed {removed}, "
                           f"duplicates {duplicates}, malformed {malformed}")
    malformed_records = [record for path in sorted((out / "malformed").glob("*.jsonl")) for record in read_jsonl(path)]
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


def input_files(config: InputConfig) -> list[Path]:
    """Every file the input paths name; a path that names none is an error naming it."""
    return sorted({file for path in config.paths for file in expand_paths(path)})


def _check_input(config: InputConfig, files: list[Path]) -> None:
    named = ", ".join(config.paths)
    if not files and not any(source.limit != 0 for source in config.packaged_sources()):
        raise EmptyInput("no input: give input=<file, glob or directory> (or packaged factory.input.sources)")
    empty = [file for file in files if file.stat().st_size == 0]
    if empty and len(empty) == len(files) and not config.packaged_sources():
        raise EmptyInput(f"input {named}: {', '.join(map(str, empty))} empty (0 bytes): no documents to build from")
    for file in empty:
        log.warning("input file %s is empty (0 bytes)", file)


def resolved_tasks(config: FactoryConfig, files: list[Path]) -> int:
    """``tasks``, or for 0 one per input file, at most this machine's cores when it runs here."""
    if config.tasks > 0:
        return config.tasks
    wanted = max(1, len(files))
    return min(wanted, os.cpu_count() or 1) if config.executor == ExecutorKind.local else wanted


def run_factory(config: FactoryConfig, output_dir: str | Path, overwrite: bool = False) -> FactoryResult:
    """Build the clean corpus of ``config`` in ``output_dir`` (resuming a killed run with the same settings)."""
    out = Path(output_dir).resolve()
    files = input_files(config.input)
    _check_input(config.input, files)
    tasks = resolved_tasks(config, files)
    models = reference_models(config.scoring) if config.scoring.enabled else {}
    claim_output_dir(out, build_record(output_settings(config, tasks), files, models), overwrite)
    run_stages(factory_stages(config, out, models, tasks), config, out / "logs")
    inputs = f"input {', '.join(config.input.paths)}" if files else "the packaged sources"
    stats = {"factory": config.name, **accounting(out, inputs), "models": models, "tasks": tasks,
             "executor": config.executor.value}
    stats.update(evaluate(out, config, stats))
    atomic_write_json(out / "stats.json", stats)
    return FactoryResult(out, out / "clean", stats)
