"""The trainer's command line, ``python -m ziya2lab.train <overrides>``: the Hydra app of ``conf/train.yaml``.

The run directory is Hydra's (``hydra.run.dir=...``); a multirun (``-m``) makes one per job.

    python -m ziya2lab.train                                   # smallest model, packaged corpus, ~1 min on CPU
    python -m ziya2lab.train model=llama_10m train.max_tokens=2000000 train.max_steps=null train.schedule=wsd
    ACCELERATE_USE_CPU=1 torchrun --standalone --nproc_per_node 2 -m ziya2lab.train   # 2-process DDP, CPU
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ziya2lab.common.paths import config_dir
from ziya2lab.common.run_dir import RunDir
from ziya2lab.train.config import TrainAppConfig  # importing it registers the schema, train_schema
from ziya2lab.train.loop import run_training
from ziya2lab.train.resume import continues_saved_run, resumed_config


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> None:
    launch = HydraConfig.get()
    main_process = int(os.environ.get("RANK", "0")) == 0
    if continues_saved_run(cfg):
        config: DictConfig | TrainAppConfig = resumed_config(cfg, launch.overrides.task)
    else:
        config = cfg
        if main_process:
            RunDir(cfg.output_dir).write_launch(dict(launch.runtime.choices), list(launch.overrides.task))
    summary = run_training(config)
    if main_process:
        print(f"{summary.status}: {summary.steps} steps, {summary.tokens} tokens -> {cfg.output_dir}")
        for name, loss in summary.eval.items():
            print(f"  eval/{name}: {loss:.4f}")


class RequireInputs(Callback):
    """Refuse a multirun whose inputs do not exist yet, before Hydra makes any job directory.

    A sweep over files that another step builds (the study's corpora, say) names them here, so that running it
    too early fails once, saying what to run first, instead of failing in every job and leaving their directories.
    Hydra turns a callback's exception into a warning and goes on, so the refusal is an exit.
    """

    def __init__(self, paths: Sequence[str], hint: str) -> None:
        self.paths = list(paths)
        self.hint = hint

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        missing = [path for path in self.paths if not Path(path).exists()]
        if missing:
            raise SystemExit(
                f"Error: {len(missing)} of the {len(self.paths)} inputs of this sweep do not exist (relative paths "
                f"are taken from {Path.cwd()}), e.g. {missing[0]}: {self.hint}"
            )
