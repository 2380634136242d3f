"""The recipe app's work: the whole recipe as cached, resumable steps under one output directory.

    corpora/        stage-2 instructions, stage-3 math, downstream test sets, timeline sets   (cached step)
    base_tokenizer/ the English byte-fallback BPE (recipe=llama2: LLaMA-2's own, not copied) (cached step)
    runs/base/      the English-only base model                                              (trainer run)
    expansion/      expanded tokenizer, its report, the init comparison, init_mean/ = stage 1's start (cached)
    runs/recipe/stage{1,2,3}, runs/no_replay/stage{2,3}, runs/single_stage/all               (trainer runs)
    timeline.jsonl, report.md, results.json, timeline.png, forgetting.png

Each trainer run is evaluated downstream (``ziya2lab.eval``, ``eval.json`` in its directory) once it is done.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.jsonl import write_jsonl
from ziya2lab.common.run_dir import RunDir
from ziya2lab.eval.config import GeneratedTasksConfig, HarnessConfig
from ziya2lab.eval.harness import evaluate_run, read_eval
from ziya2lab.recipe.base import base_tokenizer
from ziya2lab.recipe.config import BaseTokenizer, RecipeAppConfig
from ziya2lab.recipe.corpora import DOMAINS, EVAL_TEST_SETS, CorpusFiles, build_corpora
from ziya2lab.recipe.expansion import compare_inits, expand_tokenizer, expanded_checkpoint
from ziya2lab.recipe.report import write_report
from ziya2lab.recipe.stages import (
    BASE,
    NO_REPLAY,
    RECIPE,
    SINGLE_STAGE,
    StageRun,
    base_data,
    run_planned,
    run_single_stage,
    run_variant,
    trainer_config,
)
from ziya2lab.recipe.timeline import build_timeline, tokens_per_byte
from ziya2lab.study.cache import run_cached_step
from ziya2lab.train.datasets import iter_documents

log = logging.getLogger(__name__)
EXPANSION_RECORD = "expansion.json"
INIT_DIR = "init_mean"
TIMELINE_FILE = "timeline.jsonl"
TOKENIZER_DIR = "tokenizer"


def _settings(node: Any) -> Any:
    return json.loads(json.dumps(dataclasses.asdict(node), default=str))


def _base_tokenizer_dir(cfg: RecipeAppConfig, out: Path) -> Path:
    if cfg.base.tokenizer is BaseTokenizer.llama2:
        return base_tokenizer(cfg.base, (), out)

    def build(directory: Path) -> Path:
        texts, total = [], 0
        for spec in cfg.base.sources:
            for document in iter_documents(spec):
                if total >= cfg.base.tokenizer_train_chars:
                    break
                texts.append(document["text"])
                total += len(document["text"])
        return base_tokenizer(cfg.base, texts, directory / TOKENIZER_DIR)

    return run_cached_step(out / "base_tokenizer", _settings(cfg.base), build, lambda d: d / TOKENIZER_DIR)


def _expansion(cfg: RecipeAppConfig, out: Path, base: StageRun, base_tokenizer_dir: Path,
               files: CorpusFiles) -> tuple[dict[str, Any], Path, str]:
    """The expansion step's record, stage 1's start (``init_mean/``) and the step's key for the runs after it."""
    settings = {"base": base.key, "expansion": _settings(cfg.expansion),
                "stages": {name: _settings(plan.data) for name, plan in cfg.stages.items()}}

    def build(directory: Path) -> dict[str, Any]:
        report = expand_tokenizer(cfg, base_tokenizer_dir, files, directory)
        tokenizer_dir = Path(report["tokenizer_dir"])
        record = {"report": report,
                  "init_comparison": compare_inits(cfg, base.run.final, base_tokenizer_dir, tokenizer_dir, files)}
        expanded_checkpoint(base.run.final, tokenizer_dir, directory / INIT_DIR, cfg.seed)
        atomic_write_json(directory / EXPANSION_RECORD, record)
        return record

    directory = out / "expansion"
    record = run_cached_step(directory, settings, build, lambda d: json.loads((d / EXPANSION_RECORD).read_text()))
    return record, directory / INIT_DIR, json.dumps(settings, sort_keys=True)


