"""The real LLaMA-2 tokenizer, rebuilt offline from llama.cpp's vocab-only GGUF.

``setup/30_llama_vocab.sh`` extracts ``ggml-vocab-llama-spm.gguf`` (32,000 pieces with scores and types) and its
reference encodings (``.inp``/``.out``, produced by llama.cpp from meta-llama/Llama-2-7b-hf) from the
llama-cpp-python sdist. Here the GGUF becomes a SentencePiece ``ModelProto`` with LLaMA-2's encoder settings, and
the result is accepted only if sentencepiece AND the HF fast tokenizer reproduce every reference encoding.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.hashing import hash_file
from ziya2lab.common.paths import cache_root
from ziya2lab.tokenizer.spm_io import SPM_FILE, load_hf_tokenizer, load_sentencepiece, save_tokenizer_dir

SETUP_SCRIPT = "setup/30_llama_vocab.sh"
GGUF_NAME = "ggml-vocab-llama-spm.gguf"
REFERENCE_SEPARATOR = "\n__ggml_vocab_test__\n"
# Bumped whenever the conversion changes, so cached conversions made by older code are rebuilt.
CONVERTER_VERSION = "2"

# llama.cpp token types (llama_token_type) → SentencePiece piece types.
_GGUF_TO_SPM_TYPE = {
    1: sp_pb2.ModelProto.SentencePiece.NORMAL,
    2: sp_pb2.ModelProto.SentencePiece.UNKNOWN,
    3: sp_pb2.ModelProto.SentencePiece.CONTROL,
    4: sp_pb2.ModelProto.SentencePiece.USER_DEFINED,
    5: sp_pb2.ModelProto.SentencePiece.UNUSED,
    6: sp_pb2.ModelProto.SentencePiece.BYTE,
}


class LlamaVocabMissing(FileNotFoundError):
    """The fetched LLaMA-2 vocabulary is not in the cache."""


@dataclass(frozen=True)
class ReferenceCase:
    text: str
    ids: list[int]


@dataclass(frozen=True)
class ReferenceMismatch:
    text: str
    expected: list[int]
    got: list[int]


def llama_vocab_dir() -> Path:
    return cache_root() / "tokenizers" / "llama-spm"


def llama_vocab_files() -> tuple[Path, Path, Path]:
    """(gguf, reference inputs, reference outputs); raises LlamaVocabMissing naming the setup step."""
    vocab_dir = llama_vocab_dir()
    files = (vocab_dir / GGUF_NAME, vocab_dir / f"{GGUF_NAME}.inp", vocab_dir / f"{GGUF_NAME}.out")
    missing = [path.name for path in files if not path.is_file()]
    if missing:
        raise LlamaVocabMissing(
            f"The LLaMA-2 vocabulary is missing from {vocab_dir} ({', '.join(missing)}). "
            f"Fetch it once with `bash {SETUP_SCRIPT}` (or `make install`, which runs it); it needs PyPI access "
            "to download the llama-cpp-python source distribution."
        )
    return files


def _field_value(reader: object, key: str) -> object:
    field = reader.fields.get(key)  # type: ignore[attr-defined]
    if field is None:
        raise ValueError(f"GGUF key {key!r} missing")
    return field.contents()


def gguf_to_model_proto(gguf_path: str | Path) -> sp_pb2.ModelProto:
    """A SentencePiece BPE model with LLaMA-2's encoder settings and the GGUF's pieces, scores and types."""
    import gguf

    reader = gguf.GGUFReader(str(gguf_path))
    tokenizer_kind = _field_value(reader, "tokenizer.ggml.model")
    if tokenizer_kind != "llama":
        raise ValueError(
            f"{gguf_path}: tokenizer.ggml.model is {tokenizer_kind!r}, expected 'llama' (SentencePiece)"
        )
    tokens = _field_value(reader, "tokenizer.ggml.tokens")
    scores = _field_value(reader, "tokenizer.ggml.scores")
    token_types = _field_value(reader, "tokenizer.ggml.token_type")
    if not len(tokens) == len(scores) == len(token_types):
        raise ValueError(f"{gguf_path}: tokens/scores/types lengths differ")
    unknown_types = sorted(set(token_types) - set(_GGUF_TO_SPM_TYPE))
    if unknown_types:
        raise ValueError(f"{gguf_path}: unsupported token types {unknown_types}")

    proto = sp_pb2.ModelProto()
    for piece, score, token_type in zip(tokens, scores, token_types, strict=True):
        proto.pieces.add(piece=piece, score=float(score), type=_GGUF_TO_SPM_TYPE[token_type])

    trainer = proto.trainer_spec
    trainer.model_type = sp_pb2.TrainerSpec.BPE
    trainer.vocab_size = len(tokens)
    trainer.byte_fallback = True
    trainer.split_digits = True
    trainer.allow_whitespace_only_pieces = True
    trainer.unk_id = int(_field_value(reader, "tokenizer.ggml.unknown_token_id"))
    trainer.bos_id = int(_field_value(reader, "tokenizer.ggml.bos_token_id"))
    trainer.eos_id = int(_field_value(reader, "tokenizer.ggml.eos_token_id"))
    trainer.pad_id = -1
    trainer.unk_piece, trainer.bos_piece, trainer.eos_piece = (
        tokens[trainer.unk_id],
        tokens[trainer.bos_id],
        tokens[trainer.eos_id],
    )

    normalizer = proto.normalizer_spec
    normalizer.name = "identity"
    normalizer.add_dummy_prefix = True
    normalizer.remove_extra_whitespaces = False
    normalizer.escape_whitespaces = True
    return proto


def read_reference_cases(inp_path: str | Path, out_path: str | Path) -> list[ReferenceCase]:
    """llama.cpp's test vectors: inputs separated by a marker line, one line of token ids per input."""
    inputs = Path(inp_path).read_text(encoding="utf-8").split(REFERENCE_SEPARATOR)
    outputs = Path(out_path).read_text(encoding="utf-8").split("\n")
    # Both files end with a separator / newline, which leaves one empty trailing element each.
    if inputs[-1] != "" or outputs[-1] != "":
        raise ValueError(f"{inp_path} / {out_path}: expected a trailing separator and newline")
    inputs, outputs = inputs[:-1], outputs[:-1]
    if len(inputs) != len(outputs):
        raise ValueError(f"{inp_path} has {len(inputs)} inputs but {out_path} has {len(outputs)} encodings")
    return [
        ReferenceCase(text, [int(tok) for tok in line.split()])
        for text, line in zip(inputs, outputs, strict=True)
    ]


