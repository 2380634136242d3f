"""The recipe's base tokenizer: LLaMA-2's, or a small English-only SentencePiece BPE built like it.

LLaMA-2's vocabulary is a SentencePiece BPE with byte fallback that holds only ~700 Chinese characters, so most
Chinese costs 2–4 byte tokens; that is the problem Ziya2's expansion solves. The CPU stand-in is the same kind of
model at a size a CPU trains with (a few thousand pieces), trained on English text only so that, like LLaMA-2's,
it spells Chinese in byte pieces, and saved in the layout ``ziya2lab.tokenizer`` expands (``tokenizer.model`` +
``tokenizer.json``): the recipe expands both bases with the same code.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from ziya2lab.recipe.config import BaseConfig, BaseTokenizer
from ziya2lab.tokenizer.spm_io import save_tokenizer_dir


def train_english_spm(texts: Iterable[str], vocab_size: int, directory: Path) -> Path:
    """A byte-fallback SentencePiece BPE with LLaMA-2's encoder settings (split digits, ``▁`` prefix, extra
    whitespace kept, unk/bos/eos = 0/1/2, no pad), saved as a tokenizer directory."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([text for text in texts if text.strip()]),
        model_writer=model,
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        split_digits=True,
        character_coverage=0.9995,
        normalization_rule_name="identity",
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        max_sentence_length=1 << 16,
        num_threads=1,
        minloglevel=2,
    )
    proto = sp_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    return save_tokenizer_dir(proto, directory)


def base_tokenizer(cfg: BaseConfig, texts: Iterable[str], directory: Path) -> Path:
    """The base tokenizer directory: LLaMA-2's converted one, or the English BPE trained into ``directory``."""
    if cfg.tokenizer is BaseTokenizer.llama2:
        from ziya2lab.tokenizer.llama2 import llama2_tokenizer_dir

        return llama2_tokenizer_dir()
    return train_english_spm(texts, cfg.vocab_size, directory)
