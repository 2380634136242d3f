"""Step 4 of the data factory, content de-duplication, as datatrove stages that shard.

Ziya2 (§2.1) removes duplicates cheapest first: a Bloom filter on URLs, an exact comparison of the content, then
SimHash for near-duplicates (MinHash-LSH is the alternative, ``DedupConfig.near``). The decision is sequential: in
the corpus's order (stage-one shard, then line) a document is a duplicate when it repeats a document *kept* before
it, so every ``duplicate_of`` names a kept document. No task needs every signature to make it; the work is split
the way datatrove's own MinHash de-duplication is (whose word shingles and lack of SimHash do not fit ours):

1. ``DedupSignatures`` (one task per stage-one shard group): each document's exact hash and near-duplicate keys
   (SimHash table keys and fingerprint, or MinHash band keys), one array per key *part* (part 0: exact hashes;
   part t: SimHash table t or MinHash band t), to ``dedup/keys/<rank>.npz``, and the document list (position, id,
   URL digest) to ``dedup/docs/<rank>.npz``.
2. ``DedupLinks`` (parts spread over the tasks): the documents sharing a key. Exact hashes and MinHash bands give
   groups; SimHash tables give the pairs within ``max_distance`` bits. To ``dedup/links/<rank>.npz``.
3. ``DedupResolve`` (one task): walks the documents in corpus order over links and URL digests only (no text,
   no fingerprints), with a Bloom filter of the kept URLs, and writes each shard's removals with what they repeat
   to ``dedup/verdicts/<rank>.jsonl``.
4. ``DuplicateFilter`` (sharded like 1): drops what the verdicts name, as a datatrove filter, so its counts enter
   the accounting and the removed documents go to the audit sample.

Links are found between all documents and the walk follows only links to kept ones, so the result is that of one
pass holding indexes of everything kept so far, whatever the number of tasks. ``deduplicate`` runs the same
functions in memory (tests, benchmarks).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.batching import batched

from ziya2lab.common.atomic import atomic_file
from ziya2lab.common.jsonl import read_jsonl, write_jsonl
from ziya2lab.data.config import DedupConfig, NearDuplicates
from ziya2lab.data.signatures import (
    BloomFilter,
    MinHashBands,
    SimHashTables,
    exact_hash,
    key_groups,
    minhash_signatures,
    near_pairs,
    shingle_hashes,
    simhash_fingerprints,
)

# the removal reasons (datatrove counts them as ``dropped_<reason>``): the accounting's "duplicates"
DUPLICATE_REASONS = ("url_duplicate", "exact_duplicate", "near_duplicate")
CHARS_PER_CALL = 1 << 21  # shingling takes ~50 bytes per character: ~100 MB per vectorised call
SHARD_BITS = 40  # a document's position is (stage-one shard << SHARD_BITS) | its number in the shard
POSITION_KEY = "_dedup_position"  # metadata the signature stage's reader sets and its last step removes
EXACT_PART = 0


def _char_budget_chunks(texts: list[str], budget: int) -> list[list[str]]:
    """Consecutive runs of texts of at most ``budget`` characters in all (a longer text is a run of its own)."""
    chunks: list[list[str]] = [[]]
    used = 0
    for text in texts:
        if chunks[-1] and used + len(text) > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(text)
        used += len(text)
    return chunks


def normalise_url(url: str) -> str:
    """A fragment or a trailing slash does not make a page new."""
    return url.strip().split("#", 1)[0].rstrip("/")


def document_url(document: Document, config: DedupConfig) -> str | None:
    url = document.metadata.get(config.url_field)
    return normalise_url(url) if isinstance(url, str) and url.strip() else None


class NearKeys:
    """The near-duplicate method's keys: SimHash tables or MinHash bands (``parts`` of them; none for ``none``)."""

    def __init__(self, config: DedupConfig) -> None:
        self.config = config
        self.minhash = self.simhash = None
        if config.near == NearDuplicates.minhash:
            self.minhash = MinHashBands(config.jaccard_threshold, config.minhash_permutations,
                                        config.minhash_false_positive_weight, config.minhash_false_negative_weight,
                                        config.recall)
        elif config.near == NearDuplicates.simhash:
            distance, tables = SimHashTables.parameters(config.jaccard_threshold, config.simhash_bits,
                                                        config.simhash_key_bits, config.recall)
            self.simhash = SimHashTables(config.simhash_bits, distance, tables, config.simhash_key_bits, config.seed)

    @property
    def parts(self) -> int:
        if self.minhash is not None:
            return self.minhash.bands
        return self.simhash.tables if self.simhash is not None else 0

    def compute(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per document: whether it has shingles, its keys (documents, parts), its SimHash fingerprint."""
        words = self.config.simhash_bits // 64 if self.simhash is not None else 0
        if self.parts == 0 or not texts:
            return (np.zeros(len(texts), dtype=bool), np.zeros((len(texts), self.parts), dtype=np.uint64),
                    np.zeros((len(texts), words), dtype=np.uint64))
        parts = [self._chunk(chunk) for chunk in _char_budget_chunks(texts, CHARS_PER_CALL)]
        return tuple(np.concatenate(columns) for columns in zip(*parts, strict=True))

    def _chunk(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        hashes, offsets = shingle_hashes(texts, self.config.char_ngram, self.config.word_ngram)
        if self.minhash is not None:
            signatures = minhash_signatures(hashes, offsets, self.config.minhash_permutations, self.config.seed)
            return np.diff(offsets) > 0, self.minhash.band_keys(signatures), np.zeros((len(texts), 0), np.uint64)
        fingerprints = simhash_fingerprints(hashes, offsets, self.config.simhash_bits, self.config.seed)
        return np.diff(offsets) > 0, self.simhash.keys(fingerprints), fingerprints


@dataclass
class ShardSignatures:
    """One task's documents in its read order, with everything de-duplication compares."""

    positions: np.ndarray  # int64, increasing in corpus order
    ids: np.ndarray  # str
    has_url: np.ndarray  # bool
    url_digests: np.ndarray  # (n, 2) uint64: the Bloom filter's digest of the normalised URL
    exact: np.ndarray  # uint64 hash of the normalised text
    has_shingles: np.ndarray  # bool: documents without tokens have no near-duplicate keys
    near_keys: np.ndarray  # (n, parts) uint64
    fingerprints: np.ndarray  # (n, bits / 64) uint64 SimHash; (n, 0) otherwise

    @classmethod
    def compute(cls, documents: Sequence[Document], positions: Sequence[int], config: DedupConfig,
                near: NearKeys) -> ShardSignatures:
        urls = [document_url(document, config) for document in documents]
        has_shingles, near_keys, fingerprints = near.compute([document.text for document in documents])
        return cls(positions=np.asarray(positions, dtype=np.int64),
                   ids=np.array([document.id for document in documents], dtype=str),
                   has_url=np.array([url is not None for url in urls], dtype=bool),
                   url_digests=np.array([BloomFilter.digest(url) if url else (0, 0) for url in urls],
                                        dtype=np.uint64).reshape(len(urls), 2),
                   exact=np.array([exact_hash(document.text) for document in documents], dtype=np.uint64),
                   has_shingles=has_shingles, near_keys=near_keys, fingerprints=fingerprints)

    @classmethod
    def concatenate(cls, shards: Sequence[ShardSignatures]) -> ShardSignatures:
        return cls(**{name: np.concatenate([getattr(shard, name) for shard in shards])
                      for name in cls.__dataclass_fields__})

    def keys(self, config: DedupConfig) -> dict[str, np.ndarray]:
        """What the links stage reads: positions, exact hashes (none when ``exact`` is off), the near-duplicate
        keys one array per part (``_member(part)``), and each fingerprint once (not once per SimHash table)."""
        arrays = {"positions": self.positions, "has_shingles": self.has_shingles,
                  "exact": self.exact if config.exact else self.exact[:0], "fingerprints": self.fingerprints}
        arrays.update({_member(part + 1): self.near_keys[:, part] for part in range(self.near_keys.shape[1])})
        return arrays

    def docs(self) -> dict[str, np.ndarray]:
        return {"positions": self.positions, "ids": self.ids, "has_url": self.has_url,
                "url_digests": self.url_digests}


def find_links(part: int, shards: Sequence[Mapping[str, np.ndarray]], near: NearKeys) -> dict[str, np.ndarray]:
    """The documents sharing a key of this part (read from every signature task's ``keys``): groups (exact,
    MinHash) or close pairs (SimHash)."""
    positions, values, fingerprints = [np.zeros(0, np.int64)], [np.zeros(0, np.uint64)], []
    for shard in shards:
        if part == EXACT_PART:
            values.append(shard["exact"])
            positions.append(shard["positions"][: len(shard["exact"])])  # all, or none with exact off
        else:
            selected = shard["has_shingles"]
            values.append(shard[_member(part)][selected])
            positions.append(shard["positions"][selected])
            fingerprints.append(shard["fingerprints"][selected])
    positions, values = np.concatenate(positions), np.concatenate(values)
    if part == EXACT_PART or near.minhash is not None:
        members, groups = key_groups(values, positions)
        return {"members": members, "groups": groups}
    fingerprints = np.concatenate([np.zeros((0, near.config.simhash_bits // 64), np.uint64), *fingerprints])
    later, earlier, distance = near_pairs(values, positions, fingerprints, near.simhash.max_distance)
    return {"later": later, "earlier": earlier, "distance": distance}


@dataclass
class _Links:
    """All parts' links, by document position."""

    exact_group: dict[int, int]
    band_groups: dict[int, list[int]]
    close: dict[int, list[tuple[int, int]]]  # later -> [(distance, earlier)]

    @classmethod
    def merge(cls, parts: dict[int, dict[str, np.ndarray]]) -> _Links:
        links = cls({}, {}, {})
        for part, arrays in sorted(parts.items()):
            if part == EXACT_PART:
                links.exact_group = dict(zip(arrays["members"].tolist(), arrays["groups"].tolist(), strict=True))
            elif "members" in arrays:
                for member, group in zip(arrays["members"].tolist(), arrays["groups"].tolist(), strict=True):
                    links.band_groups.setdefault(member, []).append(group)
            else:
                for later, earlier, distance in zip(arrays["later"].tolist(), arrays["earlier"].tolist(),
                                                    arrays["distance"].tolist(), strict=True):
                    links.close.setdefault(later, []).append((distance, earlier))
        return links

    def linked(self) -> set[int]:
        """Documents a link may make a duplicate (targets of pairs aside)."""
        return set(self.exact_group) | set(self.band_groups) | set(self.close)

    def targets(self) -> set[int]:
        return {earlier for pairs in self.close.values() for _distance, earlier in pairs}


def _walk(docs: dict[str, np.ndarray], links: _Links, config: DedupConfig) -> dict[int, tuple[str, int, int]]:
    """Position -> (reason, position repeated or -1, SimHash distance or -1) of every duplicate, in corpus order:
    URL seen among kept documents, then the same exact hash as a kept one, then a near-duplicate of a kept one."""
    bloom = BloomFilter(config.url_capacity, config.url_error_rate) if config.url else None
    targets = links.targets()
    linked = links.linked() | targets
    exact_first: dict[int, int] = {}
    band_first: dict[int, int] = {}
    kept_targets: set[int] = set()
    verdicts: dict[int, tuple[str, int, int]] = {}
    positions = docs["positions"].tolist()
    for row in np.argsort(docs["positions"], kind="stable").tolist():
        position, has_url = positions[row], bloom is not None and bool(docs["has_url"][row])
        if not has_url and position not in linked:
            continue  # no URL and no shared key: kept, and nothing later can repeat it
        digest = (int(docs["url_digests"][row, 0]), int(docs["url_digests"][row, 1])) if has_url else None
        if has_url and bloom.contains_digest(digest):
            verdicts[position] = ("url_duplicate", -1, -1)
            continue
        group = links.exact_group.get(position)
        if group is not None and group in exact_first:
            verdicts[position] = ("exact_duplicate", exact_first[group], -1)
            continue
        near = _near_match(position, links, band_first, kept_targets)
        if near is not None:
            verdicts[position] = ("near_duplicate", *near)
            continue
        if group is not None:
            exact_first[group] = position
        for band in links.band_groups.get(position, ()):
            band_first.setdefault(band, position)
        if position in targets:
            kept_targets.add(position)
        if has_url:
            bloom.add_digest(digest)
    return verdicts


def _near_match(position: int, links: _Links, band_first: dict[int, int],
                kept_targets: set[int]) -> tuple[int, int] | None:
    """(kept position, distance or -1) this document nearly repeats: the earliest kept one sharing a MinHash band,
    or the nearest kept one within the SimHash distance (ties: the earliest)."""
    bands = [band_first[band] for band in links.band_groups.get(position, ()) if band in band_first]
    if bands:
        return min(bands), -1
    close = [pair for pair in links.close.get(position, ()) if pair[1] in kept_targets]
    if close:
        distance, earlier = min(close)
        return earlier, distance
    return None


def resolve(shard_docs: dict[int, dict[str, np.ndarray]], parts: dict[int, dict[str, np.ndarray]],
            config: DedupConfig) -> dict[int, list[dict]]:
    """Each shard's duplicates as ``{"index", "reason", "duplicate_of"[, "duplicate_distance"]}`` records (index:
    the document's number in its shard's stream), for every shard, in order."""
    ranks = sorted(shard_docs)
    docs = {name: np.concatenate([shard_docs[rank][name] for rank in ranks]) if ranks else np.zeros(0)
            for name in ("positions", "has_url", "url_digests", "ids")}
    verdicts = _walk(docs, _Links.merge(parts), config)
    repeated = {target for _reason, target, _distance in verdicts.values() if target >= 0}
    id_of = {position: str(identifier) for position, identifier in zip(docs["positions"].tolist(), docs["ids"],
                                                                       strict=True) if position in repeated}
    records: dict[int, list[dict]] = {}
    for rank in ranks:
        records[rank] = []
        for index, position in enumerate(shard_docs[rank]["positions"].tolist()):
            if position in verdicts:
                reason, target, distance = verdicts[position]
                record = {"index": index, "reason": reason}
                if target >= 0:
                    record["duplicate_of"] = id_of[target]
                if distance >= 0:
                    record["duplicate_distance"] = distance
                records[rank].append(record)
    return records


def _apply(document: Document, verdict: dict | None, config: DedupConfig) -> bool | tuple[bool, str]:
    """A document's filter result, with what it repeats in its metadata."""
    if verdict is None:
        return True
    if verdict["reason"] == "url_duplicate":
        document.metadata["duplicate_of_url"] = document_url(document, config)
    else:
        document.metadata["duplicate_of"] = verdict["duplicate_of"]
        if "duplicate_distance" in verdict:
            document.metadata["duplicate_distance"] = verdict["duplicate_distance"]
    return False, verdict["reason"]


def deduplicate(documents: Sequence[Document], config: DedupConfig,
                shards: int = 1) -> list[bool | tuple[bool, str]]:
    """The de-duplication stages in memory: each document's filter result (in order), ``shards`` as if that many
    tasks had signed consecutive slices."""
    near = NearKeys(config)
    bounds = np.linspace(0, len(documents), shards + 1).astype(int)
    signed = {rank: ShardSignatures.compute(documents[start:end], range(start, end), config, near)
              for rank, (start, end) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))}
    keys = [shard.keys(config) for shard in signed.values()]
    parts = {part: find_links(part, keys, near) for part in range(1 + near.parts)}
    records = resolve({rank: shard.docs() for rank, shard in signed.items()}, parts, config)
    verdicts = {int(bounds[rank]) + record["index"]: record for rank, shard in records.items() for record in shard}
    return [_apply(document, verdicts.get(index), config) for index, document in enumerate(documents)]


# ---- datatrove stages -------------------------------------------------------------------------------------------


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_file(path, "wb", encoding=None) as handle:
        np.savez(handle, **arrays)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _member(part: int) -> str:
    """The name of a key part's array in a file holding several parts."""
    return f"p{part:03d}"


def _rank_of(path: Path) -> int:
    return int(path.name.split(".")[0])


class PositionedReader(JsonlReader):
    """Stage one's shards with each document's corpus position (shard, line) in ``metadata[POSITION_KEY]``."""

    name = "stage one (positions)"

    def __init__(self, folder: str) -> None:
        super().__init__(folder, add_file_path=False)

    def get_document_from_dict(self, data: dict, source_file: str, id_in_file: int) -> Document | None:
        document = super().get_document_from_dict(data, source_file, id_in_file)
        if document is not None:
            document.metadata[POSITION_KEY] = (_rank_of(Path(source_file)) << SHARD_BITS) | id_in_file
        return document


class DedupStage(PipelineStep):
    """A de-duplication stage's step: its settings and the ``dedup/`` folder the stages exchange files in."""

    type = "🫂 - DEDUP"

    def __init__(self, config: DedupConfig, folder: str) -> None:
        super().__init__()
        self.config, self.folder = config, Path(folder)


class DedupSignatures(DedupStage):
    """Stage 1: this task's documents and their keys, one file per key part (the last step of its pipeline)."""

    name = "dedup signatures"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        near = NearKeys(self.config)
        shards = [ShardSignatures.compute([], [], self.config, near)]
        for batch in batched(data, self.config.batch_size):
            positions = [document.metadata.pop(POSITION_KEY) for document in batch]
            with self.track_time("batch"):
                shards.append(ShardSignatures.compute(batch, positions, self.config, near))
            self.stat_update("documents", value=len(batch))
        signed = ShardSignatures.concatenate(shards)
        _save_npz(self.folder / "keys" / f"{rank:05d}.npz", signed.keys(self.config))
        _save_npz(self.folder / "docs" / f"{rank:05d}.npz", signed.docs())
        yield from ()


def link_parts(config: DedupConfig) -> int:
    """Key parts: the exact hashes and one per SimHash table or MinHash band."""
    return 1 + NearKeys(config).parts


class DedupLinks(DedupStage):
    """Stage 2: task ``rank`` of n links the documents sharing a key of parts rank, rank + n, ... across every
    signature task."""

    name = "dedup links"

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        near = NearKeys(self.config)
        with contextlib.ExitStack() as files:
            shards = [_LazyArrays(files.enter_context(np.load(path, allow_pickle=False)))
                      for path in sorted((self.folder / "keys").glob("*.npz"))]
            found = {}
            for part in range(rank, 1 + near.parts, world_size):
                with self.track_time():
                    links = find_links(part, shards, near)
                self.stat_update("links", value=len(next(iter(links.values()))))
                found.update({f"{_member(part)}_{name}": array for name, array in links.items()})
        _save_npz(self.folder / "links" / f"{rank:05d}.npz", found)
        yield from ()


class _LazyArrays(Mapping):
    """The arrays of an open .npz file, each read on first use and then kept (a links task reads the positions
    and fingerprints once for all its parts, and of the key arrays only its parts')."""

    def __init__(self, archive: Mapping[str, np.ndarray]) -> None:
        self._archive, self._read = archive, {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._read:
            self._read[name] = self._archive[name]
        return self._read[name]

    def __iter__(self):
        return iter(self._archive)

    def __len__(self) -> int:
        return len(self._archive)


class DedupResolve(DedupStage):
    """Stage 3 (one task): the corpus-order walk over links and URL digests; writes every shard's verdicts."""

    name = "dedup resolve"

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        docs = {_rank_of(path): _load_npz(path) for path in sorted((self.folder / "docs").glob("*.npz"))}
        parts: dict[int, dict[str, np.ndarray]] = {}
        for path in sorted((self.folder / "links").glob("*.npz")):
            for member, array in _load_npz(path).items():
                part, name = member.split("_", 1)
                parts.setdefault(int(part.removeprefix("p")), {})[name] = array  # "p007_later" -> part 7
        with self.track_time():
            records = resolve(docs, parts, self.config)
        for shard, verdicts in records.items():
            self.stat_update("duplicates", value=len(verdicts))
            write_jsonl(self.folder / "verdicts" / f"{shard:05d}.jsonl", verdicts)
        yield from ()


class DuplicateFilter(BaseFilter):
    """Stage 4: removes the documents the verdicts of this task's shard name (same reader and steps before it as
    the signature stage, so the n-th document here is the n-th there)."""

    name = "dedup"

    def __init__(self, config: DedupConfig, folder: str, exclusion_writer: DiskWriter | None = None) -> None:
        super().__init__(exclusion_writer)
        self.config, self.folder = config, Path(folder)
        self._verdicts: dict[int, dict] | None = None
        self._index = 0

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        path = self.folder / "verdicts" / f"{rank:05d}.jsonl"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no de-duplication verdicts for task {rank}; the resolve stage did not "
                                    f"finish (see {self.folder.parent / 'logs'})")
        self._verdicts = {record["index"]: record for record in read_jsonl(path)}
        yield from super().run(data, rank, world_size)
        unused = set(self._verdicts) - set(range(self._index))
        if unused:
            raise RuntimeError(f"{path}: verdicts for documents {sorted(unused)[:5]} that task {rank} never read")

    def filter(self, document: Document) -> bool | tuple[bool, str]:
        verdict = self._verdicts.get(self._index)
        self._index += 1
        return _apply(document, verdict, self.config)

