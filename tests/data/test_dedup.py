"""De-duplication: planted near-duplicates of real text are found, unrelated documents are left alone, and every
removed duplicate names the document it repeats."""

from __future__ import annotations

import random
from collections import Counter
from functools import cache

import numpy as np
import pytest
from datatrove.data import Document
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from ziya2lab.data.config import DedupConfig, NearDuplicates
from ziya2lab.data.dedup import NearKeys, deduplicate, document_url
from ziya2lab.data.signatures import (
    BloomFilter,
    SimHashTables,
    estimated_jaccard,
    exact_hash,
    hamming,
    key_groups,
    minhash_signatures,
    near_pairs,
    optimal_bands,
    shingle_hashes,
    shingle_sets,
)
from ziya2lab.data.sources import iter_source

SOURCES = {"zh": "peoples_daily", "en": "lee_news"}
ORIGINALS = 120
PLANTED = 80
MAX_UNRELATED_JACCARD = 0.3  # originals more similar than this to another are real near-duplicates: left out


def jaccard(first: set[int], second: set[int]) -> float:
    return len(first & second) / len(first | second)


def _units(text: str, lang: str) -> list[str]:
    return list(text) if lang == "zh" else text.split(" ")


def _join(units: list[str], lang: str) -> str:
    return "".join(units) if lang == "zh" else " ".join(units)


def _edited(units: list[str], edits: list[tuple[str, int, str]], count: int) -> list[str]:
    edited = list(units)
    for kind, position, unit in edits[:count]:
        position %= max(1, len(edited))
        if kind == "substitute":
            edited[position] = unit
        elif kind == "delete" and len(edited) > 1:
            del edited[position]
        else:
            edited.insert(position, unit)
    return edited


def plant_near_duplicate(text: str, lang: str, vocabulary: list[str], rng: random.Random) -> tuple[str, float]:
    """Random substitutions, deletions and insertions until the shingle Jaccard drops to a target in [0.8, 0.95]."""
    units = _units(text, lang)
    edits = [(rng.choice(("substitute", "substitute", "delete", "insert")), rng.randrange(1 << 30),
              rng.choice(vocabulary)) for _ in range(len(units))]
    target = rng.uniform(0.8, 0.95)
    original = shingle_sets([text])[0]
    low, high = 1, len(units)  # the largest edit count whose Jaccard is still >= target
    while low < high:
        middle = (low + high + 1) // 2
        if jaccard(original, shingle_sets([_join(_edited(units, edits, middle), lang)])[0]) >= target:
            low = middle
        else:
            high = middle - 1
    planted = _join(_edited(units, edits, low), lang)
    return planted, jaccard(original, shingle_sets([planted])[0])


@cache
def corpus(lang: str) -> tuple[list[Document], list[Document], list[float]]:
    """Mutually unrelated real originals, and near-duplicates of the first PLANTED of them at Jaccard >= 0.8."""
    records = [record for record in iter_source(SOURCES[lang], limit=ORIGINALS * 2) if len(record["text"]) > 300]
    sets = shingle_sets([record["text"] for record in records])
    originals, kept_sets = [], []
    for record, shingles in zip(records, sets, strict=True):
        if all(jaccard(shingles, other) < MAX_UNRELATED_JACCARD for other in kept_sets):
            originals.append(Document(text=record["text"], id=record["id"]))
            kept_sets.append(shingles)
    originals = originals[:ORIGINALS]
    vocabulary = sorted({unit for document in originals for unit in _units(document.text, lang)})
    rng = random.Random(0)
    planted, similarities = [], []
    for document in originals[:PLANTED]:
        text, similarity = plant_near_duplicate(document.text, lang, vocabulary, rng)
        if similarity >= 0.8:
            planted.append(Document(text=text, id=f"near:{document.id}"))
            similarities.append(similarity)
    assert len(originals) == ORIGINALS and len(planted) >= 0.9 * PLANTED
    return originals, planted, similarities


def run_step(config: DedupConfig, documents: list[Document], shards: int = 1) -> list[Document]:
    """The removed documents (copies), each with its removal reason in ``metadata["reason"]``."""
    documents = [Document(text=doc.text, id=doc.id, metadata=dict(doc.metadata)) for doc in documents]
    removed = []
    for document, verdict in zip(documents, deduplicate(documents, config, shards), strict=True):
        if verdict is not True:
            document.metadata["reason"] = verdict[1]
            removed.append(document)
    return removed


