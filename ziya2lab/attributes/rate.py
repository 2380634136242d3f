"""Rate a corpus on the three attributes: CH and RA as 1 − flagged fraction of a sample, SIM per test set."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ziya2lab.attributes.auto import AutoCoherenceRater, AutoReadabilityRater
from ziya2lab.attributes.config import FLAG_BACKENDS, FlagRaterConfig, RatersConfig
from ziya2lab.attributes.flags import FlagRater, corpus_value
from ziya2lab.attributes.similarity import SimilarityRater
from ziya2lab.common.attributes import COHERENCE, RATERS, READABILITY
from ziya2lab.data.readers import MalformedRecord, read_documents

FLAG_ATTRIBUTES = (COHERENCE.rater, READABILITY.rater)  # the two rated by a per-document flag (Fig. 8)


# The data factory's kept-document shards inside its output directory (``ziya2lab.data.factory`` writes them there;
# its stage-one and removed/ documents must never be rated as the corpus).
FACTORY_CLEAN_DIR = "clean"


def corpus_files(path: str | Path) -> Path:
    """What to read for ``path``: a data-factory output directory (it holds ``clean/``) is its clean shards only."""
    path = Path(path)
    if not path.exists() and not any(char in str(path) for char in "*?["):
        raise FileNotFoundError(f"corpus {path}: no such file or directory")
    clean = path / FACTORY_CLEAN_DIR
    return clean if path.is_dir() and clean.is_dir() else path


def read_corpus(path: str | Path) -> tuple[list[dict], list[MalformedRecord]]:
    """Documents of a JSONL/Parquet file, a directory of them or a data-factory output directory, and the records
    that could not be read; a path with no readable document is an error that names it."""
    source = corpus_files(path)
    where = f"{path} (a data-factory output: its {FACTORY_CLEAN_DIR}/)" if source != Path(path) else f"{path}"
    documents, malformed = [], []
    try:
        for record in read_documents(source):
            (malformed if isinstance(record, MalformedRecord) else documents).append(record)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"corpus {where} holds no documents: {error}") from error
    if not documents:
        detail = f"; {len(malformed)} malformed record(s), first: {malformed[0]}" if malformed else ""
        raise ValueError(f"corpus {where} holds no documents with a 'text' field{detail}")
    return documents, malformed


def sample_documents(documents: Sequence[dict], size: int, seed: int) -> list[dict]:
    if len(documents) <= size:
        return list(documents)
    return random.Random(seed).sample(list(documents), size)


def make_flag_rater(attribute: str, config: FlagRaterConfig, sheet_dir: Path = Path(".")) -> FlagRater:
    """The configured back-end of the CH or RA rater (``judge`` and ``human`` load their extras only when used)."""
    if config.backend == "auto":
        if attribute == "coherence":
            return AutoCoherenceRater(config.auto_coherence)
        return AutoReadabilityRater(config.auto_readability)
    if config.backend == "judge":
        from ziya2lab.attributes.judge import JudgeRater

        return JudgeRater(attribute, config.judge)
    if config.backend == "human":
        from ziya2lab.attributes.human import HumanRater

        return HumanRater(attribute, config.human, sheet_dir / f"{attribute}_sheet.csv")
    raise ValueError(f"attributes.{attribute}.backend={config.backend!r}: choose one of {FLAG_BACKENDS}")


def rate_corpus(
    documents: Sequence[dict],
    config: RatersConfig,
    similarity: SimilarityRater | None = None,
    raters: Sequence[str] = RATERS,
    sheet_dir: Path = Path("."),
) -> dict[str, Any]:
    """``{"coherence", "readability", "similarity": {test set: value}, "n_rated"}``, values in [0, 1], higher better.

    CH and RA flag a sample of ``config.sample_size`` documents, as the paper's annotators did; SIM is cheap and
    measured on every document. ``raters`` picks which attributes to measure.
    """
    unknown = [name for name in raters if name not in RATERS]
    if unknown:
        raise KeyError(f"unknown rater(s) {unknown}; known: {', '.join(RATERS)}")
    if not documents:
        raise ValueError("the corpus has no documents to rate")
    sample = sample_documents(documents, config.sample_size, config.seed)
    result: dict[str, Any] = {"n_rated": len(sample)}
    for name in FLAG_ATTRIBUTES:
        if name in raters:
            result[name] = corpus_value(make_flag_rater(name, getattr(config, name), sheet_dir).rate(sample))
    if "similarity" in raters:
        if similarity is None:
            raise ValueError("rating similarity needs a SimilarityRater built on the test sets")
        result["similarity"] = similarity.rate([document["text"] for document in documents])
    return result
