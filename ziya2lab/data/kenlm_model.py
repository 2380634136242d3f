"""Per-language KenLM n-gram models for the automatic-scoring step (Ziya2 §2.1 "Automatic Scoring").

The paper scores documents by perplexity under KenLM models trained on Chinese and English Wikipedia. We train
ours on the reference sources that packages ship (``ziya2lab.data.sources``): Chinese in characters, English in
lower-cased words, digits folded to 0 (as CCNet does). ``lmplz``/``build_binary`` come from the kenlm source
distribution (``setup/20_kenlm.sh``); where they are missing, a pure-Python writer produces an interpolated
absolute-discounting ARPA model that the same ``kenlm`` module loads, so scoring never depends on the build.
Trained models are cached under ``$ZIYA2LAB_CACHE/kenlm_models`` keyed by a hash of their training text and
settings.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ziya2lab.common.atomic import atomic_file, atomic_write_json
from ziya2lab.common.hashing import hash_texts
from ziya2lab.common.paths import cache_dir

ENGLISH_TOKEN = re.compile(r"[a-z0]+(?:'[a-z]+)?|[^\sa-z0]")
DIGIT = re.compile(r"\d")
NON_SPACE = re.compile(r"\S")  # a Chinese token: any character but whitespace (\s is exactly str.isspace)
UNSEEN_LOG10 = -99.0  # "<s>" is never predicted; writing a real probability for it skews every sentence
DISCOUNT = 0.75  # absolute discount of the Python fallback (the usual Kneser-Ney value)
TOOLS_HINT = "bash setup/20_kenlm.sh (builds lmplz/build_binary from the kenlm sdist)"


def sentences(text: str, lang: str) -> Iterator[str]:
    """One space-separated token line per non-empty text line: characters for zh, words for en."""
    for line in DIGIT.sub("0", text).splitlines():
        tokens = NON_SPACE.findall(line) if lang == "zh" else ENGLISH_TOKEN.findall(line.lower())
        if tokens:
            yield " ".join(tokens)


def lmplz_tools() -> tuple[Path, Path] | None:
    """lmplz and build_binary from the setup script's cache or PATH, or None."""
    built = cache_dir("kenlm") / "bin"
    candidates = [(built / "lmplz", built / "build_binary")]
    if shutil.which("lmplz") and shutil.which("build_binary"):
        candidates.append((Path(shutil.which("lmplz")), Path(shutil.which("build_binary"))))
    for lmplz, build_binary in candidates:
        if os.access(lmplz, os.X_OK) and os.access(build_binary, os.X_OK):
            return lmplz, build_binary
    return None


def _train_with_lmplz(corpus: Path, order: int, target: Path, tools: tuple[Path, Path], work: Path) -> None:
    lmplz, build_binary = tools
    arpa = work / "model.arpa"
    command = [str(lmplz), "-o", str(order), "-S", "400M", "-T", str(work), "--discount_fallback",
               "--text", str(corpus), "--arpa", str(arpa)]
    subprocess.run(command, check=True, capture_output=True)
    subprocess.run([str(build_binary), str(arpa), str(work / "model.bin")], check=True, capture_output=True)
    os.replace(work / "model.bin", target)


