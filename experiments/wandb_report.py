"""Build a wandb Report of the study's runs; offline (the default) it says what it would publish and how.

    python experiments/wandb_report.py                               # offline: the plan and the sync command
    python experiments/wandb_report.py runs_dir=outputs/train        # count and sync only the runs under a folder
    WANDB_MODE=online python experiments/wandb_report.py logger.mode=online group=default
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

import ziya2lab.study.config  # noqa: F401  (registers wandb_report_schema)
from ziya2lab.study.wandb_report import ReportPlan, describe, publish


@hydra.main(version_base="1.3", config_path="../conf", config_name="wandb_report")
def main(cfg: DictConfig) -> None:
    plan = ReportPlan(cfg.logger.project, cfg.logger.entity, cfg.title, cfg.group, list(cfg.test_sets))
    if cfg.logger.mode == "online":
        print(f"published: {publish(plan)}")
    else:
        online = [word for word in sys.argv[1:] if not word.startswith("logger.mode=")] + ["logger.mode=online"]
        print(describe(plan, Path(cfg.runs_dir), shlex.join(["python", sys.argv[0], *online])))


if __name__ == "__main__":
    main()
