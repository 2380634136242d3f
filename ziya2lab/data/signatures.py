"""Near-duplicate signatures and the indexes that find duplicates, vectorised with numpy over a batch of documents.

Shingles: text is lower-cased and cut into tokens, each CJK character one token and each run of other letters and
digits one token (punctuation and spaces are not tokens), so Chinese shingles are character n-grams and English
ones word n-grams. A document whose tokens are mostly CJK uses ``char_ngram``, any other ``word_ngram``.

Hashing never loops over shingles in Python: every token is hashed at once by a position-independent polynomial
hash over a prefix sum of the batch's code points (mod 2**64), n neighbouring token hashes are combined into a
shingle hash, and a SplitMix64 finaliser spreads the bits. That is what makes the signatures fast; see
``benchmarks/bench_data_factory.py``.

MinHash is one-permutation hashing (Li, Owen & Zhang 2012) with optimal densification (Shrivastava 2017): each
shingle hash picks one of ``num_perm`` bins with its high bits and offers its low 32 bits to that bin's minimum;
empty bins copy a filled bin chosen by a hash of (bin, attempt), the same sequence for every document. For two
documents each signature entry agrees with probability equal to their Jaccard similarity, as with ``num_perm``
independent permutations, but the cost is one pass over the shingles instead of ``num_perm`` passes.

SimHash is Charikar's random-hyperplane fingerprint (2002), the one Ziya2 names: bit i is set when most shingles
have bit i set in their i-th hash bit. Two fingerprints differ in a bit with probability angle/π, where the angle
is between the shingle-set indicator vectors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xxhash

from ziya2lab.common.cjk import CJK_RANGES

SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TOKEN_BASE = np.uint64(0x100000001B3)  # odd, so it is invertible mod 2**64
_TOKEN_BASE_INVERSE = np.uint64(pow(0x100000001B3, -1, 2**64))
_SHINGLE_BASE = np.uint64(0xFF51AFD7ED558CCD)
_LOW32 = np.uint64(0xFFFFFFFF)
EMPTY_BIN = np.uint32(0xFFFFFFFF)

_OTHER, _WORD, _CJK = 0, 1, 2


def _token_classes() -> np.ndarray:
    """Class of every code point: CJK ideograph, other letter/digit (part of a word), or neither."""
    classes = np.zeros(0x110000, dtype=np.uint8)
    classes[:0x10000] = [_WORD if chr(code).isalnum() else _OTHER for code in range(0x10000)]
    for start, end in CJK_RANGES:
        classes[start : end + 1] = _CJK
    return classes


_CLASSES = _token_classes()


def mix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection of uint64 whose output bits each depend on all input bits."""
    values = values ^ (values >> np.uint64(30))
    values *= _MIX1
    values ^= values >> np.uint64(27)
    values *= _MIX2
    return values ^ (values >> np.uint64(31))


def normalise(text: str) -> str:
    """What exact de-duplication compares: case and runs of whitespace do not make a document new."""
    return " ".join(text.lower().split())


def exact_hash(text: str) -> int:
    return xxhash.xxh3_64_intdigest(normalise(text).encode("utf-8", "surrogatepass"))