def reference_mismatches(
    encode: Callable[[str], Sequence[int]], cases: Sequence[ReferenceCase]
) -> list[ReferenceMismatch]:
    """Cases where ``encode`` (no BOS/EOS) differs from the reference ids."""
    mismatches = []
    for case in cases:
        got = list(encode(case.text))
        if got != case.ids:
            mismatches.append(ReferenceMismatch(case.text, case.ids, got))
    return mismatches


def verify_tokenizer_dir(tokenizer_dir: str | Path, cases: Sequence[ReferenceCase]) -> dict[str, int]:
    """Check sentencepiece and the HF fast tokenizer against every case; raise on any mismatch."""
    sp = load_sentencepiece(tokenizer_dir)
    hf = load_hf_tokenizer(tokenizer_dir)
    encoders: dict[str, Callable[[str], Sequence[int]]] = {
        "sentencepiece": sp.encode,
        "hf_fast": lambda text: hf.encode(text, add_special_tokens=False),
    }
    for name, encode in encoders.items():
        mismatches = reference_mismatches(encode, cases)
        if mismatches:
            first = mismatches[0]
            raise AssertionError(
                f"{name} tokenizer in {tokenizer_dir} differs from llama.cpp on {len(mismatches)}/{len(cases)} "
                f"reference encodings; first: {first.text!r} expected {first.expected} got {first.got}"
            )
    return {name: len(cases) for name in encoders}


def llama2_tokenizer_dir() -> Path:
    """The converted, verified LLaMA-2 tokenizer directory, built once into the cache and reused.

    The cache entry records the GGUF's hash and the converter version; a different vocab file or converter
    rebuilds it.
    """
    gguf_path, inp_path, out_path = llama_vocab_files()
    target = cache_root() / "tokenizers" / "llama2"
    source = {"gguf_sha256": hash_file(gguf_path), "converter": CONVERTER_VERSION}
    record_file = target / "conversion.json"
    if (
        (target / SPM_FILE).is_file()
        and record_file.is_file()
        and json.loads(record_file.read_text(encoding="utf-8")).get("source") == source
    ):
        return target
    save_tokenizer_dir(gguf_to_model_proto(gguf_path), target)
    verified = verify_tokenizer_dir(target, read_reference_cases(inp_path, out_path))
    atomic_write_json(record_file, {"source": source, "gguf": str(gguf_path), "verified_cases": verified})
    return target
