"""Ziya2's vocabulary expansion on the recipe's own base: count, expand, initialise by averaging, and record the
initial held-out Chinese loss under every initialisation the project supports.

Counting, expanding and the before/after efficiency are ``ziya2lab.tokenizer.expand_pipeline``'s; growing and
initialising the embeddings, and scoring a model on a token stream, are the initialisation experiment's
(``ziya2lab.study.tokenizer_expansion``), applied here to the recipe's base model rather than to one of its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from ziya2lab.common.jsonl import read_jsonl, write_jsonl
from ziya2lab.model import Llama
from ziya2lab.recipe.config import STAGES, ZIYA2_NEW_TOKEN_RATIO, RecipeAppConfig
from ziya2lab.recipe.corpora import CorpusFiles
from ziya2lab.recipe.stages import resolve_paths
from ziya2lab.study.tokenizer_expansion import expanded_model, loss_scores, token_losses, token_stream
from ziya2lab.tokenizer.config import ExpandTokenizerConfig, InitExperimentConfig, SourceWeighting
from ziya2lab.tokenizer.expand import Expansion
from ziya2lab.tokenizer.expand_pipeline import expand_and_evaluate
from ziya2lab.tokenizer.spm_io import load_sentencepiece
from ziya2lab.train.datasets import iter_documents

FREQUENCY_SAMPLE_CHARS = 400_000  # stage-1 text whose base-token counts weight the ``frequency`` init


def num_new_tokens(cfg: RecipeAppConfig, base_vocab_size: int) -> int:
    """K: the preset's, or Ziya2's 7,400/32,000 of the base vocabulary."""
    if cfg.expansion.num_new_tokens is not None:
        return cfg.expansion.num_new_tokens
    return round(ZIYA2_NEW_TOKEN_RATIO * base_vocab_size)


def _stage_texts(cfg: RecipeAppConfig, root: Path) -> Iterator[str]:
    """Every training document of the three stages (prompt and answer together), once per source."""
    seen: set[str] = set()
    for stage in STAGES:
        for component in resolve_paths(cfg.stages[stage].data, root).components:
            for source in component.sources:
                label = repr(source)
                if label in seen:
                    continue
                seen.add(label)
                for document in iter_documents(source):
                    yield (document["prompt"] or "") + document["text"]


def expand_tokenizer(cfg: RecipeAppConfig, base_dir: Path, files: CorpusFiles, directory: Path) -> dict[str, Any]:
    """The K most frequent new CJK characters of the stage corpora appended to the base tokenizer; returns the
    expansion report (``tokenizer_dir``, efficiency before/after on the held-out news and prose)."""
    counting = directory / "stage_corpora.jsonl"
    write_jsonl(counting, ({"text": text} for text in _stage_texts(cfg, Path(cfg.output_dir))))
    base_size = load_sentencepiece(base_dir).get_piece_size()
    expand_cfg = ExpandTokenizerConfig(
        base_tokenizer=str(base_dir), corpus_sources=[], corpus_files=[str(counting)],
        num_new_tokens=num_new_tokens(cfg, base_size), pad_to_multiple=cfg.expansion.pad_to_multiple,
        source_weighting=SourceWeighting.frequency if cfg.expansion.stage_init == "frequency" else SourceWeighting.mean,
        zh_eval=str(files.timeline_set("zh_news")), en_eval=str(files.timeline_set("en_prose")),
        init_experiment=InitExperimentConfig(enabled=False),
    )
    return expand_and_evaluate(expand_cfg, directory)


def _frequency_stream(cfg: RecipeAppConfig, base_dir: Path) -> torch.Tensor:
    base = load_sentencepiece(base_dir)
    texts, total = [], 0
    for text in _stage_texts(cfg, Path(cfg.output_dir)):
        if total >= FREQUENCY_SAMPLE_CHARS:
            break
        texts.append(text)
        total += len(text)
    return token_stream(base.encode, texts, base.eos_id())


def compare_inits(cfg: RecipeAppConfig, base_model: Path, base_dir: Path, tokenizer_dir: Path,
                  files: CorpusFiles) -> dict[str, Any]:
    """Initial held-out Chinese loss of the expanded base under each initialisation, untrained; and the base on
    its own tokenization. Bits per byte compare across tokenizers; per-token losses only among the inits (they
    score the same expanded token sequence)."""
    model = Llama.from_pretrained(base_model)
    expansion = Expansion.load(tokenizer_dir)
    base, expanded = load_sentencepiece(base_dir), load_sentencepiece(tokenizer_dir)
    texts = [item["text"] for item in read_jsonl(files.timeline_set("zh_news"))]
    eval_bytes = sum(len(text.encode("utf-8")) + 1 for text in texts)
    seq_len = cfg.train.seq_len
    stream = token_stream(expanded.encode, texts, expanded.eos_id())
    targets = torch.cat([stream[start + 1 : start + seq_len + 1] for start in range(0, len(stream) - 1, seq_len)])
    is_new = targets >= expansion.base_vocab_size
    results = {"base_tokenizer": loss_scores(token_losses(model, token_stream(base.encode, texts, base.eos_id()),
                                                      seq_len), eval_bytes)}
    frequency_stream = _frequency_stream(cfg, base_dir)
    for init in cfg.expansion.compare_inits:
        losses = token_losses(expanded_model(model, expansion, init, frequency_stream, cfg.seed), stream, seq_len)
        if not bool(torch.isfinite(losses).all()):
            raise FloatingPointError(f"non-finite initial loss under the {init!r} initialisation")
        results[init] = loss_scores(losses, eval_bytes, is_new)
    for scores in results.values():
        scores["bits_per_byte"] = scores["nats_per_byte"] / math.log(2)
    return {"by_init": results, "eval_bytes": eval_bytes, "new_token_share": float(is_new.float().mean()),
            "stage_init": cfg.expansion.stage_init}