def _downstream(cfg: RecipeAppConfig, run: RunDir, files: CorpusFiles) -> dict[str, Any]:
    """lm-eval tasks on the run's ``final/`` (once: ``eval.json`` is kept, and the run's plan covers it)."""
    existing = read_eval(run.path)
    if existing is None:
        test_sets = {name: files.test_set(name) for name in (*EVAL_TEST_SETS, *DOMAINS)}
        existing = evaluate_run(
            run.path, list(cfg.downstream.tasks), test_sets=test_sets,
            generated=GeneratedTasksConfig(bpb_max_bytes=cfg.downstream.bpb_max_bytes,
                                           mc_max_items=cfg.downstream.mc_max_items),
            harness=HarnessConfig(batch_size=cfg.downstream.batch_size))
    return {task: record["metrics"] for task, record in existing["tasks"].items()}


def _run_all(cfg: RecipeAppConfig, out: Path, files: CorpusFiles) -> dict[str, Any]:
    base_tok = _base_tokenizer_dir(cfg, out)
    runs_root = out / "runs"
    base_config = trainer_config(cfg, runs_root / BASE, base_data(cfg), base_tok, None, cfg.base.steps,
                                 cfg.base.lr, cfg.base.min_lr, files)
    base_key = run_planned(base_config, {"corpora": _settings(cfg.corpora), "base": _settings(cfg.base)})
    base = StageRun(BASE, BASE, RunDir(runs_root / BASE), base_key)
    expansion, start, start_key = _expansion(cfg, out, base, base_tok, files)
    variants = {RECIPE: run_variant(cfg, RECIPE, start, start_key, files, runs_root)}
    if cfg.ablations.no_replay:
        variants[NO_REPLAY] = run_variant(cfg, NO_REPLAY, start, start_key, files, runs_root, variants[RECIPE][0])
    if cfg.ablations.single_stage:
        variants[SINGLE_STAGE] = [run_single_stage(cfg, start, start_key, files, runs_root)]
    downstream = {}
    if cfg.downstream.enabled:  # a run shared by two variants (stage 1) is evaluated once: eval.json is kept
        downstream[BASE] = _downstream(cfg, base.run, files)
        for runs in variants.values():
            for stage_run in runs:
                downstream[f"{stage_run.variant}/{stage_run.stage}"] = _downstream(cfg, stage_run.run, files)
    timeline = build_timeline(base, variants, tokens_per_byte(base_tok, files),
                              tokens_per_byte(start, files))
    write_jsonl(out / TIMELINE_FILE, timeline)
    return {
        "name": cfg.name, "timeline": timeline, "downstream": downstream,
        "checkpoints": {variant: [run.stage for run in runs] for variant, runs in variants.items()},
        "expansion": {key: expansion["report"][key] for key in (
            "tokens_per_cjk_char_before", "tokens_per_cjk_char_after", "english_unchanged", "added_tokens",
            "padding_tokens", "vocab_size")} | {"base_vocab_size": expansion["report"]["vocab_size"]
                                                 - expansion["report"]["added_tokens"]
                                                 - expansion["report"]["padding_tokens"]},
        "init_comparison": expansion["init_comparison"],
        "runs": [_run_row(stage_run) for stage_run in [base, *(run for runs in variants.values() for run in runs)]],
    }


def _run_row(stage_run: StageRun) -> dict[str, Any]:
    summary = stage_run.run.read_summary()
    return {"variant": stage_run.variant, "stage": stage_run.stage, "steps": summary.steps, "tokens": summary.tokens,
            "wall_time_s": summary.wall_time_s, "path": str(stage_run.run.path)}


def run_recipe(cfg: RecipeAppConfig) -> Path:
    """Run (or reuse) every step of the recipe and write the report; returns ``report.md``'s path."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = run_cached_step(out / "corpora", _settings(cfg.corpora), lambda d: build_corpora(cfg.corpora, d),
                            CorpusFiles)
    return write_report(out, _run_all(cfg, out, files))
