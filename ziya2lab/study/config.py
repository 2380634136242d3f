"""Structured configs of the study app (``conf/attribute_scaling.yaml``) and the collector app.

Every default lives here; ``conf/study/*.yaml`` presets only override. The default preset is sized to finish in
about 15 minutes on 2 CPU cores; ``study=full`` is the workstation/GPU preset and ``study=mini`` the test's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from ziya2lab.attributes.config import RatersConfig
from ziya2lab.train.config import LoggerConfig


@dataclass
class GridConfig:
    """The training grid: every model preset × every corpus × every seed, each run yielding several volumes.

    ``trainer`` holds the study's trainer settings in the trainer's own keys and only where they differ from its
    defaults (``ziya2lab.train.config``); the grid checks them against the trainer's schema before anything runs.
    Each run uses the WSD schedule over ``trainer.train.max_tokens``; ``branch_fractions`` of it are the
    stable-phase points where a cooldown branch is taken, so one run gives ``len(branch_fractions) + 1`` data
    volumes V, each a complete learning-rate schedule.
    """

    models: list[str] = field(default_factory=lambda: ["llama_100k", "llama_300k", "llama_1m"])  # 12.5x in N
    seeds: list[int] = field(default_factory=lambda: [0])
    branch_fractions: list[float] = field(default_factory=lambda: [0.25, 0.5])
    trainer: dict[str, Any] = field(default_factory=lambda: {"train": {"max_tokens": 200_000, "batch_size": 16}})
    extra_overrides: list[str] = field(default_factory=list)  # passed verbatim to every trainer run


@dataclass
class LevelsConfig:
    """Each family moves one attribute over ``levels`` (fractions in [0, 1]) at equal corpus size."""

    CH: list[float] = field(default_factory=lambda: [0.2, 0.5, 0.8])  # fraction of documents made incoherent
    RA: list[float] = field(default_factory=lambda: [0.2, 0.5, 0.8])  # fraction of documents made hard to read
    SIM: list[float] = field(default_factory=lambda: [0.1, 0.25, 0.5])  # fraction of characters from the pool
    similarity_target: str = "code"  # whose held-out pool the SIM family mixes in
    budget_fraction: float = 0.85  # every corpus holds this fraction of the clean base's characters


@dataclass
class FitConfig:
    bootstrap: int = 40  # resamples of runs for the confidence intervals
    refine: int = 16  # L-BFGS-B runs from the best grid starts
    bootstrap_refine: int = 1


@dataclass
class StudyConfig:
    name: str = "default"
    factory_overrides: list[str] = field(default_factory=list)  # overrides of the build_data app (data factory)
    max_base_chars: int | None = 1_500_000  # cap on the clean corpus used as the base of every family
    tokenizer_vocab_size: int = 2048
    levels: LevelsConfig = field(default_factory=LevelsConfig)
    raters: RatersConfig = field(default_factory=RatersConfig)
    test_sets: list[str] = field(default_factory=lambda: ["en_prose", "zh_news", "qa", "code"])
    grid: GridConfig = field(default_factory=GridConfig)
    workers: int = 2  # trainer runs at once
    threads_per_run: int = 1  # torch threads per run (workers × threads ≈ cores)
    fits: FitConfig = field(default_factory=FitConfig)
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
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if key in MOVED_GRID_KEYS:
            raise SystemExit(f"Error: {key} is now {MOVED_GRID_KEYS[key]}, in the trainer's own keys: pass "
                             f"++{MOVED_GRID_KEYS[key]}={value}")


def register_configs() -> None:
    store = ConfigStore.instance()
    store.store(name="attribute_scaling_schema", node=StudyAppConfig)
    store.store(name="collect_schema", node=CollectAppConfig)
    store.store(name="wandb_report_schema", node=WandbReportAppConfig)


register_configs()
