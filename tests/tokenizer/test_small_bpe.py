"""The small BPE as a run's ``final/`` carries it: a causal LM's inputs only, so ``generate(**tokenizer(...))``
works on a checkpoint saved the way the trainer saves one."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM
from transformers import LlamaConfig as HFLlamaConfig

from ziya2lab.model import Llama, LlamaConfig
from ziya2lab.tokenizer.small_bpe import train_small_bpe

TEXTS = [
    "The quick brown fox jumps over the lazy dog. " * 4,
    "今年粮食产量再创新高，农民收入稳步增长。" * 4,
    "A small tokenizer for a small model, trained in a moment on a few sentences.",
]


def test_tokenizer_emits_only_a_causal_lm_inputs():
    encoded = train_small_bpe(TEXTS, vocab_size=300)("some text", return_tensors="pt")
    assert set(encoded) == {"input_ids", "attention_mask"}


def test_generate_on_a_final_checkpoint_saved_like_the_trainers(tmp_path):
    tokenizer = train_small_bpe(TEXTS, vocab_size=300)
    torch.manual_seed(0)
    model = Llama(
        LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
            num_attention_heads=2, max_position_embeddings=64, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        )
    )
    final = tmp_path / "final"
    model.save_pretrained(final)  # what Trainer.export_final writes: the model, then the tokenizer
    tokenizer.save_pretrained(final)

    loaded_tokenizer = AutoTokenizer.from_pretrained(final)
    loaded_model = AutoModelForCausalLM.from_pretrained(final)
    inputs = loaded_tokenizer("The quick brown", return_tensors="pt")
    assert "token_type_ids" not in inputs
    output = loaded_model.generate(**inputs, max_new_tokens=3, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert output.shape == (1, inputs["input_ids"].shape[1] + 3)


def test_the_old_default_would_have_failed(tmp_path):
    """The check above can fail: with token_type_ids (the PreTrainedTokenizerFast default) generate refuses."""
    tokenizer = train_small_bpe(TEXTS, vocab_size=300)
    model = LlamaForCausalLM(
        HFLlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2)
    )
    inputs = tokenizer("The quick brown", return_tensors="pt", return_token_type_ids=True)
    with pytest.raises(ValueError, match="token_type_ids"):
        model.generate(**inputs, max_new_tokens=1, pad_token_id=tokenizer.pad_token_id)
