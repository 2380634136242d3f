"""Tables of runs from files: CSV or Parquet, with Epoch's Chinchilla extraction recognised by its columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EPOCH_COLUMNS = ("Model Size", "Training FLOP")  # Epoch's svg_extracted_data.csv (Hoffmann et al. Fig. 4)


def read_table(path: str | Path, drop_highest_losses: int = 0) -> pd.DataFrame:
    """The table at ``path``; Epoch's columns become N and D = C/(6N); optionally drop the highest losses.

    A missing file, an unknown suffix, a table without rows or without a ``loss`` column is an error naming the
    path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such table of runs (a .csv or .parquet file, or a sweep directory)")
    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
    elif path.suffix == ".csv":
        try:
            table = pd.read_csv(path)
        except pd.errors.EmptyDataError as error:
            raise ValueError(f"{path}: the table is empty (no header, no rows)") from error
    else:
        raise ValueError(f"{path}: a table of runs must be .csv or .parquet")
    if table.empty:
        raise ValueError(f"{path}: the table has no rows (columns: {list(table.columns)})")
    if all(column in table for column in EPOCH_COLUMNS) and "N" not in table:
        table = table.rename(columns={"Model Size": "N"})
        table["D"] = table["Training FLOP"] / (6 * table["N"])
    if "loss" not in table:
        raise KeyError(f"{path}: no 'loss' column (columns: {list(table.columns)})")
    if drop_highest_losses:
        table = table.drop(index=table["loss"].nlargest(drop_highest_losses).index)
    return table
