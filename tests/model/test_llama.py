"""The LLaMA model: Hugging Face parity, precision flags, packing mask, vocabulary growth, accounting."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers

from ziya2lab.model import Llama, LlamaConfig
from ziya2lab.model.accounting import count_parameters, flops_per_token


def tiny_config(**overrides) -> LlamaConfig:
    values = dict(vocab_size=300, hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    return LlamaConfig(**(values | overrides))


@pytest.fixture
def model() -> Llama:
    torch.manual_seed(0)
    return Llama(tiny_config()).eval()


@pytest.mark.parametrize("kv_heads", [4, 2], ids=["mha", "gqa"])
def test_logits_match_transformers_llama(kv_heads: int, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Llama(tiny_config(num_key_value_heads=kv_heads)).eval()
    model.save_pretrained(tmp_path)
    reference, info = transformers.LlamaForCausalLM.from_pretrained(
        tmp_path, attn_implementation="eager", output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"]
    tokens = torch.randint(0, 300, (2, 24))
    assert (model(tokens).logits - reference.eval()(tokens).logits).abs().max() <= 1e-4


def test_sharded_transformers_checkpoint_loads(tmp_path: Path) -> None:
    reference = transformers.LlamaForCausalLM(transformers.LlamaConfig(**tiny_config().to_hf_dict())).eval()
    reference.save_pretrained(tmp_path, safe_serialization=True, max_shard_size="100KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    tokens = torch.randint(0, 300, (1, 12))
    assert (Llama.from_pretrained(tmp_path).eval()(tokens).logits - reference(tokens).logits).abs().max() <= 1e-4


def test_bf16_autocast_training_step_is_finite_and_close_to_fp32(model: Llama) -> None:
    model.train()
    tokens = torch.randint(0, 300, (2, 32))
    fp32 = model(tokens, targets=tokens).loss
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16 = model(tokens, targets=tokens).loss
    bf16.backward()
    assert torch.isfinite(bf16) and abs(bf16.item() - fp32.item()) < 1e-2
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_fp32_rope_is_100x_more_accurate_than_bf16_at_position_4096() -> None:
    from ziya2lab.model.rope_precision import rotation_errors

    errors = rotation_errors(4097).set_index("position")
    assert errors.loc[4096, "bf16_rope"] >= 100 * errors.loc[4096, "fp32_rope"]


@pytest.mark.parametrize(("preset", "published"), [("llama2_7b", 6_738_415_616), ("llama2_13b", 13_015_864_320),
                                                   ("ziya2_13b", 13_015_864_320 + 2 * 7424 * 5120)])
def test_large_presets_match_published_sizes_on_the_meta_device(preset: str, published: int) -> None:
    from omegaconf import OmegaConf

    values = OmegaConf.to_container(OmegaConf.load(Path(__file__).parents[2] / "conf" / "model" / f"{preset}.yaml"))
    with torch.device("meta"):
        model = Llama(LlamaConfig(**values))
    assert sum(p.numel() for p in model.parameters()) == published == count_parameters(model.config, True)


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


@pytest.mark.parametrize("preset", sorted(p.stem for p in Path(__file__).parents[2].glob("conf/model/llama_*.yaml")))
def test_parameter_count_is_exact(preset: str) -> None:
    from omegaconf import OmegaConf

    values = OmegaConf.to_container(OmegaConf.load(Path(__file__).parents[2] / "conf" / "model" / f"{preset}.yaml"))
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


def test_casting_the_model_to_bf16_keeps_the_rope_frequencies_in_fp32(model: Llama) -> None:
    """``model.to(bfloat16)`` would round the inverse frequencies; the FP32 RoPE policy needs them exact."""
    exact = model.rotary.inv_freq.clone()
    model.to(torch.bfloat16)
    assert model.rotary.inv_freq.dtype == torch.float32
    assert torch.equal(model.rotary.inv_freq, exact)
    assert model.lm_head.weight.dtype == torch.bfloat16, "the weights themselves are cast"
