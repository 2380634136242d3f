"""One timeline across the base and every stage: held-out loss per domain at every eval, in bits per byte.

The trainer logs ``eval/<domain>`` as nats per token of the run's own tokenizer, which changes at the expansion;
bits per byte compare across it. A domain's set is scored whole (every window of the byte-capped timeline set),
so its loss per token converts with that tokenizer's tokens per byte on the same text: the stream the trainer
packs, documents joined by ``<eos>``, over the text's UTF-8 bytes with each ``<eos>`` counted as one byte (a
document separator), i.e. bits/byte = nats/token × stream tokens ÷ (bytes + documents) ÷ ln 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer

from ziya2lab.recipe.corpora import DOMAINS, CorpusFiles
from ziya2lab.recipe.stages import BASE, StageRun, timeline_eval_sets
from ziya2lab.train.datasets import iter_documents
from ziya2lab.train.metrics import eval_key
from ziya2lab.train.tokens import build_token_file

BPB_PREFIX = "bpb/"


def tokens_per_byte(tokenizer_dir: Path, files: CorpusFiles) -> dict[str, float]:
    """Per domain: stream tokens (with one ``<eos>`` per document) per byte (with one per document)."""
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    ratios = {}
    for domain, spec in timeline_eval_sets(files).items():
        documents = list(iter_documents(spec))
        corpus = build_token_file(documents, tokenizer, description=f"eval/{domain}")
        text_bytes = sum(len(document["text"].encode("utf-8")) for document in documents)
        ratios[domain] = (corpus.n_tokens + corpus.n_documents) / (text_bytes + len(documents))
    return ratios


def _eval_records(stage_run: StageRun, ratios: dict[str, float], offset_tokens: int) -> list[dict[str, Any]]:
    records = []
    for record in stage_run.run.read_metrics():
        losses = {domain: record[eval_key(domain)] for domain in DOMAINS if eval_key(domain) in record}
        if not losses:
            continue
        row: dict[str, Any] = {"variant": stage_run.variant, "stage": stage_run.stage, "stage_step": record["step"],
                               "tokens": offset_tokens + record["tokens"]}
        row |= {eval_key(domain): loss for domain, loss in losses.items()}
        row |= {f"{BPB_PREFIX}{domain}": loss * ratios[domain] / math.log(2) for domain, loss in losses.items()}
        records.append(row)
    return records


def build_timeline(base: StageRun, variants: dict[str, list[StageRun]], ratios_base: dict[str, float],
                   ratios_expanded: dict[str, float]) -> list[dict[str, Any]]:
    """The base's last eval at token 0; then per variant every eval of each stage at its cumulative token count
    of continual pre-training, and one boundary record per stage end (``boundary``: the stage that ended)."""
    start = _eval_records(base, ratios_base, 0)[-1]
    rows: list[dict[str, Any]] = [{**start, "variant": None, "stage": BASE, "tokens": 0}]
    for stages in variants.values():
        offset = 0
        for stage_run in stages:
            rows += _eval_records(stage_run, ratios_expanded, offset)
            offset += stage_run.run.read_summary().tokens
            rows.append({"variant": stage_run.variant, "boundary": stage_run.stage, "tokens": offset})
    return rows


def stage_end_bpb(timeline: list[dict[str, Any]], variant: str | None, stage: str) -> dict[str, float]:
    """Bits per byte per domain at the last eval of ``stage`` of ``variant`` (the base: ``variant`` None)."""
    rows = [row for row in timeline if row.get("stage") == stage and "boundary" not in row
            and (stage == BASE or row["variant"] == variant)]
    if not rows:
        raise KeyError(f"timeline has no eval of {variant}/{stage}")
    return {domain: rows[-1][f"{BPB_PREFIX}{domain}"] for domain in DOMAINS}


def run_end_bpb(stage_run: StageRun, ratios: dict[str, float]) -> dict[str, float]:
    """Bits per byte per domain at a run's last eval (for runs outside the timeline: the extra seeds')."""
    last = _eval_records(stage_run, ratios, 0)[-1]
    return {domain: last[f"{BPB_PREFIX}{domain}"] for domain in DOMAINS}
