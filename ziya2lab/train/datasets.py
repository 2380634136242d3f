"""Turn the ``data`` and ``tokenizer`` config nodes into a tokenizer, a training mixture and eval window sets."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from ziya2lab.tokenizer.small_bpe import cached_small_bpe
from ziya2lab.train.config import (
    DataConfig,
    Packing,
    SourceConfig,
    TokenizerConfig,
    TokenizerPreset,
    TrainAppConfig,
)
from ziya2lab.train.tokens import (
    SupervisedWindows,
    UnsupervisedWindows,
    WindowMixture,
    Windows,
    build_token_file,
)


def _optional_field(record: dict, name: str | None) -> str | None:
    value = record.get(name) if name else None
    return value if isinstance(value, str) and value else None


def iter_documents(spec: SourceConfig) -> Iterator[dict]:
    """Documents of one source as ``{"text", "prompt", "task"}`` (prompt/task None for plain text)."""
    if (spec.source is None) == (spec.path is None):
        raise ValueError(f"a data source needs exactly one of 'source' or 'path', got {spec}")
    if spec.source is not None:
        from ziya2lab.data.sources import iter_source

        records: Iterator[dict] = iter_source(spec.source, split=spec.split, limit=spec.limit)
    else:
        records = _read_path(spec)
    for record in records:
        yield {
            "text": record[spec.text_field] if spec.path is not None else record["text"],
            "prompt": _optional_field(record, spec.prompt_field),
            "task": _optional_field(record, spec.task_field),
        }


def _read_path(spec: SourceConfig) -> Iterator[dict]:
    from ziya2lab.data.readers import read_documents

    count = 0
    for record in read_documents(spec.path, text_field=spec.text_field):
        if spec.limit is not None and count >= spec.limit:
            return
        if not isinstance(record, dict) or not isinstance(record.get(spec.text_field), str):
            continue  # malformed records are reported by the reader itself
        count += 1
        yield record


def describe(spec: SourceConfig) -> str:
    return spec.source if spec.source is not None else Path(str(spec.path)).name


def input_paths(cfg: TrainAppConfig) -> list[str]:
    """Every local file or directory a run reads: tokenizer, starting checkpoint, training and eval documents."""
    sources = [source for component in cfg.data.components for source in component.sources]
    candidates = [cfg.tokenizer.path, cfg.stage.init_from, *(source.path for source in sources),
                  *(source.path for source in cfg.data.eval_sets.values())]
    return [path for path in candidates if path is not None]


def load_tokenizer(config: TokenizerConfig) -> PreTrainedTokenizerBase:
    """The HF tokenizer at ``path``, LLaMA-2's, or the small BPE trained (once, cached) on ``train_sources``."""
    if config.path is not None:
        path = Path(config.path)
        if not (path / "tokenizer_config.json").is_file():
            problem = "is not a tokenizer directory (no tokenizer_config.json)" if path.is_dir() else "does not exist"
            raise FileNotFoundError(f"tokenizer.path={config.path} {problem}: give a local HF tokenizer directory, "
                                    "e.g. a run's final/ or the study's tokenizer/")
        tokenizer = AutoTokenizer.from_pretrained(config.path)
    elif config.preset is TokenizerPreset.llama2:
        from ziya2lab.tokenizer.llama2 import llama2_tokenizer_dir

        tokenizer = AutoTokenizer.from_pretrained(llama2_tokenizer_dir())
    else:
        texts = (document["text"] for spec in config.train_sources for document in iter_documents(spec))
        tokenizer = AutoTokenizer.from_pretrained(
            cached_small_bpe(texts, vocab_size=config.vocab_size, max_train_chars=config.max_train_chars)
        )
    if tokenizer.eos_token_id is None:
        raise ValueError(f"tokenizer {config.path or config.preset.value} has no eos token; packing needs one")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _tokenized(specs: list[SourceConfig], tokenizer: PreTrainedTokenizerBase, label: str):
    documents = [document for spec in specs for document in iter_documents(spec)]
    if not documents:
        raise ValueError(f"data {label!r}: its sources yielded no documents")
    return build_token_file(documents, tokenizer, description=label)


def build_training_mixture(
    config: DataConfig, tokenizer: PreTrainedTokenizerBase, seq_len: int, seed: int
) -> WindowMixture:
    components: list[Windows] = []
    counts: list[int] = []
    for position, component in enumerate(config.components):
        corpus = _tokenized(component.sources, tokenizer, f"{config.name}/{component.name}")
        if component.packing is Packing.supervised:
            windows: Windows = SupervisedWindows(
                corpus, seq_len, tokenizer.eos_token_id, tokenizer.pad_token_id, seed + position,
                mask_prompt=component.mask_prompt,
            )
        else:
            windows = UnsupervisedWindows(corpus, seq_len, tokenizer.eos_token_id, seed + position)
        if len(windows) == 0:
            raise ValueError(
                f"data.components[{position}] ({component.name}) has {corpus.n_tokens} tokens: fewer than one "
                f"window of train.seq_len={seq_len}"
            )
        if component.share_of_first is not None:
            if position == 0:
                raise ValueError("data.components[0].share_of_first: the first component is the reference")
            count = max(1, round(component.share_of_first * counts[0]))
        elif component.tokens_per_epoch is not None:
            count = max(1, math.ceil(component.tokens_per_epoch / seq_len))
        else:
            count = len(windows)
        components.append(windows)
        counts.append(count)
    return WindowMixture(components, counts, seed)


def build_eval_windows(
    config: DataConfig, tokenizer: PreTrainedTokenizerBase, seq_len: int
) -> dict[str, UnsupervisedWindows]:
    """Held-out sets in fixed (unshuffled) order, so every evaluation scores the same windows."""
    eval_sets = {}
    for name, spec in config.eval_sets.items():
        corpus = _tokenized([spec], tokenizer, f"eval/{name}")
        windows = UnsupervisedWindows(corpus, seq_len, tokenizer.eos_token_id, seed=0, shuffle=False)
        if len(windows) == 0:
            raise ValueError(f"data.eval_sets.{name}: fewer tokens than one window of train.seq_len={seq_len}")
        eval_sets[name] = windows
    return eval_sets