@pytest.mark.slow
@pytest.mark.parametrize("method", [NearDuplicates.simhash, NearDuplicates.minhash])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_planted_near_duplicates_are_found_and_unrelated_documents_kept(lang: str, method: NearDuplicates) -> None:
    originals, planted, similarities = corpus(lang)
    shuffled = list(planted)
    random.Random(1).shuffle(shuffled)
    removed = run_step(DedupConfig(near=method, batch_size=64), originals + shuffled)
    found = [doc for doc in removed if doc.id.startswith("near:")
             and doc.metadata.get("duplicate_of") == doc.id.removeprefix("near:")]
    false_positives = [doc for doc in removed if not doc.id.startswith("near:")]
    recall = len(found) / len(planted)
    print(f"{lang} {method.value}: recall {recall:.3f} over {len(planted)} planted at Jaccard "
          f"{min(similarities):.2f}-{max(similarities):.2f}; false positives {len(false_positives)}/{len(originals)}")
    assert min(similarities) >= 0.8
    assert recall >= 0.95
    assert len(false_positives) <= 0.01 * len(originals)
    assert all(doc.metadata["reason"] == "near_duplicate" for doc in removed)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_minhash_estimates_jaccard_like_exact_and_datasketch(lang: str) -> None:
    from datasketch import MinHash

    originals, planted, _similarities = corpus(lang)
    num_perm = 256
    texts = [doc.text for pair in zip(originals, planted, strict=False) for doc in pair]
    hashes, offsets = shingle_hashes(texts)
    ours = minhash_signatures(hashes, offsets, num_perm)
    exact, estimated, reference = [], [], []
    for pair in range(len(planted)):
        first, second = hashes[offsets[2 * pair] : offsets[2 * pair + 1]], hashes[offsets[2 * pair + 1] : offsets[2 * pair + 2]]
        exact.append(jaccard(set(first.tolist()), set(second.tolist())))
        estimated.append(estimated_jaccard(ours[2 * pair], ours[2 * pair + 1]))
        sketches = []
        for shingles in (first, second):
            sketch = MinHash(num_perm=num_perm, seed=1)
            sketch.update_batch([value.to_bytes(8, "little") for value in shingles.tolist()])
            sketches.append(sketch)
        reference.append(sketches[0].jaccard(sketches[1]))
    exact, estimated, reference = map(np.array, (exact, estimated, reference))
    sampling_sd = np.sqrt(exact * (1 - exact) / num_perm)
    assert np.all(np.abs(estimated - exact) <= 4 * sampling_sd + 1e-9)
    assert np.all(np.abs(reference - exact) <= 4 * sampling_sd + 1e-9)
    # unbiased like datasketch: the mean error over pairs is within its standard error of zero
    assert abs(np.mean(estimated - exact)) <= 3 * np.sqrt(np.mean(sampling_sd**2) / len(exact))
    assert abs(np.mean(estimated - reference)) <= 3 * np.sqrt(2 * np.mean(sampling_sd**2) / len(exact))
    # and unrelated documents' signatures hardly agree
    assert estimated_jaccard(ours[0], ours[2]) < 0.1


def test_shingles_are_characters_for_chinese_and_words_for_english() -> None:
    zh, zh_punctuated, en, en_cased, en_reordered = shingle_sets([
        "今天天气很好我们去公园", "今天，天气很好！我们去公园。", "the cat sat on the mat today",
        "The CAT sat, on the mat today.", "today the cat sat on the mat",
    ], char_ngram=3, word_ngram=3)
    assert len(zh) == len("今天天气很好我们去公园") - 2  # character trigrams
    assert zh == zh_punctuated and en == en_cased  # punctuation, spaces and case are not tokens
    assert len(en) == 5 and 0 < jaccard(en, en_reordered) < 1  # word trigrams
    _hashes, offsets = shingle_hashes(["", "tiny", "ab"], char_ngram=5, word_ngram=5)
    assert np.diff(offsets).tolist() == [0, 1, 1]  # a short document is one shingle, an empty one none


def test_minhash_bands_are_chosen_like_datasketch() -> None:
    from datasketch import MinHashLSH

    for threshold in (0.5, 0.7, 0.8, 0.9):
        for num_perm in (64, 128, 256):
            reference = MinHashLSH(threshold=threshold, num_perm=num_perm)
            assert optimal_bands(threshold, num_perm) == (reference.b, reference.r)


