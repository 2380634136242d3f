"""The recipe app's work: the whole recipe as cached, resumable steps under one output directory.

    corpora/        stage-2 instructions, stage-3 math, downstream test sets, timeline sets   (cached step)
    base_tokenizer/ the English byte-fallback BPE (recipe=llama2: LLaMA-2's own, not copied) (cached step)
    runs/base/      the English-only base model                                              (trainer run)
    expansion/      expanded tokenizer (stage 1's, with the base's final/), its report, the init comparison (cached)
    runs/recipe/stage{1,2,3}, runs/no_replay/stage{2,3}, runs/single_stage/all               (trainer runs)
    timeline.jsonl, report.md, results.json, timeline.png, forgetting.png

Each trainer run is evaluated downstream (``ziya2lab.eval``, ``eval.json`` in its directory) once it is done.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.jsonl import write_jsonl
from ziya2lab.common.run_dir import RunDir
from ziya2lab.eval.config import GeneratedTasksConfig, HarnessConfig
from ziya2lab.eval.harness import evaluate_run, read_eval
from ziya2lab.recipe.base import base_tokenizer
from ziya2lab.recipe.config import STAGES, BaseTokenizer, RecipeAppConfig
from ziya2lab.recipe.corpora import DOMAINS, EVAL_TEST_SETS, CorpusFiles, build_corpora
from ziya2lab.recipe.expansion import compare_inits, expand_tokenizer
from ziya2lab.recipe.report import ENGLISH, write_report
from ziya2lab.recipe.stages import (
    BASE,
    NO_REPLAY,
    RECIPE,
    SINGLE_STAGE,
    StageRun,
    Start,
    base_data,
    check_stage1_shared,
    run_chain,
    run_planned,
    run_single_stage,
    trainer_config,
)
from ziya2lab.recipe.timeline import build_timeline, run_end_bpb, tokens_per_byte
from ziya2lab.study.cache import run_cached_step
from ziya2lab.train.datasets import iter_documents

log = logging.getLogger(__name__)
EXPANSION_RECORD = "expansion.json"
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
               files: CorpusFiles) -> tuple[dict[str, Any], Start]:
    """The expansion step's record, and stage 1's start: the base's ``final/`` with the expanded tokenizer (the
    trainer grows the embeddings, ``expansion.stage_init``), keyed by the step's settings."""
    settings = {"base": base.key, "expansion": _settings(cfg.expansion),
                "stages": {name: _settings(plan.data) for name, plan in cfg.stages.items()}}

    def build(directory: Path) -> dict[str, Any]:
        report = expand_tokenizer(cfg, base_tokenizer_dir, files, directory)
        tokenizer_dir = Path(report["tokenizer_dir"])
        record = {"report": report,
                  "init_comparison": compare_inits(cfg, base.run.final, base_tokenizer_dir, tokenizer_dir, files)}
        atomic_write_json(directory / EXPANSION_RECORD, record)
        return record

    directory = out / "expansion"
    record = run_cached_step(directory, settings, build, lambda d: json.loads((d / EXPANSION_RECORD).read_text()))
    key = json.dumps(settings, sort_keys=True)
    return record, Start(base.run.final, Path(record["report"]["tokenizer_dir"]), key)


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


