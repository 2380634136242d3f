"""Corpora at controlled attribute levels: one attribute moves, the others stay, at equal size.

The paper's attributes were confounded with its three stage corpora. Here each family starts from one clean
corpus and changes one attribute by a known rate:
- CH: that fraction of documents gets junk lines or a spliced unrelated passage;
- RA: that fraction of documents gets punctuation noise, truncated or swapped sentences, or garbled words;
- SIM: that fraction of the characters comes from the test sets' pools (disjoint from the test items), spread
  evenly over the test sets.
Every corpus holds the same number of characters (``budget_chars``, 85% of the clean corpus by default, so every
level can reach it) and records its intended level; the raters then measure what the level did.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ziya2lab.attributes.corruption import corrupt_coherence, corrupt_readability
from ziya2lab.common.attributes import COHERENCE, COLUMNS, SIMILARITY
from ziya2lab.common.jsonl import write_jsonl

BASE = "base"
DOCUMENTS_FILE = "documents.jsonl"


@dataclass(frozen=True)
class LevelCorpus:
    name: str
    family: str  # CH | RA | SIM | base
    level: float
    path: Path  # the corpus's documents.jsonl
    documents: int
    chars: int


def corpus_name(family: str, level: float) -> str:
    return BASE if family == BASE else f"{family.lower()}_{level:g}"


def take_chars(documents: Iterable[dict], budget_chars: int) -> list[dict]:
    """Documents in order until their characters reach ``budget_chars`` (the last one may pass it)."""
    taken, total = [], 0
    for document in documents:
        if total >= budget_chars:
            break
        taken.append(document)
        total += len(document["text"])
    return taken


def corrupt_chosen(documents: Sequence[dict], chosen: set[int],
                   corrupt: Callable[[dict], tuple[str, str | None]]) -> list[dict]:
    """Every document, those in ``chosen`` through ``corrupt`` (in document order) with the operator it names in
    ``corruption``, the others marked clean (``corruption`` None)."""
    result = []
    for index, document in enumerate(documents):
        if index not in chosen:
            result.append({**document, "corruption": None})
            continue
        text, operator = corrupt(document)
        result.append({**document, "text": text, "corruption": operator})
    return result


def _corrupted(documents: list[dict], family: str, level: float, rng: random.Random,
               donors: Sequence[dict]) -> list[dict]:
    chosen = set(rng.sample(range(len(documents)), round(level * len(documents))))

    def corrupt(document: dict) -> tuple[str, str | None]:
        local = random.Random(f"{rng.random()}:{document['id']}")
        lang = document.get("lang", "en")
        if family == COHERENCE.column:
            # an unrelated passage in the document's own language: a passage in another language would move
            # readability too (its rules and word-order models are per language)
            same = [donor for donor in donors if donor.get("lang", "en") == lang] or list(donors)
            donor = same[local.randrange(len(same))]
            return corrupt_coherence(document["text"], lang, donor["text"], local)
        return corrupt_readability(document["text"], lang, local)

    return corrupt_chosen(documents, chosen, corrupt)


def _balanced(pools: Mapping[str, Sequence[dict]], rng: random.Random) -> Iterator[dict]:
    """Pool documents, always from the test set with the fewest characters mixed in so far, so every test set
    gets an equal share of the characters; a pool that runs out is reshuffled and reused (marked ``pool_pass``)."""
    orders = {name: rng.sample(list(pool), len(pool)) for name, pool in pools.items() if pool}
    positions = dict.fromkeys(orders, 0)
    mixed_chars = dict.fromkeys(orders, 0)
    while orders:
        name = min(mixed_chars, key=mixed_chars.__getitem__)
        order, position = orders[name], positions[name]
        positions[name] += 1
        document = order[position % len(order)]
        mixed_chars[name] += len(document["text"])
        yield {**document, "pool": name, "pool_pass": position // len(order)}


def _similar(base: list[dict], level: float, budget_chars: int, pools: Mapping[str, Sequence[dict]],
             rng: random.Random) -> list[dict]:
    mixed = take_chars(_balanced(pools, rng), round(level * budget_chars)) if level > 0 else []
    kept = take_chars(base, budget_chars - sum(len(document["text"]) for document in mixed))
    combined = [*kept, *mixed]
    rng.shuffle(combined)
    return combined


def _write(directory: Path, documents: list[dict], family: str, level: float) -> LevelCorpus:
    directory.mkdir(parents=True, exist_ok=True)
    write_jsonl(directory / DOCUMENTS_FILE, documents)
    return LevelCorpus(corpus_name(family, level), family, level, directory / DOCUMENTS_FILE, len(documents),
                       sum(len(document["text"]) for document in documents))


def make_levels(
    base_documents: Sequence[dict],
    levels: Mapping[str, Sequence[float]],
    pools: Mapping[str, Sequence[dict]],
    out_dir: Path,
    budget_fraction: float = 0.85,
    seed: int = 0,
) -> list[LevelCorpus]:
    """Write ``out_dir/<name>/documents.jsonl`` for the clean base and every (family, level); returns them all."""
    unknown = set(levels) - set(COLUMNS)
    if unknown:
        raise KeyError(f"unknown attribute families {sorted(unknown)}; known: {COLUMNS}")
    if not base_documents:
        raise ValueError("make_levels needs a non-empty clean corpus")
    order = random.Random(seed).sample(list(base_documents), len(base_documents))
    budget_chars = int(budget_fraction * sum(len(document["text"]) for document in order))
    base = take_chars(order, budget_chars)
    corpora = [_write(out_dir / BASE, [{**document, "corruption": None} for document in base], BASE, 0.0)]
    donors = order[len(base):] or order  # spliced passages come from outside the corpus where possible
    for family, family_levels in levels.items():
        for level in family_levels:
            if not 0.0 <= level <= 1.0:
                raise ValueError(f"level {level} of {family} is outside [0, 1]")
            rng = random.Random(f"{seed}:{family}:{level}")
            if family == SIMILARITY.column:
                documents = _similar(base, level, budget_chars, pools, rng)
            else:  # corruption changes lengths (a spliced passage adds some): trim back to the same budget
                documents = take_chars(_corrupted(base, family, level, rng, donors), budget_chars)
            corpora.append(_write(out_dir / corpus_name(family, level), documents, family, level))
    return corpora
