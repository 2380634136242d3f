"""A small byte-level BPE for CPU runs, trained once per corpus and cached by content hash.

A 32k vocabulary makes the output layer dominate a 1–25M-parameter model and halves CPU throughput, so scaling
sweeps use a vocabulary of a few thousand. Byte-level BPE has every byte in its base alphabet, so any Chinese or
English text round-trips without an unknown token (the byte fallback). The result is saved as a
``PreTrainedTokenizerFast`` directory, so a run's ``final/`` can hold it and ``AutoTokenizer`` can load it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from ziya2lab.common.atomic import atomic_directory
from ziya2lab.common.hashing import hash_config, hash_texts
from ziya2lab.common.paths import cache_dir

BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"
PAD_TOKEN = "<pad>"
SPECIAL_TOKENS = (BOS_TOKEN, EOS_TOKEN, PAD_TOKEN)
# What a causal LM's forward takes. The PreTrainedTokenizerFast default adds token_type_ids, which
# ``model.generate(**tokenizer(text, return_tensors="pt"))`` then passes on to a model that has no such input.
MODEL_INPUT_NAMES = ["input_ids", "attention_mask"]
FORMAT_VERSION = 2  # 2: saved with MODEL_INPUT_NAMES (1 emitted token_type_ids)


def _capped(texts: Iterable[str], max_chars: int | None) -> Iterator[str]:
    """Stop once ``max_chars`` characters have been yielded (BPE merges stabilise long before a whole corpus)."""
    seen = 0
    for text in texts:
        if max_chars is not None and seen >= max_chars:
            return
        if max_chars is not None and seen + len(text) > max_chars:
            text = text[: max_chars - seen]
        seen += len(text)
        yield text


def train_small_bpe(texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE whose total vocabulary (special tokens included) is ``vocab_size``."""
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size={vocab_size} is below the 256 byte symbols plus {len(SPECIAL_TOKENS)} specials")
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=BOS_TOKEN, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN,
        model_input_names=MODEL_INPUT_NAMES,
    )


def cached_small_bpe(
    texts: Iterable[str], vocab_size: int = 4096, max_train_chars: int | None = 4_000_000
) -> Path:
    """Directory of the small BPE trained on ``texts`` (first ``max_train_chars``), training it on first use.

    The cache key is the content hash of exactly the training text and settings, so a changed corpus retrains
    and an unchanged one is reused by every run, test and process.
    """
    sample = list(_capped(texts, max_train_chars))
    if not sample:
        raise ValueError("cannot train a tokenizer on an empty corpus")
    key = hash_config(
        {"format": FORMAT_VERSION, "vocab_size": vocab_size, "texts": hash_texts(sample)}
    )
    directory = cache_dir("tokenizers") / f"small_bpe_{vocab_size}_{key[:16]}"
    if (directory / "tokenizer.json").exists():
        return directory
    tokenizer = train_small_bpe(sample, vocab_size=vocab_size)
    with atomic_directory(directory, keep_existing=True) as staging:
        tokenizer.save_pretrained(staging)
    return directory