def _tokens(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hash of every token of the batch in order, the document it belongs to, and whether it is a CJK character."""
    # NUL separates documents (it is no token, so none spans two); a NUL inside a text must not
    joined = "\x00".join(text.lower().replace("\x00", " ") for text in texts)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = _CLASSES[codes]
    word = classes == _WORD
    previous_word = np.concatenate(([False], word[:-1]))
    next_word = np.concatenate((word[1:], [False]))
    word_starts = np.flatnonzero(word & ~previous_word)
    cjk = np.flatnonzero(classes == _CJK)
    starts = np.concatenate((word_starts, cjk))
    ends = np.concatenate((np.flatnonzero(word & ~next_word) + 1, cjk + 1))
    is_cjk = np.concatenate((np.zeros(len(word_starts), dtype=bool), np.ones(len(cjk), dtype=bool)))
    order = np.argsort(starts, kind="stable")
    starts, ends, is_cjk = starts[order], ends[order], is_cjk[order]
    # sum_j code_j * base**-j over a prefix; a slice times base**start is sum code_j * base**-(j - start)
    length = len(codes)
    inverse_powers = np.full(length + 1, _TOKEN_BASE_INVERSE, dtype=np.uint64)
    inverse_powers[0] = 1
    inverse_powers = np.cumprod(inverse_powers)
    prefix = np.zeros(length + 1, dtype=np.uint64)
    np.cumsum((codes.astype(np.uint64) + np.uint64(1)) * inverse_powers[:length], out=prefix[1:])
    powers = np.full(length + 1, _TOKEN_BASE, dtype=np.uint64)
    powers[0] = 1
    powers = np.cumprod(powers)
    hashes = mix64((prefix[ends] - prefix[starts]) * powers[starts])
    separators = np.flatnonzero(codes == 0)
    return hashes, np.searchsorted(separators, starts), is_cjk


def _combine(token_hashes: np.ndarray, width: int) -> np.ndarray:
    """Hash of each run of ``width`` consecutive tokens (a shingle)."""
    count = len(token_hashes) - width + 1
    combined = token_hashes[:count].copy()
    for offset in range(1, width):
        combined *= _SHINGLE_BASE
        combined += token_hashes[offset : offset + count]
    return mix64(combined + np.uint64(width))


def shingle_hashes(texts: Sequence[str], char_ngram: int = 5, word_ngram: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every document's shingles, concatenated, and offsets: document d owns [off[d], off[d+1]).

    A document with fewer tokens than n has its whole token sequence as its one shingle; one with no tokens has
    none (no near-duplicate can be found for it).
    """
    hashes, owners, is_cjk = _tokens(texts)
    tokens_per_doc = np.bincount(owners, minlength=len(texts))
    cjk_per_doc = np.bincount(owners, weights=is_cjk, minlength=len(texts))
    widths = np.where(2 * cjk_per_doc > tokens_per_doc, char_ngram, word_ngram)
    parts, part_owners = [], []
    for width in np.unique(widths):
        selected = widths[owners] == width
        group_hashes, group_owners = hashes[selected], owners[selected]
        if len(group_hashes) >= width:
            combined = _combine(group_hashes, width)
            whole = group_owners[: len(combined)] == group_owners[width - 1 :]
            parts.append(combined[whole])
            part_owners.append(group_owners[: len(combined)][whole])
    starts = np.concatenate(([0], np.cumsum(tokens_per_doc)))
    for doc in np.flatnonzero((tokens_per_doc > 0) & (tokens_per_doc < widths)):
        parts.append(_combine(hashes[starts[doc] : starts[doc + 1]], int(tokens_per_doc[doc])))
        part_owners.append(np.array([doc]))
    if not parts:
        return np.zeros(0, dtype=np.uint64), np.zeros(len(texts) + 1, dtype=np.int64)
    all_owners = np.concatenate(part_owners)
    order = np.argsort(all_owners, kind="stable")
    offsets = np.concatenate(([0], np.cumsum(np.bincount(all_owners, minlength=len(texts)))))
    return np.concatenate(parts)[order], offsets


def shingle_sets(texts: Sequence[str], char_ngram: int = 5, word_ngram: int = 5) -> list[set[int]]:
    """Each document's distinct shingle hashes: what exact Jaccard similarity is measured on."""
    hashes, offsets = shingle_hashes(texts, char_ngram, word_ngram)
    return [set(hashes[offsets[doc] : offsets[doc + 1]].tolist()) for doc in range(len(texts))]


def _seeded(seed: int, salt: int) -> np.uint64:
    return mix64(np.array([seed * 0x10001 + salt], dtype=np.uint64) * SPLITMIX_GAMMA)[0]


def minhash_signatures(hashes: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int = 1) -> np.ndarray:
    """(documents, num_perm) uint32 one-permutation MinHash with optimal densification; all-empty rows stay 2**32-1."""
    documents = len(offsets) - 1
    keyed = mix64(hashes ^ _seeded(seed, 0))
    bins = (((keyed >> np.uint64(32)) * np.uint64(num_perm)) >> np.uint64(32)).astype(np.int64)
    owners = np.repeat(np.arange(documents), np.diff(offsets))
    cells = owners * num_perm + bins
    signatures = np.full(documents * num_perm, EMPTY_BIN, dtype=np.uint32)
    np.minimum.at(signatures, cells, (keyed & _LOW32).astype(np.uint32))
    filled = np.zeros(documents * num_perm, dtype=bool)
    filled[cells] = True
    has_shingles = np.diff(offsets) > 0
    pending = np.flatnonzero(~filled & np.repeat(has_shingles, num_perm))
    attempt = 0
    while len(pending):
        attempt += 1
        rows, columns = np.divmod(pending, num_perm)
        probe = mix64((columns.astype(np.uint64) << np.uint64(32)) + np.uint64(attempt) + _seeded(seed, 1))
        source = rows * num_perm + ((probe >> np.uint64(32)) * np.uint64(num_perm) >> np.uint64(32)).astype(np.int64)
        found = filled[source]
        signatures[pending[found]] = signatures[source[found]]
        pending = pending[~found]
    return signatures.reshape(documents, num_perm)


def estimated_jaccard(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.mean(first == second))


_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little").astype(np.int64)


def simhash_fingerprints(hashes: np.ndarray, offsets: np.ndarray, bits: int = 64, seed: int = 1) -> np.ndarray:
    """(documents, bits / 64) uint64 SimHash: each bit is the majority vote of that bit over the shingle hashes.

    The votes are counted per byte: a histogram of (document, byte position, byte value) times the bits of each
    byte value, which is 8 times fewer operations than unpacking every bit.
    """
    if bits % 64:
        raise ValueError(f"simhash bits={bits} must be a multiple of 64")
    width = bits // 8
    counts = np.diff(offsets)
    owners = np.repeat(np.arange(len(counts)), counts)
    votes = np.zeros((len(counts), width, 8), dtype=np.int64)
    chunk = 1 << 16
    for start in range(0, len(hashes), chunk):
        part = hashes[start : start + chunk]
        keyed = np.stack([mix64(part ^ _seeded(seed, 2 + word)) for word in range(bits // 64)], axis=1)
        first, last = owners[start], owners[start + len(part) - 1]
        cells = ((owners[start : start + len(part), None] - first) * width + np.arange(width)) * 256
        cells += keyed.view(np.uint8).reshape(len(part), width)
        histogram = np.bincount(cells.ravel(), minlength=(last - first + 1) * width * 256)
        votes[first : last + 1] += (histogram.reshape(-1, width, 256) @ _BYTE_BITS)
    majority = (2 * votes.reshape(len(counts), bits) > counts[:, None]).astype(np.uint8)
    return np.packbits(majority, axis=1, bitorder="little").view(np.uint64)


def fingerprint_bits(fingerprints: np.ndarray) -> np.ndarray:
    """(documents, bits) 0/1 view of fingerprints, bit i of word w at column 64 w + i."""
    return np.unpackbits(fingerprints.view(np.uint8), axis=1, bitorder="little")


def hamming(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.bitwise_count(first ^ second).sum(axis=-1)


def collision_probability(similarity: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """The LSH S-curve: probability that two documents share at least one of ``bands`` bands of ``rows`` rows."""
    return 1.0 - (1.0 - similarity**rows) ** bands


def optimal_bands(threshold: float, num_perm: int, false_positive_weight: float = 0.5,
                  false_negative_weight: float = 0.5, recall: float = 0.0) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm minimising the weighted areas of false positives (similarity
    below ``threshold`` that collide) and false negatives (above it that do not), as datasketch chooses them,
    among the choices that find a pair at ``threshold`` with probability at least ``recall``."""
    below = np.linspace(0.0, threshold, 513)
    above = np.linspace(threshold, 1.0, 513)
    best, best_error = None, math.inf
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            if collision_probability(np.float64(threshold), bands, rows) < recall:
                continue
            false_positive = np.trapezoid(collision_probability(below, bands, rows), below)
            false_negative = np.trapezoid(1.0 - collision_probability(above, bands, rows), above)
            error = false_positive_weight * false_positive + false_negative_weight * false_negative
            if error < best_error:
                best, best_error = (bands, rows), error
    if best is None:
        raise ValueError(f"no bands of {num_perm} permutations reach recall {recall} at Jaccard {threshold}")
    return best


class MinHashBands:
    """Banded MinHash (LSH): two documents are candidates when all ``rows`` values of one of ``bands`` bands agree.

    A band key hashes the band's number with its rows, so the keys of all bands live in one key space.
    """

    def __init__(self, threshold: float, num_perm: int, false_positive_weight: float = 0.5,
                 false_negative_weight: float = 0.5, recall: float = 0.0) -> None:
        self.bands, self.rows = optimal_bands(threshold, num_perm, false_positive_weight, false_negative_weight,
                                              recall)

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """(documents, bands) uint64 hash of each band's number and rows."""
        banded = signatures[:, : self.bands * self.rows].reshape(len(signatures), self.bands, self.rows)
        keys = np.broadcast_to(np.arange(1, self.bands + 1, dtype=np.uint64), banded.shape[:2]).copy()
        for row in range(self.rows):
            keys = keys * _SHINGLE_BASE + banded[:, :, row].astype(np.uint64) + np.uint64(1)
        return mix64(keys)


class SimHashTables:
    """Fingerprints within Hamming distance ``max_distance`` are found through ``tables`` permuted-block tables.

    Table t keys each fingerprint by ``key_bits`` bits at positions drawn by a seeded permutation (Manku et al.
    2007's permuted blocks, with blocks drawn at random so that any number of tables can be used); fingerprints
    sharing a key in some table are candidates, and a candidate within ``max_distance`` bits is a near-duplicate.
    ``parameters`` derives distance and table count from a Jaccard threshold and a target recall.
    """

    def __init__(self, bits: int, max_distance: int, tables: int, key_bits: int, seed: int = 1) -> None:
        if not 0 < key_bits <= min(bits, 63):
            raise ValueError(f"simhash key_bits={key_bits} must be in 1..{min(bits, 63)}")
        self.bits, self.max_distance, self.tables = bits, max_distance, tables
        rng = np.random.default_rng(seed)
        self.positions = np.stack([rng.permutation(bits)[:key_bits] for _ in range(tables)])
        self._weights = np.left_shift(np.uint64(1), np.arange(key_bits, dtype=np.uint64))

    @staticmethod
    def parameters(threshold: float, bits: int, key_bits: int, recall: float) -> tuple[int, int]:
        """(max_distance, tables) that find a pair at Jaccard ``threshold`` with probability >= ``recall``.

        Such a pair (of equally large shingle sets, so cosine 2J/(1+J)) differs in each bit with probability
        angle/π; ``max_distance`` admits (1 + recall) / 2 of its distances, and the fewest tables whose chance of
        a shared key, averaged over those distances, reaches ``recall`` are used.
        """
        per_bit = math.acos(2 * threshold / (1 + threshold)) / math.pi
        distance_probability = [math.comb(bits, d) * per_bit**d * (1 - per_bit) ** (bits - d) for d in range(bits + 1)]
        cumulative = np.cumsum(distance_probability)
        max_distance = int(np.searchsorted(cumulative, (1 + recall) / 2))
        shared_key = [math.comb(bits - d, key_bits) / math.comb(bits, key_bits) for d in range(max_distance + 1)]
        for tables in range(1, 1025):
            found = sum(p * (1 - (1 - hit) ** tables) for p, hit in zip(distance_probability, shared_key, strict=False))
            if found >= recall:
                return max_distance, tables
        raise ValueError(f"simhash key_bits={key_bits} of {bits} bits needs over 1024 tables for recall {recall}")

    def keys(self, fingerprints: np.ndarray) -> np.ndarray:
        """(documents, tables) uint64 table keys."""
        selected = fingerprint_bits(fingerprints)[:, self.positions].astype(np.uint64)
        return (selected * self._weights).sum(axis=-1, dtype=np.uint64)


def _shared_key_runs(keys: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows ordered by (key, position), and the [start, end) runs of that order whose key occurs at least twice."""
    order = np.lexsort((positions, keys))
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    ends = np.append(starts[1:], len(sorted_keys))
    shared = ends - starts >= 2
    return order, starts[shared], ends[shared]


def key_groups(keys: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions, keys) of every document that shares its key with another, sorted by key, then position."""
    order, starts, ends = _shared_key_runs(keys, positions)
    lengths = ends - starts
    rows = order[np.arange(int(lengths.sum())) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)]
    return positions[rows], keys[rows]


PAIRS_PER_CALL = 1 << 21  # candidate pairs compared in one vectorised call (~100 MB at 128-bit fingerprints)


def near_pairs(keys: np.ndarray, positions: np.ndarray, fingerprints: np.ndarray,
               max_distance: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(later, earlier, distance) of every two documents that share a key and whose fingerprints are within
    ``max_distance`` bits. A key shared by m documents costs m²/2 comparisons, as the candidates of a sequential
    index would; all pairs of all groups are formed and compared in vectorised batches."""
    order, starts, ends = _shared_key_runs(keys, positions)
    pairs_per_group = (ends - starts) * (ends - starts - 1) // 2
    later, earlier, distance = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    group = 0
    while group < len(starts):
        last = group + max(1, int(np.searchsorted(np.cumsum(pairs_per_group[group:]), PAIRS_PER_CALL, "right")))
        first, second = _pairs_within(starts[group:last], ends[group:last])
        distances = hamming(fingerprints[order[first]], fingerprints[order[second]])
        close = distances <= max_distance
        earlier.append(positions[order[first[close]]])
        later.append(positions[order[second[close]]])
        distance.append(distances[close].astype(np.int64))
        group = last
    return np.concatenate(later), np.concatenate(earlier), np.concatenate(distance)


def _pairs_within(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j), i < j, of indices within the same [start, end) run."""
    lengths = ends - starts
    members = np.arange(int(lengths.sum())) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    run_end = np.repeat(ends, lengths)
    partners = run_end - members - 1  # later members of the same run
    first = np.repeat(members, partners)
    block_start = np.repeat(np.cumsum(partners) - partners, partners)
    second = first + 1 + (np.arange(len(first)) - block_start)
    return first, second


class BloomFilter:
    """A bit array sized for ``capacity`` keys at false-positive rate ``error_rate`` (Bloom 1970).

    It stores no keys, only ~ -log2(error_rate) / ln 2 bits per key, so it cannot say *which* earlier document
    had a key; positions come from double hashing of a 128-bit xxh3 digest (Kirsch & Mitzenmacher 2006).
    """

    def __init__(self, capacity: int, error_rate: float) -> None:
        if capacity < 1 or not 0.0 < error_rate < 1.0:
            raise ValueError(f"bloom filter capacity={capacity} must be >= 1 and error_rate={error_rate} in (0, 1)")
        self.size = max(8, math.ceil(-capacity * math.log(error_rate) / math.log(2) ** 2))
        self.hashes = max(1, round(self.size / capacity * math.log(2)))
        self._bits = bytearray((self.size + 7) // 8)

    @staticmethod
    def digest(key: str) -> tuple[int, int]:
        """The 128-bit digest a key's bit positions come from, as two 64-bit halves (what a shard stores)."""
        value = xxhash.xxh3_128_intdigest(key.encode("utf-8", "surrogatepass"))
        return value >> 64, value & (2**64 - 1)

    def _positions(self, digest: tuple[int, int]) -> list[int]:
        first, second = digest[0], digest[1] | 1
        return [(first + index * second) % self.size for index in range(self.hashes)]

    def contains_digest(self, digest: tuple[int, int]) -> bool:
        return all(self._bits[position >> 3] & (1 << (position & 7)) for position in self._positions(digest))

    def add_digest(self, digest: tuple[int, int]) -> None:
        for position in self._positions(digest):
            self._bits[position >> 3] |= 1 << (position & 7)

    def __contains__(self, key: str) -> bool:
        return self.contains_digest(self.digest(key))

    def add(self, key: str) -> None:
        self.add_digest(self.digest(key))

    def query_insert(self, key: str) -> bool:
        """Whether ``key`` was (probably) added before; adds it."""
        seen = key in self
        if not seen:
            self.add(key)
        return seen