def write_arpa(lines: Iterable[str], order: int, path: str | Path) -> Path:
    """Interpolated absolute-discounting n-gram model as ARPA, for kenlm to load where lmplz is unavailable.

    p(w|h) = max(c(hw) - D, 0) / c(h) + γ(h) p(w|h'),  γ(h) = D · N1+(h·) / c(h); written in backoff form, an
    unseen continuation gets exactly γ(h) p(w|h'), so the ARPA backoff weight of h is γ(h).
    """
    counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order)]
    for line in lines:
        words = ["<s>", *line.split(), "</s>"]
        for n in range(1, order + 1):
            for start in range(max(0, len(words) - n + 1)):
                gram = tuple(words[start : start + n])
                if gram != ("<s>",):
                    counts[n - 1][gram] += 1
    context_totals: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order)]
    continuations: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order)]
    for n in range(2, order + 1):
        for gram, count in counts[n - 1].items():
            context_totals[n - 2][gram[:-1]] += count
            continuations[n - 2][gram[:-1]] += 1
    total = sum(counts[0].values())
    vocabulary = len(counts[0]) + 1  # + <unk>
    unigram_gamma = DISCOUNT * len(counts[0]) / total
    probabilities: list[dict[tuple[str, ...], float]] = [{} for _ in range(order)]
    probabilities[0] = {gram: max(count - DISCOUNT, 0) / total + unigram_gamma / vocabulary
                        for gram, count in counts[0].items()}
    probabilities[0][("<unk>",)] = unigram_gamma / vocabulary

    def backoff(context: tuple[str, ...]) -> float:
        n = len(context)
        if n >= order or context not in context_totals[n - 1]:
            return 1.0
        return DISCOUNT * continuations[n - 1][context] / context_totals[n - 1][context]

    def lower(gram: tuple[str, ...]) -> float:
        """p(w | shorter context), itself in backoff form."""
        suffix = gram[1:]
        if suffix in probabilities[len(suffix) - 1]:
            return probabilities[len(suffix) - 1][suffix]
        return backoff(suffix[:-1]) * lower(suffix)

    for n in range(2, order + 1):
        for gram, count in counts[n - 1].items():
            context = gram[:-1]
            probabilities[n - 1][gram] = (max(count - DISCOUNT, 0) / context_totals[n - 2][context]
                                          + backoff(context) * lower(gram))
    with atomic_file(path) as handle:
        handle.write("\\data\\\n")
        handle.writelines(f"ngram {n}={len(probabilities[n - 1]) + (n == 1)}\n" for n in range(1, order + 1))
        for n in range(1, order + 1):
            handle.write(f"\n\\{n}-grams:\n")
            if n == 1:
                handle.write(f"{UNSEEN_LOG10}\t<s>\t{math.log10(backoff(('<s>',))):.6f}\n")
            for gram, probability in probabilities[n - 1].items():
                line = f"{math.log10(probability):.6f}\t{' '.join(gram)}"
                weight = backoff(gram) if n < order else 1.0
                handle.write(f"{line}\t{math.log10(weight):.6f}\n" if n < order and gram in context_totals[n - 1]
                             else line + "\n")
        handle.write("\n\\end\\\n")
    return Path(path)


def train_model(texts: Iterable[str], lang: str, order: int, fallback_order: int, use_lmplz: bool = True) -> Path:
    """A KenLM model of ``texts`` (cached by content): lmplz binary if the tools exist, else a Python ARPA."""
    lines = [line for text in texts for line in sentences(text, lang)]
    return train_lines_model(lines, lang, order, fallback_order, use_lmplz)


def indexed_model(name: str, train: Callable[[], Path]) -> str:
    """The model that the index ``name`` (under the KenLM cache) points at; ``train`` makes it when the index or the
    model is missing. A model file is named by the hash of its training text, so finding it by that name means
    reading and tokenising the text; an index named by the settings that produce the text finds it without that."""
    index = cache_dir("kenlm_models") / "index" / f"{name}.json"
    known = json.loads(index.read_text())["model"] if index.exists() else None
    if known is None or not Path(known).exists():
        known = str(train())
        atomic_write_json(index, {"model": known})
    return known


def train_lines_model(lines: list[str], tag: str, order: int, fallback_order: int, use_lmplz: bool = True) -> Path:
    """A KenLM model of pre-tokenised ``lines`` (space-separated tokens), cached by content under ``tag``.

    ``train_model`` tokenises text by language first; the study's n-gram baselines pass token ids of its own BPE.
    """
    tools = lmplz_tools() if use_lmplz else None
    backend = f"lmplz-o{order}" if tools else f"arpa-o{fallback_order}"
    key = hash_texts([tag, backend, *lines])[:16]
    target = cache_dir("kenlm_models") / f"{tag}-{backend}-{key}.{'bin' if tools else 'arpa'}"
    if target.exists():
        return target
    if not lines:
        raise ValueError(f"no {tag} reference text to train a KenLM model on")
    if tools is None:
        return write_arpa(lines, fallback_order, target)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        corpus = Path(work) / "corpus.txt"
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _train_with_lmplz(corpus, order, target, tools, Path(work))
    return target


class Scorer:
    """Document perplexity under a KenLM model (loaded lazily: kenlm models cannot be pickled to workers)."""

    def __init__(self, model_path: str | Path, lang: str, max_chars: int) -> None:
        self.model_path, self.lang, self.max_chars = str(model_path), lang, max_chars
        self._model = None

    def perplexity(self, text: str) -> float:
        if self._model is None:
            import kenlm

            self._model = kenlm.Model(self.model_path)
        log10_total, tokens = 0.0, 0
        for sentence in sentences(text[: self.max_chars], self.lang):
            log10_total += self._model.score(sentence, bos=True, eos=True)
            tokens += sentence.count(" ") + 2  # words + </s>
        return 10.0 ** (-log10_total / tokens) if tokens else math.inf
