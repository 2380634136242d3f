"""Ziya2 §4 expansion of the real LLaMA-2 tokenizer: round trip, English unchanged, embedding initialisation.

The expansion here counts the characters of a few Chinese sentences (not the shipped corpora, to stay fast);
the full-size run is ``experiments/expand_tokenizer.py``. Needs ``setup/30_llama_vocab.sh``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from ziya2lab.tokenizer.cjk import count_cjk_chars, is_cjk_char
from ziya2lab.tokenizer.config import CountWeighting
from ziya2lab.tokenizer.expand import Expansion, build_expansion, combine_counts, is_unreachable_piece
from ziya2lab.tokenizer.llama2 import llama2_tokenizer_dir
from ziya2lab.tokenizer.spm_io import (
    load_hf_tokenizer,
    load_sentencepiece,
    processor_from_proto,
    read_model_proto,
    save_tokenizer_dir,
)

CHINESE = [
    "中华人民共和国国务院总理在北京人民大会堂会见了来访的代表团。",
    "今年粮食产量再创新高，农民收入稳步增长，农村面貌焕然一新。",
    "这家餐厅的服务态度很好，菜的味道也不错，下次还会再来。",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
]
ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "  Leading spaces, tabs\tand\nnewlines; numbers 1234567 and symbols $%^&*() stay put.",
    "Hello world! It's 3:45 p.m. -- naïve café résumé.",
]
MIXED = [
    "LLaMA-2 把每个汉字拆成 2 到 4 个 token 🙂🚀, Ziya2 adds 新词。",
    " 前导空格 and 尾随空格 ",
    "emoji 👩‍👩‍👧 + 罕见字 𠀋 + 全角ＡＢＣ１２３",
]
NUM_NEW = 16
PAD = 128


@pytest.fixture(scope="module")
def expanded(tmp_path_factory) -> tuple[Path, Path, Expansion]:
    base_dir = llama2_tokenizer_dir()
    base_proto = read_model_proto(base_dir)
    counts = count_cjk_chars(CHINESE)
    proto, expansion = build_expansion(
        base_proto, counts, combine_counts({"test": counts}, CountWeighting.raw), NUM_NEW, PAD
    )
    out_dir = save_tokenizer_dir(proto, tmp_path_factory.mktemp("expanded") / "tokenizer")
    expansion.save(out_dir)
    return base_dir, out_dir, expansion


def test_vocabulary_is_padded_and_new_tokens_are_frequent_new_characters(expanded):
    base_dir, out_dir, expansion = expanded
    base_pieces = {piece.piece for piece in read_model_proto(base_dir).pieces}
    assert expansion.base_vocab_size == 32000
    assert expansion.vocab_size % PAD == 0 and expansion.vocab_size == 32000 + PAD
    assert len(expansion.tokens) == NUM_NEW and len(expansion.padding_pieces) == PAD - NUM_NEW
    assert all(is_cjk_char(token.piece) and token.piece not in base_pieces for token in expansion.tokens)
    counts = [token.count for token in expansion.tokens]
    assert counts == sorted(counts, reverse=True)
    every_pieces = base_pieces | {token.piece for token in expansion.tokens} | set(expansion.padding_pieces)
    assert all(is_unreachable_piece(name, every_pieces) for name in expansion.padding_pieces)
    assert Expansion.load(out_dir) == expansion


def test_new_characters_become_single_tokens_instead_of_bytes(expanded):
    base_dir, out_dir, expansion = expanded
    base, sp = load_sentencepiece(base_dir), load_sentencepiece(out_dir)
    for token in expansion.tokens:
        text = f"前{token.piece}后"
        assert token.id in sp.encode(text)
        # Before expansion the character was its UTF-8 byte tokens, which are its recorded sources.
        assert len(token.source_ids) == len(token.piece.encode("utf-8"))
        assert all(base.id_to_piece(source).startswith("<0x") for source in token.source_ids)
    assert sum(len(sp.encode(text)) for text in CHINESE) < sum(len(base.encode(text)) for text in CHINESE)


@pytest.mark.parametrize("text", CHINESE + ENGLISH + MIXED)
def test_round_trip_on_mixed_text(expanded, text):
    _, out_dir, _ = expanded
    sp, hf = load_sentencepiece(out_dir), load_hf_tokenizer(out_dir)
    assert sp.decode(sp.encode(text)) == text
    ids = hf.encode(text, add_special_tokens=False)
    assert ids == sp.encode(text)
    assert hf.decode(ids) == text


def test_english_is_unchanged_token_for_token(expanded):
    base_dir, out_dir, _ = expanded
    base, sp, hf = load_sentencepiece(base_dir), load_sentencepiece(out_dir), load_hf_tokenizer(out_dir)
    base_hf = load_hf_tokenizer(base_dir)
    for text in ENGLISH:
        assert sp.encode(text) == base.encode(text)
        assert hf.encode(text) == base_hf.encode(text)


def test_no_padding_id_is_ever_produced(expanded):
    _, out_dir, expansion = expanded
    sp = load_sentencepiece(out_dir)
    first_padding = expansion.vocab_size - len(expansion.padding_pieces)
    assert all(token < first_padding for text in CHINESE + ENGLISH + MIXED for token in sp.encode(text))


def _tiny_model(vocab_size: int):
    from ziya2lab.model import Llama, LlamaConfig

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=64,
    )
    return Llama(config)


@pytest.mark.parametrize("weighted", [False, True])
def test_new_embedding_rows_are_the_mean_of_their_source_rows(expanded, weighted):
    base_dir, _, expansion = expanded
    if weighted:
        frequencies = Counter({source: 10 * (source % 7) for token in expansion.tokens for source in token.source_ids})
        expansion = build_expansion(
            read_model_proto(base_dir),
            Counter({token.piece: token.count for token in expansion.tokens}),
            {token.piece: float(token.count) for token in expansion.tokens},
            NUM_NEW,
            PAD,
            frequencies,
        )[1]
    assert (expansion.source_weights() is not None) == weighted
    model = _tiny_model(expansion.base_vocab_size)
    embed_before = model.embed_tokens.weight.detach().clone()
    head_before = model.lm_head.weight.detach().clone()
    model.resize_token_embeddings(expansion.vocab_size, expansion.source_ids(), expansion.source_weights())
    embed, head = model.embed_tokens.weight.detach(), model.lm_head.weight.detach()
    assert embed.shape[0] == head.shape[0] == expansion.vocab_size
    assert torch.equal(embed[: expansion.base_vocab_size], embed_before)
    assert torch.equal(head[: expansion.base_vocab_size], head_before)
    for token in expansion.tokens:
        weights = torch.tensor(token.source_weights or [1.0] * len(token.source_ids))
        for before, after in ((embed_before, embed), (head_before, head)):
            expected = (weights[:, None] * before[token.source_ids]).sum(0) / weights.sum()
            torch.testing.assert_close(after[token.id], expected)


@pytest.mark.slow
def test_expanded_model_loads_in_transformers(expanded, tmp_path):
    from transformers import LlamaForCausalLM

    _, out_dir, expansion = expanded
    model = _tiny_model(expansion.base_vocab_size)
    model.resize_token_embeddings(expansion.vocab_size, expansion.source_ids())
    model.eval()
    model.save_pretrained(tmp_path / "model")
    hf_model = LlamaForCausalLM.from_pretrained(str(tmp_path / "model"))
    hf_model.eval()
    assert hf_model.config.vocab_size == expansion.vocab_size == len(load_hf_tokenizer(out_dir))
    text = MIXED[0] + "".join(token.piece for token in expansion.tokens[:8])
    ids = torch.tensor([processor_from_proto(read_model_proto(out_dir)).encode(text)])
    assert ids.max().item() >= expansion.base_vocab_size
    with torch.no_grad():
        ours, theirs = model(ids).logits, hf_model(ids).logits
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)
