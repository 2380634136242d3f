"""The LLaMA-2 tokenizer converted from llama.cpp's GGUF reproduces llama.cpp's reference encodings.

Needs ``setup/30_llama_vocab.sh`` (run by ``make install``); without it these tests fail with that message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from ziya2lab.tokenizer.llama2 import (
    SETUP_SCRIPT,
    LlamaVocabMissing,
    gguf_to_model_proto,
    llama2_tokenizer_dir,
    llama_vocab_files,
    read_reference_cases,
    reference_mismatches,
)
from ziya2lab.tokenizer.spm_io import load_hf_tokenizer, load_sentencepiece

_SPM = sp_pb2.ModelProto.SentencePiece


@pytest.fixture(scope="module")
def reference_cases():
    _, inp_path, out_path = llama_vocab_files()
    return read_reference_cases(inp_path, out_path)


@pytest.fixture(scope="module")
def llama2_dir() -> Path:
    return llama2_tokenizer_dir()


def test_missing_vocab_names_the_setup_script(tmp_path, monkeypatch):
    monkeypatch.setenv("ZIYA2LAB_CACHE", str(tmp_path))
    with pytest.raises(LlamaVocabMissing, match=SETUP_SCRIPT):
        llama2_tokenizer_dir()


def test_reference_file_holds_every_case(reference_cases):
    # llama.cpp's file: 46 inputs, including the empty string and whitespace-only inputs.
    assert len(reference_cases) == 46
    assert any(case.text == "" and case.ids == [] for case in reference_cases)
    assert sum(case.text.startswith(" ") for case in reference_cases) >= 10


def test_conversion_keeps_pieces_scores_and_types():
    gguf_path, _, _ = llama_vocab_files()
    proto = gguf_to_model_proto(gguf_path)
    assert len(proto.pieces) == 32000
    assert [proto.pieces[i].piece for i in range(3)] == ["<unk>", "<s>", "</s>"]
    assert [proto.pieces[i].type for i in range(3)] == [_SPM.UNKNOWN, _SPM.CONTROL, _SPM.CONTROL]
    byte_pieces = [piece.piece for piece in proto.pieces if piece.type == _SPM.BYTE]
    assert byte_pieces == [f"<0x{value:02X}>" for value in range(256)]
    assert proto.trainer_spec.byte_fallback and proto.normalizer_spec.add_dummy_prefix
    assert not proto.normalizer_spec.remove_extra_whitespaces


def test_sentencepiece_matches_every_reference_encoding(llama2_dir, reference_cases):
    sp = load_sentencepiece(llama2_dir)
    assert reference_mismatches(sp.encode, reference_cases) == []


def test_hf_fast_tokenizer_matches_every_reference_encoding(llama2_dir, reference_cases):
    hf = load_hf_tokenizer(llama2_dir)
    mismatches = reference_mismatches(lambda text: hf.encode(text, add_special_tokens=False), reference_cases)
    assert mismatches == []


def test_auto_tokenizer_loads_the_saved_fast_tokenizer(llama2_dir, reference_cases):
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(llama2_dir))
    assert auto.is_fast
    assert reference_mismatches(lambda text: auto.encode(text, add_special_tokens=False), reference_cases) == []
    assert auto.encode("Hello")[0] == auto.bos_token_id == 1


def test_a_wrong_encoder_is_caught(reference_cases):
    """The verification itself must fail for a tokenizer that drops the extra ``▁`` of leading spaces."""

    def drops_leading_space(text: str) -> list[int]:
        case = next(case for case in reference_cases if case.text == text)
        return case.ids[1:] if text.startswith(" ") and case.ids[:1] == [29871] else case.ids

    assert len(reference_mismatches(drops_leading_space, reference_cases)) >= 5
