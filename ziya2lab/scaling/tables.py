"""Tables of runs from files: CSV or Parquet, with Epoch's Chinchilla extraction recognised by its columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EPOCH_COLUMNS = ("Model Size", "Training FLOP")  # Epoch's svg_extracted_data.csv (Hoffmann et al. Fig. 4)


def read_table(path: str | Path, drop_highest_losses: int = 0) -> pd.DataFrame:
    """The table at ``path``; Epoch's columns become N and D = C/(6N); optionally drop the highest losses."""
    path = Path(path)
    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
    elif path.suffix == ".csv":
        table = pd.read_csv(path)
    else:
        raise ValueError(f"{path}: a table of runs must be .csv or .parquet")
    if all(column in table for column in EPOCH_COLUMNS) and "N" not in table:
        table = table.rename(columns={"Model Size": "N"})
        table["D"] = table["Training FLOP"] / (6 * table["N"])
    if "loss" not in table:
        raise KeyError(f"{path}: no 'loss' column (columns: {list(table.columns)})")
    if drop_highest_losses:
        table = table.drop(index=table["loss"].nlargest(drop_highest_losses).index)
    return table.rename(columns={"run_id": "run"}) if "run" not in table else table