def _continual_runs(cfg: RecipeAppConfig, start: Start, files: CorpusFiles,
                    runs_root: Path) -> tuple[dict[str, list[StageRun]], dict[int, dict[str, list[StageRun]]]]:
    """Every run after the expansion, ``cfg.workers`` at a time in worker processes: stage 1 beside the single
    stage (both start from the expanded base), then stages 2–3 of each variant, then those of each extra seed
    (``runs/seed<N>/``), all from the one stage 1. Returns the variants' runs and the extra seeds' runs."""
    check_stage1_shared(cfg)
    variants = [RECIPE] + ([NO_REPLAY] if cfg.ablations.no_replay else [])
    if cfg.ablations.seeds and NO_REPLAY not in variants:
        raise ValueError("ablations.seeds repeats the replay comparison: it needs ablations.no_replay=true")
    if cfg.seed in cfg.ablations.seeds or len(set(cfg.ablations.seeds)) != len(cfg.ablations.seeds):
        raise ValueError(f"ablations.seeds={cfg.ablations.seeds} must be distinct and exclude seed={cfg.seed}, "
                         f"which the recipe's own runs use")
    seeds = {seed: (dataclasses.replace(cfg, seed=seed), runs_root / f"seed{seed}") for seed in cfg.ablations.seeds}
    pool = ProcessPoolExecutor(max_workers=cfg.workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        first = pool.submit(run_chain, cfg, RECIPE, list(STAGES[:1]), start, files, runs_root)
        single = pool.submit(run_single_stage, cfg, start, files, runs_root) if cfg.ablations.single_stage else None
        stage1 = first.result()[0]
        later = list(STAGES[1:])
        chains = {variant: pool.submit(run_chain, cfg, variant, later, Start.after(stage1), files, runs_root)
                  for variant in variants}
        seed_chains = {(seed, variant): pool.submit(run_chain, seed_cfg, variant, later, Start.after(stage1), files,
                                                    seed_root)
                       for seed, (seed_cfg, seed_root) in seeds.items() for variant in variants}
        runs = {variant: [dataclasses.replace(stage1, variant=variant), *chain.result()]
                for variant, chain in chains.items()}
        if single is not None:
            runs[SINGLE_STAGE] = [single.result()]
        by_seed: dict[int, dict[str, list[StageRun]]] = {seed: {} for seed in seeds}
        for (seed, variant), chain in seed_chains.items():
            by_seed[seed][variant] = chain.result()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # queued runs are dropped; each run resumes on a re-run
        raise
    pool.shutdown()
    return runs, by_seed


def _replay_seeds(cfg: RecipeAppConfig, variants: dict[str, list[StageRun]],
                  by_seed: dict[int, dict[str, list[StageRun]]], ratios: dict[str, float]) -> list[dict[str, Any]]:
    """Per seed of stages 2–3: English bits per byte after stage 3 minus after the shared stage 1, per variant."""
    if NO_REPLAY not in variants:
        return []
    stage1 = run_end_bpb(variants[RECIPE][0], ratios)[ENGLISH]
    rows = []
    for seed, runs in {cfg.seed: {v: variants[v][1:] for v in (RECIPE, NO_REPLAY)}, **by_seed}.items():
        row: dict[str, Any] = {"seed": seed}
        for variant in (RECIPE, NO_REPLAY):
            row[variant] = run_end_bpb(runs[variant][-1], ratios)[ENGLISH] - stage1
        row["reduction"] = row[NO_REPLAY] - row[RECIPE]
        rows.append(row)
    return rows


def _run_all(cfg: RecipeAppConfig, out: Path, files: CorpusFiles) -> dict[str, Any]:
    base_tok = _base_tokenizer_dir(cfg, out)
    runs_root = out / "runs"
    base_config = trainer_config(cfg, runs_root / BASE, base_data(cfg), base_tok, None, cfg.base.steps,
                                 cfg.base.lr, cfg.base.min_lr, files)
    base_key = run_planned(base_config, {"corpora": _settings(cfg.corpora), "base": _settings(cfg.base)})
    base = StageRun(BASE, BASE, RunDir(runs_root / BASE), base_key)
    expansion, start = _expansion(cfg, out, base, base_tok, files)
    variants, by_seed = _continual_runs(cfg, start, files, runs_root)
    downstream = {}
    if cfg.downstream.enabled:  # a run shared by two variants (stage 1) is evaluated once: eval.json is kept
        downstream[BASE] = _downstream(cfg, base.run, files)
        for runs in variants.values():
            for stage_run in runs:
                downstream[f"{stage_run.variant}/{stage_run.stage}"] = _downstream(cfg, stage_run.run, files)
    expanded_ratios = tokens_per_byte(start.tokenizer, files)
    timeline = build_timeline(base, variants, tokens_per_byte(base_tok, files), expanded_ratios)
    write_jsonl(out / TIMELINE_FILE, timeline)
    seed_runs = [(seed, run) for seed, runs in by_seed.items() for chain in runs.values() for run in chain]
    return {
        "name": cfg.name, "timeline": timeline, "downstream": downstream,
        "checkpoints": {variant: [run.stage for run in runs] for variant, runs in variants.items()},
        "expansion": {key: expansion["report"][key] for key in (
            "tokens_per_cjk_char_before", "tokens_per_cjk_char_after", "english_unchanged", "added_tokens",
            "padding_tokens", "vocab_size")} | {"base_vocab_size": expansion["report"]["vocab_size"]
                                                 - expansion["report"]["added_tokens"]
                                                 - expansion["report"]["padding_tokens"]},
        "init_comparison": expansion["init_comparison"],
        "replay_seeds": _replay_seeds(cfg, variants, by_seed, expanded_ratios),
        "runs": [_run_row(stage_run) for stage_run in [base, *(run for runs in variants.values() for run in runs)]],
        "seed_runs": [{"seed": seed, **_run_row(stage_run)} for seed, stage_run in seed_runs],
    }


def _run_row(stage_run: StageRun) -> dict[str, Any]:
    summary = stage_run.run.read_summary()
    return {"variant": stage_run.variant, "stage": stage_run.stage, "steps": summary.steps, "tokens": summary.tokens,
            "wall_time_s": summary.wall_time_s, "path": str(stage_run.run.path)}


def run_recipe(cfg: RecipeAppConfig) -> Path:
    """Run (or reuse) every step of the recipe and write the report; returns ``report.md``'s path."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.train.threads:  # the trainer sets it per run; evaluation of reused runs needs it too
        torch.set_num_threads(cfg.train.threads)
    files = run_cached_step(out / "corpora", _settings(cfg.corpora), lambda d: build_corpora(cfg.corpora, d),
                            CorpusFiles)
    return write_report(out, _run_all(cfg, out, files))
