"""Collect a multirun (or any tree of trainer run directories) into one results table.

    python experiments/collect.py dir=multirun/train/2026-11-23/10-00-00
    python experiments/collect.py dir=outputs/attribute_scaling/default/runs output=results.csv
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

import ziya2lab.study.config  # noqa: F401  (registers collect_schema)
from ziya2lab.common.attributes import RUN_COLUMN
from ziya2lab.common.paths import config_dir
from ziya2lab.study.results import write_results


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="collect")
def main(cfg: DictConfig) -> None:
    root = Path(cfg.dir)
    output = Path(cfg.output) if cfg.output else root / "results.parquet"
    table = write_results(root, output)
    print(table.groupby(["model", "corpus", "test_set"])["loss"].agg(["count", "min"]).to_string())
    print(f"{len(table)} rows from {table[RUN_COLUMN].nunique()} runs -> {output}")
    if table.attrs["skipped"]:
        print(f"skipped {len(table.attrs['skipped'])} unfinished or unreadable runs (listed in the log above)")


if __name__ == "__main__":
    main()
