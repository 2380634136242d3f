"""Step 4 of the data factory, content de-duplication, as one datatrove filter.

Ziya2 (§2.1) removes duplicates in three passes, cheapest first: a Bloom filter on URLs, an exact comparison of the
content, then SimHash for near-duplicates. This step does the same, with MinHash-LSH as the alternative near-
duplicate method (``DedupConfig.near``). Only kept documents enter the indexes, so every ``duplicate_of`` names a
kept document. The step must see the whole corpus in one task to find duplicates across shards: the factory runs
it as a stage of its own. Per kept document it holds the id string, one exact-hash dict entry and, for SimHash,
a 16-byte fingerprint plus 4 bytes in each table (MinHash: 12 bytes per band, in sorted arrays); the Bloom filter
is a fixed array. ``benchmarks/bench_data_factory.py`` measures what that costs per million documents.
"""

from __future__ import annotations

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from ziya2lab.data.config import DedupConfig, NearDuplicates
from ziya2lab.data.signatures import (
    BloomFilter,
    MinHashLSH,
    SimHashIndex,
    exact_hash,
    minhash_signatures,
    shingle_hashes,
    simhash_fingerprints,
)

# the removal reasons (datatrove counts them as ``dropped_<reason>``): the accounting's "duplicates"
DUPLICATE_REASONS = ("url_duplicate", "exact_duplicate", "near_duplicate")


CHARS_PER_CALL = 1 << 21  # shingling takes ~50 bytes per character: ~100 MB per vectorised call


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


class Deduplicate(BaseFilter):
    """URL Bloom filter, then exact (hash of normalised text), then near-duplicates (SimHash or MinHash-LSH).

    A removed document records what it repeats in its metadata: ``duplicate_of`` (the kept document's id; with
    SimHash also ``duplicate_distance`` in bits) or, for a URL seen before, ``duplicate_of_url``: a Bloom filter
    keeps no ids, which is what makes it a few bytes per URL.
    """

    name = "dedup"

    def __init__(self, config: DedupConfig, exclusion_writer: DiskWriter | None = None) -> None:
        super().__init__(exclusion_writer, batch_size=config.batch_size)
        self.config = config
        self._urls = BloomFilter(config.url_capacity, config.url_error_rate) if config.url else None
        self._exact: dict[int, str] = {}
        self._minhash = self._simhash = None
        if config.near == NearDuplicates.minhash:
            self._minhash = MinHashLSH(config.jaccard_threshold, config.minhash_permutations,
                                       config.minhash_false_positive_weight, config.minhash_false_negative_weight,
                                       config.recall)
        elif config.near == NearDuplicates.simhash:
            distance, tables = SimHashIndex.parameters(config.jaccard_threshold, config.simhash_bits,
                                                       config.simhash_key_bits, config.recall)
            self._simhash = SimHashIndex(config.simhash_bits, distance, tables, config.simhash_key_bits, config.seed)

    def _near_signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Per document: whether it has shingles, its signature (fingerprint or MinHash), its index keys."""
        if self._minhash is None and self._simhash is None:
            return None
        parts = [self._chunk_signatures(chunk) for chunk in _char_budget_chunks(texts, CHARS_PER_CALL)]
        return tuple(np.concatenate(columns) for columns in zip(*parts, strict=True))

    def _chunk_signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        hashes, offsets = shingle_hashes(texts, self.config.char_ngram, self.config.word_ngram)
        if self._minhash is not None:
            signatures = minhash_signatures(hashes, offsets, self.config.minhash_permutations, self.config.seed)
            keys = self._minhash.band_keys(signatures)
        else:
            signatures = simhash_fingerprints(hashes, offsets, self.config.simhash_bits, self.config.seed)
            keys = self._simhash.keys(signatures)
        return np.diff(offsets) > 0, signatures, keys

    def _near_duplicate(self, document: Document, signature: np.ndarray, keys: np.ndarray) -> bool:
        if self._minhash is not None:
            earlier = self._minhash.query_insert(document.id, keys)
            if earlier is not None:
                document.metadata["duplicate_of"] = earlier
            return earlier is not None
        match = self._simhash.query_insert(document.id, signature, keys)
        if match is not None:
            document.metadata["duplicate_of"], document.metadata["duplicate_distance"] = match
        return match is not None

    def filter(self, document: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([document])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        """Signatures for the whole batch at once, then each document against everything kept before it."""
        near = self._near_signatures([document.text for document in batch])
        verdicts: list[bool | tuple[bool, str]] = []
        for position, document in enumerate(batch):
            url = document.metadata.get(self.config.url_field)
            url = normalise_url(url) if isinstance(url, str) and url.strip() else None
            if self._urls is not None and url is not None and url in self._urls:
                document.metadata["duplicate_of_url"] = url
                verdicts.append((False, "url_duplicate"))
                continue
            digest = exact_hash(document.text) if self.config.exact else None
            earlier = self._exact.get(digest)
            if earlier is not None:
                document.metadata["duplicate_of"] = earlier
                verdicts.append((False, "exact_duplicate"))
                continue
            if (near is not None and near[0][position]
                    and self._near_duplicate(document, near[1][position], near[2][position])):
                verdicts.append((False, "near_duplicate"))
                continue
            if digest is not None:
                self._exact[digest] = document.id
            if self._urls is not None and url is not None:
                self._urls.add(url)
            verdicts.append(True)
        return verdicts
