"""The ``human`` back-end, the paper's exact protocol: a labelling sheet goes out, the filled sheet comes back.

The sheet is the data factory's (``ziya2lab.data.labelling``), so one annotation pass serves both the factory's
human check and the CH/RA ratings. With no filled sheet configured, rating exports the sheet and stops with an
error that says where it is; with one, each rated document takes its label for this attribute.
"""

from __future__ import annotations

from pathlib import Path

from ziya2lab.attributes.config import HumanConfig
from ziya2lab.attributes.flags import DocumentFlag
from ziya2lab.data.labelling import RUBRIC, export_sheet, import_labels


class LabelsPending(RuntimeError):
    """The sheet was exported; rating resumes once ``labels_path`` names the filled copy."""


class HumanRater:
    def __init__(self, attribute: str, cfg: HumanConfig, default_sheet: Path) -> None:
        if attribute not in RUBRIC:
            raise KeyError(f"the labelling sheet has no {attribute!r} column; its rubric: {', '.join(RUBRIC)}")
        self.attribute, self.cfg = attribute, cfg
        self.sheet_path = Path(cfg.sheet_path) if cfg.sheet_path else default_sheet

    def rate(self, docs: list[dict]) -> list[DocumentFlag]:
        if not self.cfg.labels_path:
            export_sheet(docs, self.sheet_path, n=len(docs))
            raise LabelsPending(
                f"exported {len(docs)} documents to {self.sheet_path}; fill the {', '.join(RUBRIC)} columns with 0/1 "
                f"and rate again with attributes.{self.attribute}.human.labels_path=<the filled sheet>"
            )
        labels = import_labels(self.cfg.labels_path).set_index("id")[self.attribute]
        rated = [doc for doc in docs if str(doc["id"]) in labels.index]
        if not rated:
            raise ValueError(f"{self.cfg.labels_path}: none of the {len(docs)} rated documents' ids is labelled")
        return [DocumentFlag(str(doc["id"]), bool(labels[str(doc["id"])]), float(labels[str(doc["id"])]), ["human"])
                for doc in rated]
