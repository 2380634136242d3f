"""The LLaMA model: Hugging Face parity, precision flags, packing mask, vocabulary growth, accounting."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers

from ziya2lab.model import Llama, LlamaConfig
from ziya2lab.model.accounting import count_parameters, flops_per_token
from ziya2lab.model.llama import RotaryEmbedding, apply_rotary


def tiny_config(**overrides) -> LlamaConfig:
    values = dict(vocab_size=300, hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    return LlamaConfig(**(values | overrides))


@pytest.fixture
def model() -> Llama:
    torch.manual_seed(0)
    return Llama(tiny_config()).eval()


def test_logits_match_transformers_llama(model: Llama, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    reference = transformers.LlamaForCausalLM.from_pretrained(tmp_path, attn_implementation="eager").eval()
    tokens = torch.randint(0, 300, (2, 24))
    torch.testing.assert_close(model(tokens).logits, reference(tokens).logits, atol=2e-5, rtol=1e-4)


def test_round_trip_and_loading_a_transformers_checkpoint(model: Llama, tmp_path: Path) -> None:
    reference = transformers.LlamaForCausalLM(transformers.LlamaConfig(**tiny_config().to_hf_dict())).eval()
    reference.save_pretrained(tmp_path, safe_serialization=True)
    loaded = Llama.from_pretrained(tmp_path).eval()
    tokens = torch.randint(0, 300, (1, 16))
    torch.testing.assert_close(loaded(tokens).logits, reference(tokens).logits, atol=2e-5, rtol=1e-4)


def test_backends_agree(model: Llama) -> None:
    tokens = torch.randint(0, 300, (2, 20))
    sdpa = model(tokens).logits
    model.config.attn_backend = "eager"
    torch.testing.assert_close(model(tokens).logits, sdpa, atol=1e-5, rtol=1e-5)


def test_xformers_backend_fails_clearly_on_cpu(model: Llama) -> None:
    model.config.attn_backend = "xformers"
    with pytest.raises((ImportError, RuntimeError), match="xformers"):
        model(torch.randint(0, 300, (1, 8)))


def test_document_mask_isolates_packed_documents(model: Llama) -> None:
    tokens = torch.randint(0, 300, (1, 20))
    documents = torch.tensor([[0] * 12 + [1] * 8])
    packed = model(tokens, document_ids=documents).logits
    alone = model(tokens[:, 12:]).logits  # RoPE is relative, so the second document alone gives the same logits
    torch.testing.assert_close(packed[:, 12:], alone, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(model(tokens).logits[:, 12:], alone, atol=1e-3)


def test_loss_ignores_masked_targets(model: Llama) -> None:
    tokens = torch.randint(0, 300, (2, 10))
    targets = tokens.clone()
    targets[:, 5:] = -100
    full = torch.nn.functional.cross_entropy(model(tokens).logits[:, :5].reshape(-1, 300), tokens[:, :5].reshape(-1))
    torch.testing.assert_close(model(tokens, targets=targets).loss, full)


def test_fp32_rope_beats_bf16_rope_at_long_positions() -> None:
    config = tiny_config(max_position_embeddings=8192)
    x = torch.randn(1, 1, 8192, 16)
    exact_cos, exact_sin = RotaryEmbedding(config)(8192, torch.device("cpu"), torch.float64)
    exact = apply_rotary(x.double(), exact_cos, exact_sin)
    fp32 = apply_rotary(x.bfloat16(), *RotaryEmbedding(config)(8192, torch.device("cpu"), torch.bfloat16))
    config.fp32_rope = False
    bf16 = apply_rotary(x.bfloat16(), *RotaryEmbedding(config)(8192, torch.device("cpu"), torch.bfloat16))
    error_fp32 = (fp32.double() - exact).abs()[..., 4096:, :].mean()
    error_bf16 = (bf16.double() - exact).abs()[..., 4096:, :].mean()
    assert error_fp32 * 5 < error_bf16


def test_bf16_autocast_keeps_norms_and_loss_in_fp32(model: Llama) -> None:
    tokens = torch.randint(0, 300, (1, 8))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(tokens, targets=tokens)
    assert out.logits.dtype == torch.bfloat16 and out.loss.dtype == torch.float32
    assert model.norm(torch.randn(2, 64, dtype=torch.bfloat16)).dtype == torch.float32  # weight fp32 × fp32 norm


def test_resize_initialises_new_rows_from_sources(model: Llama) -> None:
    old_input = model.embed_tokens.weight.detach().clone()
    old_output = model.lm_head.weight.detach().clone()
    model.resize_token_embeddings(303, source_ids=[[1, 2], [5], []], source_weights=[[3.0, 1.0], [1.0], []])
    assert model.embed_tokens.weight.shape == (303, 64) and model.lm_head.weight.shape == (303, 64)
    torch.testing.assert_close(model.embed_tokens.weight[300], (3 * old_input[1] + old_input[2]) / 4)
    torch.testing.assert_close(model.lm_head.weight[301], old_output[5])
    torch.testing.assert_close(model.embed_tokens.weight[:300], old_input)
    assert model(torch.tensor([[302]])).logits.shape == (1, 1, 303)


@pytest.mark.parametrize("preset", sorted(p.stem for p in Path(__file__).parents[1].glob("conf/model/llama_*.yaml")))
def test_parameter_count_is_exact(preset: str) -> None:
    from omegaconf import OmegaConf

    values = OmegaConf.to_container(OmegaConf.load(Path(__file__).parents[1] / "conf" / "model" / f"{preset}.yaml"))
    config = LlamaConfig(**values)
    if count_parameters(config, include_embeddings=True) > 40e6:
        pytest.skip("too large to instantiate in a unit test")
    assert count_parameters(config, include_embeddings=True) == sum(p.numel() for p in Llama(config).parameters())


def test_flops_per_token_is_six_n_plus_attention() -> None:
    config = tiny_config()
    matmul = count_parameters(config, include_embeddings=False) + 300 * 64
    assert flops_per_token(config, 128) == 6 * matmul + 6 * 2 * 128 * 64


def test_bad_head_counts_name_the_key() -> None:
    with pytest.raises(ValueError, match="num_key_value_heads"):
        tiny_config(num_key_value_heads=3)
