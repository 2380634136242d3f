"""Reference losses that say whether a trained model learned anything: a smoothed unigram table and a
Kneser–Ney trigram, both fitted to a run's training tokens under the study's own tokenizer.

A model that sits a fraction of a nat below the unigram table of its training corpus has learned little beyond token
frequencies, whatever its fits say; the report prints both baselines beside every test-set loss, in nats per token
(the trainer's unit). The trigram comes from KenLM's ``lmplz`` (modified Kneser–Ney) over token ids, cached by
content like the data factory's models.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ziya2lab.attributes.levels import BASE as BASE_CORPUS
from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.data.kenlm_model import train_lines_model
from ziya2lab.train.config import TrainAppConfig
from ziya2lab.train.datasets import build_eval_windows, load_tokenizer
from ziya2lab.train.tokens import build_token_file

LN10 = math.log(10.0)
UNIGRAM_ADD_K = 0.5  # Jeffreys-style add-½ smoothing: every vocabulary entry keeps some mass
TRIGRAM_ORDER = 3
KENLM_LINE_TOKENS = 512  # long documents are cut into lines: lmplz holds a line's n-grams in memory
BASELINES_FILE = "baselines.json"
PRETRAIN_CORPUS = "pretrain"  # the study's pre-training split (study.base_models.PRETRAIN)


@dataclass(frozen=True)
class BaselineLosses:
    """Nats per token on one test set."""

    unigram: float
    trigram: float
    tokens: int


def unigram_log_probs(train_ids: Iterable[Sequence[int]], vocab_size: int, add_k: float = UNIGRAM_ADD_K) -> np.ndarray:
    """log p(token) of an add-k smoothed unigram table over every vocabulary entry, shape (vocab_size,)."""
    counts = np.zeros(vocab_size, dtype=np.float64)
    for ids in train_ids:
        np.add.at(counts, np.asarray(ids, dtype=np.int64), 1.0)
    smoothed = counts + add_k
    return np.log(smoothed / smoothed.sum())


def unigram_loss(log_probs: np.ndarray, test_ids: Iterable[Sequence[int]]) -> float:
    """Mean NLL (nats per token) of ``test_ids`` under the unigram table."""
    total, count = 0.0, 0
    for ids in test_ids:
        ids = np.asarray(ids, dtype=np.int64)
        total -= float(log_probs[ids].sum())
        count += ids.size
    if count == 0:
        raise ValueError("no test tokens to score the unigram baseline on")
    return total / count


def _token_lines(ids_per_document: Iterable[Sequence[int]]) -> list[str]:
    lines = []
    for ids in ids_per_document:
        for start in range(0, len(ids), KENLM_LINE_TOKENS):
            chunk = ids[start : start + KENLM_LINE_TOKENS]
            if len(chunk):
                lines.append(" ".join(f"t{token}" for token in chunk))
    return lines


def trigram_model(train_ids: Sequence[Sequence[int]], tag: str):
    """A modified Kneser–Ney trigram of ``train_ids`` (KenLM ``lmplz``), cached by content."""
    import kenlm

    return kenlm.Model(str(train_lines_model(_token_lines(train_ids), tag, TRIGRAM_ORDER, TRIGRAM_ORDER)))


def trigram_loss(model, test_ids: Sequence[Sequence[int]]) -> float:
    """Mean NLL (nats per token) of ``test_ids`` under a KenLM ``model``.

    Each line is scored without sentence boundaries, so every test token is predicted exactly once, like the trainer's
    windows predict every token after the first.
    """
    log10_total, count = 0.0, 0
    for line in _token_lines(test_ids):
        log10_total += model.score(line, bos=False, eos=False)
        count += line.count(" ") + 1
    if count == 0:
        raise ValueError("no test tokens to score the trigram baseline on")
    return -log10_total * LN10 / count


def baseline_losses(train_ids: Sequence[Sequence[int]], test_sets: dict[str, Sequence[Sequence[int]]],
                    vocab_size: int, tag: str) -> dict[str, BaselineLosses]:
    """Unigram and trigram losses of one training corpus on every test set."""
    log_probs = unigram_log_probs(train_ids, vocab_size)
    trigram = trigram_model(train_ids, tag)
    return {
        name: BaselineLosses(unigram_loss(log_probs, ids), trigram_loss(trigram, ids),
                             int(sum(len(document) for document in ids)))
        for name, ids in test_sets.items()
    }


def scored_targets(config: TrainAppConfig, tokenizer) -> dict[str, np.ndarray]:
    """Per test set, the target tokens the trainer scores: its first ``data.eval_max_windows`` windows, in order."""
    targets = {}
    for name, windows in build_eval_windows(config.data, tokenizer, config.train.seq_len).items():
        wanted = min(len(windows), config.data.eval_max_windows)
        targets[name] = np.concatenate([windows.window(0, index).targets for index in range(wanted)])
    return targets


def study_baselines(config: TrainAppConfig, corpus_files: Mapping[str, Path], directory: Path,
                    trained_on: Sequence[str] = (PRETRAIN_CORPUS, BASE_CORPUS)) -> dict[str, Any]:
    """``directory/baselines.json``: the unigram and trigram losses, on exactly the tokens the trainer scores, of
    the text the clean-base model trained on (``trained_on``: the pre-training split and the clean base corpus),
    and every corpus's size in tokens (for epochs)."""
    tokenizer = load_tokenizer(config.tokenizer)
    corpora = {name: build_token_file(read_jsonl(path), tokenizer, f"study/{name}")
               for name, path in corpus_files.items()}
    train_ids = [corpora[name].document(index) for name in trained_on for index in range(corpora[name].n_documents)]
    losses = baseline_losses(train_ids, {name: [ids] for name, ids in scored_targets(config, tokenizer).items()},
                             len(tokenizer), "study-baseline")
    record = {"trained_on": list(trained_on), "train_tokens": int(sum(len(ids) for ids in train_ids)),
              "test_sets": {name: asdict(value) for name, value in losses.items()},
              "corpus_tokens": {name: int(corpus.n_tokens) for name, corpus in corpora.items()}}
    atomic_write_json(directory / BASELINES_FILE, record)
    return record
