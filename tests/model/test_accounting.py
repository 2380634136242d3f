"""The training-memory estimate against what autograd actually keeps, counted on CPU with saved-tensor hooks."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from ziya2lab.model.accounting import MEMORY_REGIMES, count_parameters, training_memory_bytes
from ziya2lab.model.llama import Llama, LlamaConfig

CONFIG = LlamaConfig(
    vocab_size=384, hidden_size=96, intermediate_size=256, num_hidden_layers=3, num_attention_heads=4,
    max_position_embeddings=256,
)  # fmt: skip
SEQ, BATCH = 96, 2


def saved_tensor_bytes(config: LlamaConfig, regime: str) -> int:
    """Bytes of the distinct non-parameter storages autograd saves during one forward + loss."""
    torch.manual_seed(0)
    model = Llama(config)
    if regime == "bf16":
        model.to(torch.bfloat16)
    parameter_storages = {parameter.untyped_storage().data_ptr() for parameter in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameter_storages:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    tokens = torch.randint(0, config.vocab_size, (BATCH, SEQ))
    with (
        torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor),
        torch.autocast("cpu", dtype=torch.bfloat16, enabled=regime == "amp_bf16"),
    ):
        model(tokens, targets=tokens)
    return sum(saved.values())


@pytest.mark.parametrize(
    ("regime", "backend", "fp32_flags"),
    [
        ("fp32", "sdpa", True),
        ("amp_bf16", "sdpa", True),
        ("amp_bf16", "eager", True),  # not fp32_softmax=False: CPU autocast keeps softmax in bf16, CUDA's does not
        ("bf16", "sdpa", True),
        ("bf16", "sdpa", False),
        ("bf16", "eager", True),
        ("bf16", "eager", False),
    ],
)
def test_memory_estimate_matches_what_autograd_saves(regime: str, backend: str, fp32_flags: bool) -> None:
    config = replace(
        CONFIG, attn_backend=backend, fp32_rope=fp32_flags, fp32_rmsnorm=fp32_flags, fp32_softmax=fp32_flags
    )
    estimate = training_memory_bytes(config, SEQ, BATCH, regime)
    activation_bytes = MEMORY_REGIMES[regime][2]
    transient_logits = BATCH * SEQ * config.vocab_size * (activation_bytes + 4)  # alive at the loss, never saved
    expected = estimate["activations"] + estimate["autocast_weight_copies"] + estimate["loss_head"] - transient_logits
    assert saved_tensor_bytes(config, regime) == pytest.approx(expected, rel=0.05)


def test_memory_estimate_states_and_regimes() -> None:
    estimate = training_memory_bytes(CONFIG, SEQ, BATCH, "amp_bf16")
    parameters = count_parameters(CONFIG, include_embeddings=True)
    assert estimate["weights"] == estimate["gradients"] == 4 * parameters
    assert estimate["adamw_moments"] == 8 * parameters
    assert training_memory_bytes(CONFIG, SEQ, BATCH, "bf16")["adamw_moments"] == 4 * parameters
    with pytest.raises(ValueError, match="regime='fp16'"):
        training_memory_bytes(CONFIG, SEQ, BATCH, "fp16")