def test_simhash_pairs_are_the_fingerprints_within_the_distance_that_share_a_key() -> None:
    rng = np.random.default_rng(0)
    distance, tables = SimHashTables.parameters(0.8, 128, 12, 0.95)
    simhash = SimHashTables(128, distance, tables, key_bits=12)
    stored = rng.integers(0, 2**63, size=(200, 2), dtype=np.uint64)
    near = stored[7].copy()
    near[0] ^= np.uint64(0b1011)  # 3 bits away from doc7, ~64 from the rest
    fingerprints = np.concatenate((stored, near[None]))
    keys = simhash.keys(fingerprints)
    positions = np.arange(201, dtype=np.int64)
    found = {tuple(pair) for table in range(tables)
             for pair in zip(*near_pairs(keys[:, table], positions, fingerprints, distance), strict=True)}
    assert found == {(200, 7, 3)}  # (later, earlier, distance)
    assert hamming(stored[0], stored[1:]).min() > distance  # random fingerprints are not duplicates of each other


def test_bloom_filter_has_no_false_negatives_and_about_its_error_rate() -> None:
    bloom = BloomFilter(capacity=5000, error_rate=0.01)
    seen_while_filling = sum(bloom.query_insert(f"https://example.org/{index}") for index in range(5000))
    assert seen_while_filling < 0.01 * 5000  # new keys taken for seen ones: below the rate reached when full
    assert all(f"https://example.org/{index}" in bloom for index in range(5000))
    false_positive = np.mean([f"https://example.com/{index}" in bloom for index in range(10000)])
    assert false_positive < 0.02
    assert bloom.size / 5000 == pytest.approx(9.59, abs=0.01)  # -ln(0.01) / ln(2)^2 bits per key


def test_url_and_exact_duplicates_name_what_they_repeat() -> None:
    text = "The council approved the budget for new schools on Tuesday after a long debate. " * 3
    documents = [
        Document(text=text, id="first", metadata={"url": "https://news.example/a"}),
        Document(text=text.upper().replace(" ", "  "), id="shouting"),  # same text up to case and spacing
        Document(text="Something else entirely, about rivers and fish in the north.", id="other",
                 metadata={"url": "https://news.example/a#comments"}),  # a URL seen before
        Document(text="A third text about the weather in the mountains this week.", id="third",
                 metadata={"url": "https://news.example/b"}),
    ]
    removed = {doc.id: doc for doc in run_step(DedupConfig(), documents)}
    assert set(removed) == {"shouting", "other"}
    assert removed["shouting"].metadata["duplicate_of"] == "first"
    assert removed["shouting"].metadata["reason"] == "exact_duplicate"
    assert removed["other"].metadata["duplicate_of_url"] == "https://news.example/a"
    assert removed["other"].metadata["reason"] == "url_duplicate"
    none = run_step(DedupConfig(url=False, exact=False, near=NearDuplicates.none), documents)
    assert none == []


def test_dedup_config_names_a_bad_method() -> None:
    schema = OmegaConf.structured(DedupConfig)
    assert OmegaConf.merge(schema, {"near": "minhash"}).near == NearDuplicates.minhash
    with pytest.raises(ValidationError, match="near"):
        OmegaConf.merge(schema, {"near": "lsh"})


@pytest.mark.parametrize("method", [NearDuplicates.simhash, NearDuplicates.minhash])
def test_signatures_do_not_depend_on_how_a_batch_is_split(method: NearDuplicates, monkeypatch) -> None:
    import ziya2lab.data.dedup as dedup

    texts = [record["text"] for record in iter_source("lee_news", limit=30)] + ["", "一二", "今天天气很好我们去公园玩"]
    near = NearKeys(DedupConfig(near=method))
    whole = near.compute(texts)
    monkeypatch.setattr(dedup, "CHARS_PER_CALL", 700)
    split = near.compute(texts)
    assert all(np.array_equal(a, b) for a, b in zip(whole, split, strict=True))
    assert whole[0].tolist() == [True] * 30 + [False, True, True]


def test_odd_input_is_deduplicated_without_errors() -> None:
    junk = "".join(map(chr, range(1, 0x3000, 7)))
    documents = [Document(text=text, id=str(index), metadata={"url": url})
                 for index, (text, url) in enumerate([
                     ("", None), ("", ""), ("lone \ud800 surrogate", "https://x.example/\udfff"), (junk, 7),
                     ("lone \ud800 surrogate", None), ("字" * 300_000, None), ("nul\x00inside", None), ("\U00020000\U0002a6d6" * 9, None)])]
    removed = {doc.id: doc.metadata["reason"] for doc in run_step(DedupConfig(batch_size=4), documents)}
    assert removed == {"1": "exact_duplicate", "4": "exact_duplicate"}


