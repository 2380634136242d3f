"""The Fig. 8 human check: export a sheet, read filled labels back strictly, pass or fail at 1 bad in 1,000."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ziya2lab.data.labelling import RUBRIC, export_sheet, human_check, import_labels

DOCUMENTS = [
    {"id": f"doc{index}", "text": f"第{index}篇文章。\n第二行, with \"quotes\", commas" if index % 2 else f"Text {index}",
     **({"lang": "zh"} if index % 2 else {"metadata": {"lang": "en"}})}
    for index in range(30)
]


def _fill_csv(sheet: Path, flagged: dict[str, str]) -> None:
    with open(sheet, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for name in RUBRIC:
            row[name] = "0"
        if row["id"] in flagged:
            row[flagged[row["id"]]] = "1"
            row["note"] = "bad"
    with open(sheet, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_sheet_round_trip_and_check(tmp_path: Path, suffix: str) -> None:
    sheet = export_sheet(iter(DOCUMENTS), tmp_path / f"sheet{suffix}", n=10, seed=3)
    if suffix == ".csv":
        with open(sheet, encoding="utf-8", newline="") as handle:
            exported = list(csv.DictReader(handle))
    else:
        exported = [json.loads(line) for line in sheet.read_text(encoding="utf-8").splitlines()]
    assert len(exported) == 10 and len({row["id"] for row in exported}) == 10
    assert all(row[name] == "" for row in exported for name in RUBRIC)
    by_id = {doc["id"]: doc for doc in DOCUMENTS}
    assert all(row["text"] == by_id[row["id"]]["text"] for row in exported)  # multi-line cells survive
    assert {row["lang"] for row in exported} <= {"en", "zh"} and all(row["lang"] for row in exported)
    first_row = 2 if suffix == ".csv" else 1  # under the CSV header
    with pytest.raises(ValueError, match=rf"line {first_row}: column 'coherence': missing label"):
        import_labels(sheet)

    first, second = exported[0]["id"], exported[4]["id"]
    if suffix == ".csv":
        _fill_csv(sheet, {first: "toxic", second: "readability"})
    else:
        for row in exported:
            row.update(dict.fromkeys(RUBRIC, 0), **({"toxic": 1} if row["id"] == first else {}))
            row.update({"readability": 1} if row["id"] == second else {})
        sheet.write_text("".join(json.dumps(row) + "\n" for row in exported), encoding="utf-8")
    labels = import_labels(sheet)
    assert list(labels.columns) == ["id", "lang", *RUBRIC, "note"]
    assert labels[list(RUBRIC)].dtypes.map(str).tolist() == ["int64"] * 3
    assert labels.set_index("id").loc[first, "toxic"] == 1
    result = human_check(labels)
    assert result["n"] == 10 and result["bad"] == 2 and result["bad_per_1000"] == pytest.approx(200.0)
    assert result["passed"] is False
    assert result["per_criterion"] == {"coherence": 0.0, "readability": 0.1, "toxic": 0.1}
    assert human_check(labels, max_bad_per_1000=200.0)["passed"] is True


def test_sampling_is_seeded_and_takes_all_when_fewer(tmp_path: Path) -> None:
    def ids(path: Path) -> list[str]:
        return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]

    a = ids(export_sheet(DOCUMENTS, tmp_path / "a.jsonl", n=5, seed=1))
    assert a == ids(export_sheet(DOCUMENTS, tmp_path / "b.jsonl", n=5, seed=1))
    assert a != ids(export_sheet(DOCUMENTS, tmp_path / "c.jsonl", n=5, seed=2))
    assert sorted(ids(export_sheet(DOCUMENTS, tmp_path / "d.jsonl", n=1000))) == sorted(d["id"] for d in DOCUMENTS)
    with pytest.raises(ValueError, match=r"\.csv or \.jsonl"):
        export_sheet(DOCUMENTS, tmp_path / "sheet.xlsx")


def test_bad_labels_name_file_line_and_column(tmp_path: Path) -> None:
    sheet = tmp_path / "labels.csv"
    sheet.write_text('id,lang,text,coherence,readability,toxic,note\na,en,"two\nlines",0,0,0,\n'
                     "b,zh,x,0,2,0,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"labels\.csv: line 4: column 'readability': invalid label '2'"):
        import_labels(sheet)
    sheet.write_text("id,lang,text,coherence,readability,toxic,note\na,en,x,0,0,0,\nb,en,y,1,0,0,\n"
                     "a,en,z,0,0,1,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 4: column 'id': duplicate id 'a' \(first on line 2\)"):
        import_labels(sheet)
    sheet.write_text("id,lang,text,coherence,toxic,note\na,en,x,0,0,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"missing column.*readability"):
        import_labels(sheet)
    jsonl = tmp_path / "labels.jsonl"
    jsonl.write_text('{"id": "a", "lang": "en", "coherence": 0, "readability": 0, "toxic": 0}\n'
                     '{"id": "b", "lang": "en", "coherence": 0, "readability": 0}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"labels\.jsonl: line 2: column 'toxic': missing label"):
        import_labels(jsonl)


def test_one_bad_in_a_thousand_passes_two_fail() -> None:
    import pandas as pd

    def table(bad: int) -> pd.DataFrame:
        rows = [{"id": str(i), "lang": "en", "coherence": 0, "readability": 0, "toxic": int(i < bad), "note": ""}
                for i in range(1000)]
        return pd.DataFrame(rows)

    assert human_check(table(1))["passed"] is True
    assert human_check(table(2))["passed"] is False
    with pytest.raises(ValueError, match="no labelled"):
        human_check(table(0).iloc[:0])
