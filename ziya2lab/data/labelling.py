"""The paper's human check (Ziya2 §2.1, Fig. 8, Table 1): a sheet of random documents goes out, labels come back.

Annotators mark each document 1 where it has the problem (incoherent, unreadable, toxic) and 0 where it does not;
the corpus passes when at most one document in a thousand has any problem. A filled sheet is validated strictly:
a missing or invalid label, or an id labelled twice, is an error naming the file, the line and the column, so a
half-filled sheet can never pass by accident.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from ziya2lab.common.atomic import atomic_file
from ziya2lab.common.jsonl import dumps_line

RUBRIC: tuple[str, ...] = ("coherence", "readability", "toxic")  # Fig. 8 criteria; 1 = has the problem
SHEET_COLUMNS: tuple[str, ...] = ("id", "lang", "text", *RUBRIC, "note")
LABEL_COLUMNS: tuple[str, ...] = ("id", "lang", *RUBRIC, "note")
PAPER_MAX_BAD_PER_1000 = 1.0  # Table 1: "compliant if it does not exceed one in a thousand"
SHEET_SUFFIXES = (".csv", ".jsonl")


def _sheet_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SHEET_SUFFIXES:
        raise ValueError(f"{path}: a labelling sheet is {' or '.join(SHEET_SUFFIXES)}, not {suffix or 'no suffix'!r}")
    return suffix


def _language(document: dict) -> str:
    """Flat records carry ``lang``; datatrove documents carry it in ``metadata``."""
    return str(document.get("lang") or document.get("metadata", {}).get("lang") or "")


def reservoir_sample(documents: Iterable[dict], n: int, rng: random.Random) -> list[dict]:
    """A uniform sample of ``n`` documents in one pass, so a corpus larger than memory can be sampled."""
    sample: list[dict] = []
    for index, document in enumerate(documents):
        if index < n:
            sample.append(document)
        else:
            slot = rng.randrange(index + 1)
            if slot < n:
                sample[slot] = document
    return sample


def export_sheet(documents: Iterable[dict], path: str | Path, n: int = 1000, seed: int = 0) -> Path:
    """Write ``n`` random documents (all, if fewer) with empty rubric cells, as CSV or JSONL by the suffix."""
    path = Path(path)
    suffix = _sheet_format(path)
    if n < 1:
        raise ValueError(f"n={n}: a labelling sheet needs at least one document")
    rows = [
        {"id": str(document["id"]), "lang": _language(document), "text": document["text"],
         **dict.fromkeys(RUBRIC, ""), "note": ""}
        for document in reservoir_sample(documents, n, random.Random(seed))
    ]
    with atomic_file(path) as handle:
        if suffix == ".csv":
            writer = csv.DictWriter(handle, fieldnames=SHEET_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        else:
            handle.writelines(dumps_line(row) for row in rows)
    return path


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows with the line each starts on (a quoted text cell may span many lines)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty labelling sheet (no header)")
        missing = [column for column in LABEL_COLUMNS if column not in header]
        if missing:
            raise ValueError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(cells) != len(header):
                    raise ValueError(f"{path}: line {start}: {len(cells)} cells, the header has {len(header)}")
                yield start, dict(zip(header, cells, strict=True))
            start = reader.line_num + 1


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}: line {number}: invalid JSON ({error.msg})") from error
            if not isinstance(row, dict):
                raise ValueError(f"{path}: line {number}: expected a JSON object")
            yield number, row


def _label(value: Any, path: Path, line: int, column: str) -> int:
    """0 or 1; spreadsheets may hand back 1.0 or True, which mean the same."""
    text = "" if value is None else str(value).strip()
    try:
        number = float(value) if isinstance(value, (bool, int, float)) else float(text)
    except ValueError:
        number = math.nan
    if number not in (0.0, 1.0):
        problem = "missing label" if text == "" else f"invalid label {text!r}"
        raise ValueError(f"{path}: line {line}: column {column!r}: {problem} (expected 0 or 1)")
    return int(number)


def import_labels(path: str | Path) -> pd.DataFrame:
    """A filled sheet as a table (id, lang, the rubric as int 0/1, note); any gap or duplicate is an error."""
    path = Path(path)
    rows = _csv_rows(path) if _sheet_format(path) == ".csv" else _jsonl_rows(path)
    records: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        document_id = str(row.get("id") or "").strip()
        if not document_id:
            raise ValueError(f"{path}: line {line}: column 'id': missing document id")
        if document_id in first_line:
            raise ValueError(
                f"{path}: line {line}: column 'id': duplicate id {document_id!r} (first on line {first_line[document_id]})"
            )
        first_line[document_id] = line
        records.append({"id": document_id, "lang": str(row.get("lang") or ""),
                        **{name: _label(row.get(name), path, line, name) for name in RUBRIC},
                        "note": str(row.get("note") or "")})
    table = pd.DataFrame.from_records(records, columns=list(LABEL_COLUMNS))
    return table.astype({name: "int64" for name in RUBRIC})


def human_check(labels: pd.DataFrame, max_bad_per_1000: float = PAPER_MAX_BAD_PER_1000) -> dict:
    """Pass or fail a corpus on its labelled sample: a document is bad if any rubric criterion flags it."""
    if labels.empty:
        raise ValueError("human_check: no labelled documents")
    flags = labels[list(RUBRIC)].astype(int)
    bad = int(flags.any(axis=1).sum())
    bad_per_1000 = 1000.0 * bad / len(flags)
    return {
        "n": len(flags),
        "bad": bad,
        "bad_per_1000": bad_per_1000,
        "passed": bad_per_1000 <= max_bad_per_1000,
        "per_criterion": {name: float(flags[name].mean()) for name in RUBRIC},
    }
