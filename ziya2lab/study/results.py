"""The results table on disk: Parquet for tools, CSV beside it for people and spreadsheets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ziya2lab.common.atomic import atomic_file
from ziya2lab.study.collect import collect


def save_table(table: pd.DataFrame, path: Path) -> None:
    """Write ``path`` (.parquet or .csv) atomically, so a reader never sees half a table."""
    if path.suffix not in (".parquet", ".csv"):
        raise ValueError(f"results file {path} must end in .parquet or .csv")
    with atomic_file(path, "wb") as handle:
        if path.suffix == ".parquet":
            table.to_parquet(handle, index=False)
        else:
            table.to_csv(handle, index=False)


def write_results(root: Path, output: Path) -> pd.DataFrame:
    """Collect the runs below ``root`` into ``output``; nothing to collect is an error naming ``root`` and why."""
    table = collect(root)
    if table.empty:
        skipped = table.attrs["skipped"]
        why = f"none of its {len(skipped)} runs finished (see the log above)" if skipped else \
            "it holds no run directory the trainer wrote"
        raise ValueError(f"{root}: nothing to collect: {why}")
    save_table(table, output)
    if output.suffix == ".parquet":
        save_table(table, output.with_suffix(".csv"))
    return table
