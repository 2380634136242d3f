"""Rate a corpus on the three attributes: CH and RA as 1 − flagged fraction of a sample, SIM per test set."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from ziya2lab.attributes.auto import AutoCoherenceRater, AutoReadabilityRater
from ziya2lab.attributes.config import RatersConfig
from ziya2lab.attributes.flags import corpus_value
from ziya2lab.attributes.similarity import SimilarityRater


def sample_documents(documents: Sequence[dict], size: int, seed: int) -> list[dict]:
    if len(documents) <= size:
        return list(documents)
    return random.Random(seed).sample(list(documents), size)


def rate_corpus(
    documents: Sequence[dict],
    config: RatersConfig,
    similarity: SimilarityRater | None = None,
) -> dict[str, Any]:
    """``{"coherence", "readability", "similarity": {test set: value}, "n_rated"}``, values in [0, 1], higher better.

    CH and RA flag a sample of ``config.sample_size`` documents, as the paper's annotators did; SIM is cheap and
    measured on every document.

    Only the ``auto`` back-end rates here; ``judge`` and ``human`` need a local model or a filled labelling sheet.
    """
    for name, rater in (("coherence", config.coherence), ("readability", config.readability)):
        if rater.backend != "auto":
            raise NotImplementedError(f"attributes.{name}.backend={rater.backend!r}: only 'auto' rates offline here")
    sample = sample_documents(documents, config.sample_size, config.seed)
    result: dict[str, Any] = {
        "coherence": corpus_value(AutoCoherenceRater(config.coherence.auto_coherence).rate(sample)),
        "readability": corpus_value(AutoReadabilityRater(config.readability.auto_readability).rate(sample)),
        "n_rated": len(sample),
    }
    if similarity is not None:
        result["similarity"] = similarity.rate([document["text"] for document in documents])
    return result

