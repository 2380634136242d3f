"""Which real documents a rater may be tuned on, which only validation may read, and which it must never see.

Every document of the packaged sources falls in one of three sets by a stable hash of its id:
- the KenLM reference documents (``data.sources.is_reference``): the word-order models are trained on them, so no
  rater is calibrated or validated on them (``None``);
- ``development``: half of the remaining train split; thresholds and calibration read only these;
- ``heldout``: the other half, plus the sources' held-out split; only held-out validation reads them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from ziya2lab.common.hashing import hash_bytes
from ziya2lab.data.config import ScoringConfig
from ziya2lab.data.sources import is_reference, iter_source, split_of

DOCUMENT_SETS = ("development", "heldout")
HELDOUT_PERCENT = 50  # of the train documents that are not KenLM reference text; the held-out split joins them


def document_set(document_id: str, reference_percent: int = ScoringConfig.reference_percent) -> str | None:
    """``development``, ``heldout``, or None for a KenLM reference document (an LM has seen it)."""
    if split_of(document_id) == "heldout":
        return "heldout"
    if is_reference(document_id, reference_percent):
        return None
    bucket = int(hash_bytes(b"rater-validation", document_id.encode())[:8], 16) % 100
    return "heldout" if bucket < HELDOUT_PERCENT else "development"


def set_documents(sources: Mapping[str, Sequence[str]], per_language: int, which: str,
                  reference_percent: int = ScoringConfig.reference_percent) -> list[dict]:
    """``per_language`` documents of set ``which`` per language, its sources interleaved so that each counts."""
    if which not in DOCUMENT_SETS:
        raise ValueError(f"document set {which!r}: choose one of {DOCUMENT_SETS}")
    documents = []
    for names in sources.values():
        streams = [(doc for doc in iter_source(name) if document_set(doc["id"], reference_percent) == which)
                   for name in names]
        interleaved = (doc for group in itertools.zip_longest(*streams) for doc in group if doc is not None)
        documents += list(itertools.islice(interleaved, per_language))
    return documents