def greedy_reference(documents: list[Document], config: DedupConfig) -> list[tuple[str, str | None]]:
    """The definition, by brute force: in order, a document repeating a kept one (URL, then exact text, then a
    near-duplicate key shared with a kept one: the nearest within the SimHash distance, or the earliest sharing a
    MinHash band) is a duplicate of it; otherwise it is kept."""
    near = NearKeys(config)
    has_shingles, keys, fingerprints = near.compute([document.text for document in documents])
    kept: list[int] = []
    urls, texts = set(), {}
    verdicts: list[tuple[str, str | None]] = []
    for index, document in enumerate(documents):
        url, digest = document_url(document, config), exact_hash(document.text)
        candidates = [earlier for earlier in kept if has_shingles[index] and has_shingles[earlier]
                      and np.any(keys[earlier] == keys[index])]
        if near.simhash is not None:
            distances = [(int(hamming(fingerprints[earlier], fingerprints[index])), earlier) for earlier in candidates]
            candidates = [earlier for distance, earlier in sorted(distances) if distance <= near.simhash.max_distance]
        if config.url and url is not None and url in urls:
            verdicts.append(("url_duplicate", url))
        elif config.exact and digest in texts:
            verdicts.append(("exact_duplicate", documents[texts[digest]].id))
        elif candidates:
            verdicts.append(("near_duplicate", documents[candidates[0]].id))
        else:
            verdicts.append(("kept", None))
            kept.append(index)
            urls.add(url)
            texts.setdefault(digest, index)
    return verdicts


def _mixed_corpus() -> list[Document]:
    """Real news with exact copies, near copies (2% of words dropped), copies of copies and repeated URLs."""
    rng = random.Random(3)
    originals = [record["text"] for record in iter_source("lee_news", limit=40)]
    documents = [Document(text=text, id=f"o{index}", metadata={"url": f"https://news.example/{index % 30}"})
                 for index, text in enumerate(originals)]
    for index in rng.sample(range(len(originals)), 25):
        words = [word for word in originals[index].split() if rng.random() > 0.02]
        documents.insert(rng.randrange(len(documents) + 1), Document(text=" ".join(words), id=f"n{index}"))
    for index in rng.sample(range(len(documents)), 15):
        documents.append(Document(text=documents[index].text.upper(), id=f"e{index}"))
    return documents


@pytest.mark.parametrize("method", [NearDuplicates.simhash, NearDuplicates.minhash])
def test_sharded_deduplication_equals_the_sequential_definition(method: NearDuplicates) -> None:
    documents = _mixed_corpus()
    config = DedupConfig(near=method)
    expected = greedy_reference(documents, config)
    assert {reason for reason, _target in expected} == {"kept", "url_duplicate", "exact_duplicate", "near_duplicate"}
    for shards in (1, 4):
        removed = {document.id: document.metadata for document in run_step(config, documents, shards)}
        got = [("kept", None) if document.id not in removed else
               (removed[document.id]["reason"], removed[document.id].get("duplicate_of",
                                                                         removed[document.id].get("duplicate_of_url")))
               for document in documents]
        assert got == expected, f"{shards} shards"


def test_key_groups_and_near_pairs_equal_brute_force() -> None:
    rng = np.random.default_rng(1)
    for _trial in range(100):
        count = int(rng.integers(0, 60))
        keys = rng.integers(0, 8, size=count).astype(np.uint64)
        positions = rng.permutation(1000)[:count].astype(np.int64)
        fingerprints = rng.integers(0, 2**63, size=(count, 2), dtype=np.uint64)
        limit = int(rng.integers(0, 70))
        distance = [[int(hamming(fingerprints[i], fingerprints[j])) for j in range(count)] for i in range(count)]
        expected = {(int(positions[j]), int(positions[i]), distance[i][j]) for i in range(count) for j in range(count)
                    if keys[i] == keys[j] and positions[i] < positions[j] and distance[i][j] <= limit}
        found = set(zip(*(array.tolist() for array in near_pairs(keys, positions, fingerprints, limit)), strict=True))
        assert found == expected
        members, groups = key_groups(keys, positions)
        shared = Counter(keys.tolist())
        assert sorted(zip(groups.tolist(), members.tolist(), strict=True)) == sorted(
            (key, position) for key, position in zip(keys.tolist(), positions.tolist(), strict=True) if shared[key] > 1)
