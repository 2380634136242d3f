"""A tokenizer directory: one SentencePiece ``ModelProto`` saved as ``tokenizer.model`` plus the Hugging Face files.

The LLaMA-2 tokenizer and every expansion of it are kept in this one layout so that sentencepiece,
``LlamaTokenizer`` (slow) and ``LlamaTokenizerFast`` (``tokenizer.json``) all read the same pieces. The fast
tokenizer is converted from the slow one with ``legacy=True``: that is the mode whose normaliser (prepend ``▁``,
spaces → ``▁``) matches SentencePiece on inputs that begin with a space (offline_resources §3.1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from ziya2lab.common.atomic import atomic_directory

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

SPM_FILE = "tokenizer.model"
HF_FILE = "tokenizer.json"


def read_model_proto(path: str | Path) -> sp_pb2.ModelProto:
    """Parse a ``tokenizer.model`` (or a directory holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / SPM_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no SentencePiece model at {path}")
    proto = sp_pb2.ModelProto()
    proto.ParseFromString(path.read_bytes())
    return proto


def processor_from_proto(proto: sp_pb2.ModelProto) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_proto=proto.SerializeToString())


def load_sentencepiece(tokenizer_dir: str | Path) -> spm.SentencePieceProcessor:
    return processor_from_proto(read_model_proto(tokenizer_dir))


def load_hf_tokenizer(tokenizer_dir: str | Path) -> PreTrainedTokenizerFast:
    """The fast tokenizer from ``tokenizer.json``; the file, not the slow model, defines its behaviour."""
    from transformers import LlamaTokenizerFast

    tokenizer_dir = Path(tokenizer_dir)
    if not (tokenizer_dir / HF_FILE).is_file():
        raise FileNotFoundError(f"no {HF_FILE} in {tokenizer_dir}; write it with save_tokenizer_dir")
    return LlamaTokenizerFast.from_pretrained(str(tokenizer_dir), legacy=True)


def save_tokenizer_dir(proto: sp_pb2.ModelProto, out_dir: str | Path) -> Path:
    """Write ``tokenizer.model`` and the HF tokenizer files into ``out_dir`` atomically (replacing it)."""
    from transformers import LlamaTokenizerFast

    out_dir = Path(out_dir)
    with atomic_directory(out_dir) as staging:
        model_file = staging / SPM_FILE
        model_file.write_bytes(proto.SerializeToString())
        fast = LlamaTokenizerFast(
            vocab_file=str(model_file),
            legacy=True,
            add_prefix_space=True,
            from_slow=True,
            add_bos_token=True,
            add_eos_token=False,
        )
        fast.save_pretrained(str(staging))
        # A saved add_prefix_space makes every later load re-convert from the slow model (ignoring
        # tokenizer.json); the prefix is already in tokenizer.json's normaliser and is the slow default.
        config_file = staging / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8"))
        config.pop("add_prefix_space", None)
        config_file.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out_dir
