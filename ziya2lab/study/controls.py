"""The harness's two calibration corpora, built beside the attribute families from the same continuation pool.

- **Negative control** (family ``negative_control``): a second clean corpus drawn independently from the pool,
  disjoint from the base corpus and of the same size. Nothing about it differs from the base but the documents,
  so its "effect" on the test loss must come out indistinguishable from zero; if it does not, the study's
  intervals are too narrow.
- **Positive control** (family ``positive_control``): the base corpus with a fixed fraction of every document's
  tokens (words; single characters in Chinese) shuffled among their own positions. The documents keep their
  vocabulary and length but lose part of their order, a known harm of fixed strength that the study must detect.

Together they show what size of effect this study can and cannot see.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path

from ziya2lab.attributes.levels import DOCUMENTS_FILE, LevelCorpus, take_chars
from ziya2lab.common.cjk import CJK_IDEOGRAPH
from ziya2lab.common.jsonl import write_jsonl

NEGATIVE_CONTROL = "negative_control"
POSITIVE_CONTROL = "positive_control"
CONTROL_FAMILIES = (NEGATIVE_CONTROL, POSITIVE_CONTROL)

# A token to shuffle: one CJK ideograph, or a run of other non-space characters (a word with its punctuation).
_TOKEN = re.compile(f"{CJK_IDEOGRAPH.pattern}|[^\\s{CJK_IDEOGRAPH.pattern[1:-1]}]+")


def shuffle_tokens(text: str, fraction: float, rng: random.Random) -> str:
    """``text`` with ``round(fraction · tokens)`` of its tokens, chosen at random, permuted among their positions.

    Whitespace and every other token stay where they were, so length and vocabulary are unchanged.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"shuffle fraction {fraction} is outside [0, 1]")
    matches = list(_TOKEN.finditer(text))
    chosen = sorted(rng.sample(range(len(matches)), round(fraction * len(matches))))
    moved = [matches[index].group() for index in chosen]
    rng.shuffle(moved)
    replacement = dict(zip(chosen, moved, strict=True))
    pieces, end = [], 0
    for index, match in enumerate(matches):
        pieces.append(text[end:match.start()])
        pieces.append(replacement.get(index, match.group()))
        end = match.end()
    pieces.append(text[end:])
    return "".join(pieces)


def _write(directory: Path, documents: list[dict], family: str, level: float) -> LevelCorpus:
    directory.mkdir(parents=True, exist_ok=True)
    write_jsonl(directory / DOCUMENTS_FILE, documents)
    return LevelCorpus(family, family, level, directory / DOCUMENTS_FILE, len(documents),
                       sum(len(document["text"]) for document in documents))


def negative_control(pool: Sequence[dict], base: Sequence[dict], out_dir: Path, seed: int) -> LevelCorpus:
    """A clean corpus of the base corpus's size from the pool's documents that are not in the base corpus."""
    in_base = {document["id"] for document in base}
    others = [document for document in pool if document["id"] not in in_base]
    random.Random(f"{seed}:{NEGATIVE_CONTROL}").shuffle(others)
    budget = sum(len(document["text"]) for document in base)
    if sum(len(document["text"]) for document in others) < budget:
        raise ValueError(f"the continuation pool holds too little text outside the base corpus ({budget} characters "
                         f"needed) for a disjoint negative control: lower study.levels.budget_fraction below 0.5")
    documents = [{**document, "corruption": None} for document in take_chars(others, budget)]
    return _write(out_dir / NEGATIVE_CONTROL, documents, NEGATIVE_CONTROL, 0.0)


def positive_control(base: Sequence[dict], fraction: float, out_dir: Path, seed: int) -> LevelCorpus:
    """The base corpus with ``fraction`` of every document's tokens shuffled in place."""
    documents = [{**document, "text": shuffle_tokens(document["text"], fraction,
                                                     random.Random(f"{seed}:{POSITIVE_CONTROL}:{document['id']}")),
                  "corruption": f"shuffle_tokens:{fraction:g}"} for document in base]
    return _write(out_dir / POSITIVE_CONTROL, documents, POSITIVE_CONTROL, fraction)
