"""The study's wandb summary run: the results table, the fit table and the report's figures (offline by default)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ziya2lab.study.analysis import StudyFit
from ziya2lab.study.report import parameter_table
from ziya2lab.train.config import LoggerConfig, LoggerKind


def log_summary_run(logger: LoggerConfig, group: str, out_dir: Path, table: pd.DataFrame,
                    fits: Mapping[str, StudyFit]) -> None:
    if LoggerKind(logger.kind) is LoggerKind.none:
        return
    import wandb

    run = wandb.init(project=logger.project, entity=logger.entity, group=group, name=f"{group}-summary",
                     job_type="study-summary", mode=logger.mode, dir=str(out_dir), tags=[*logger.tags, "summary"])
    failed = True
    try:
        run.log({"results": wandb.Table(dataframe=table.drop(columns=["run_dir"]))})
        run.log({"fits": wandb.Table(dataframe=parameter_table(fits))})
        figures = sorted((out_dir / "figures").glob("*.png"))
        run.log({f"figures/{path.stem}": wandb.Image(str(path)) for path in figures})
        failed = False
    finally:
        run.finish(exit_code=1 if failed else 0)
