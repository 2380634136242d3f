"""LLaMA-2 in one file: RMSNorm, SwiGLU, rotary embeddings, grouped-query attention, untied embeddings.

Ziya2's stability fixes are config flags, all on by default, because bf16 breaks each of these three places:
- ``fp32_rope``: the rotary angles, cos/sin and the rotation itself are computed in FP32 and cast back. In bf16,
  position × frequency loses its low bits beyond a few thousand positions, so distant positions share an angle.
- ``fp32_rmsnorm``: the mean of squares is accumulated in FP32 (a bf16 sum of 5,120 squares is coarse).
- ``fp32_softmax``: attention logits are normalised in FP32 (``eager``; ``sdpa`` kernels accumulate in FP32).
Under bf16 autocast the weights and matmuls stay bf16; only these reductions are promoted.

Shapes: B batch, T sequence, C hidden, H query heads, K key/value heads, D head dim, V vocabulary.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

ATTENTION_BACKENDS = ("sdpa", "eager", "xformers")


@dataclass
class LlamaConfig:
    """Hugging Face ``LlamaConfig`` field names, so ``config.json`` round-trips with ``transformers``."""

    vocab_size: int = 32000
    hidden_size: int = 4096
    intermediate_size: int = 11008
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int | None = None  # None = num_attention_heads (no grouping)
    max_position_embeddings: int = 4096
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = False
    initializer_range: float = 0.02
    bos_token_id: int = 1
    eos_token_id: int = 2
    pad_token_id: int | None = None
    attn_backend: str = "sdpa"
    fp32_rope: bool = True
    fp32_rmsnorm: bool = True
    fp32_softmax: bool = True
    activation_checkpointing: bool = False

    def __post_init__(self) -> None:
        if self.attn_backend not in ATTENTION_BACKENDS:
            raise ValueError(f"model.attn_backend={self.attn_backend!r}: choose one of {ATTENTION_BACKENDS}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"model.hidden_size={self.hidden_size} is not divisible by num_attention_heads={self.num_attention_heads}"
            )
        if self.num_attention_heads % self.kv_heads:
            raise ValueError(
                f"model.num_attention_heads={self.num_attention_heads} is not a multiple of "
                f"num_key_value_heads={self.kv_heads}"
            )

    @property
    def kv_heads(self) -> int:
        return self.num_key_value_heads or self.num_attention_heads

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def to_hf_dict(self) -> dict:
        """``config.json`` as ``transformers.LlamaConfig`` writes it, plus our flags (which it ignores)."""
        return {
            **asdict(self),
            "num_key_value_heads": self.kv_heads,
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_act": "silu",
            "torch_dtype": "float32",
            "attention_bias": False,
            "mlp_bias": False,
        }

    @classmethod
    def from_hf_dict(cls, values: dict) -> LlamaConfig:
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


class RMSNorm(nn.Module):
    def __init__(self, size: int, eps: float, fp32: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps
        self.fp32 = fp32

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., C)
        dtype = x.dtype
        hidden = x.float() if self.fp32 else x
        hidden = hidden * torch.rsqrt(hidden.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * hidden.to(dtype)


class RotaryEmbedding(nn.Module):
    """cos/sin tables for positions 0..T-1; the inverse frequencies are an FP32 buffer, never cast with the model."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.head_dim, self.theta = config.head_dim, config.rope_theta
        self.register_buffer("inv_freq", self._fp32_inv_freq(torch.device("cpu")), persistent=False)
        self.fp32 = config.fp32_rope

    def _fp32_inv_freq(self, device: torch.device) -> torch.Tensor:
        exponents = torch.arange(0, self.head_dim, 2, dtype=torch.float32, device=device) / self.head_dim  # (D/2,)
        return 1.0 / (self.theta**exponents)

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> RotaryEmbedding:
        """``model.to(torch.bfloat16)`` casts every buffer; the frequencies are recomputed in FP32 on the new device,
        so the FP32 RoPE policy never starts from rounded frequencies."""
        super()._apply(fn, recurse)
        self.inv_freq = self._fp32_inv_freq(self.inv_freq.device)
        return self

    def forward(self, seq_len: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        compute_dtype = torch.float32 if self.fp32 else dtype
        positions = torch.arange(seq_len, device=device, dtype=torch.float32).to(compute_dtype)
        with torch.autocast(device_type=device.type, enabled=False):
            angles = torch.outer(positions, self.inv_freq.to(device=device, dtype=compute_dtype))  # (T, D/2)
            angles = torch.cat((angles, angles), dim=-1)  # (T, D), HF's half-split layout
            return angles.cos(), angles.sin()


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate (B, heads, T, D) by the tables' dtype (FP32 under ``fp32_rope``), then cast back to ``x``'s dtype."""
    rotated = x.to(cos.dtype) * cos + _rotate_half(x.to(cos.dtype)) * sin
    return rotated.to(x.dtype)


class Attention(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.q_proj = nn.Linear(config.hidden_size, config.num_attention_heads * config.head_dim, bias=False)
        self.k_proj = nn.Linear(config.hidden_size, config.kv_heads * config.head_dim, bias=False)
        self.v_proj = nn.Linear(config.hidden_size, config.kv_heads * config.head_dim, bias=False)
        self.o_proj = nn.Linear(config.num_attention_heads * config.head_dim, config.hidden_size, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        B, T, _ = x.shape
        H, K, D = self.config.num_attention_heads, self.config.kv_heads, self.config.head_dim
        q = self.q_proj(x).view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(B, T, K, D).transpose(1, 2)  # (B, K, T, D)
        v = self.v_proj(x).view(B, T, K, D).transpose(1, 2)  # (B, K, T, D)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if K != H:  # grouped-query attention: each key/value head serves H/K query heads
            k = k.repeat_interleave(H // K, dim=1)  # (B, H, T, D)
            v = v.repeat_interleave(H // K, dim=1)
        backend = self.config.attn_backend
        if backend == "eager":
            y = self._eager(q, k, v, mask)
        elif backend == "xformers":
            y = self._xformers(q, k, v, mask)
        elif mask is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, H * D))  # (B, T, C)

    def _eager(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The reference: explicit scores, FP32 softmax under ``fp32_softmax``."""
        T = q.shape[-2]
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])  # (B, H, T, T)
        if mask is None:
            mask = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~mask, float("-inf"))
        probs = F.softmax(scores.float() if self.config.fp32_softmax else scores, dim=-1).to(v.dtype)
        return probs @ v  # (B, H, T, D)

    def _xformers(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        try:
            import xformers.ops as xops
        except ImportError as error:
            raise ImportError(
                "model.attn_backend=xformers needs xformers: pip install 'ziya2lab[gpu]' (CUDA only; "
                "use attn_backend=sdpa on CPU)"
            ) from error
        if q.device.type != "cuda":
            raise RuntimeError("model.attn_backend=xformers has no CPU kernels; use attn_backend=sdpa on CPU")
        bias = xops.LowerTriangularMask() if mask is None else mask.to(q.dtype).log()
        y = xops.memory_efficient_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_bias=bias)
        return y.transpose(1, 2)


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    """Pre-norm transformer block; the unit FSDP wraps and activation checkpointing recomputes."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps, config.fp32_rmsnorm)
        self.self_attn = Attention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps, config.fp32_rmsnorm)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


@dataclass
class LlamaOutput:
    logits: torch.Tensor  # (B, T, V)
    loss: torch.Tensor | None = None


def document_mask(document_ids: torch.Tensor) -> torch.Tensor:
    """(B, 1, T, T) boolean: causal, and a position sees only earlier positions of its own document."""
    T = document_ids.shape[-1]
    causal = torch.ones(T, T, dtype=torch.bool, device=document_ids.device).tril()
    same_document = document_ids[:, :, None] == document_ids[:, None, :]  # (B, T, T)
    return (causal & same_document)[:, None]


class Llama(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(LlamaBlock(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps, config.fp32_rmsnorm)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.rotary = RotaryEmbedding(config)
        self.apply(self._init_weights)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.embed_tokens.weight

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)

    def forward(
        self,
        input_ids: torch.Tensor,  # (B, T)
        document_ids: torch.Tensor | None = None,  # (B, T): packed documents cannot see each other
        targets: torch.Tensor | None = None,  # (B, T), aligned: targets[:, t] is predicted at t; -100 = ignore
    ) -> LlamaOutput:
        T = input_ids.shape[1]
        x = self.embed_tokens(input_ids)  # (B, T, C)
        compute_dtype = torch.get_autocast_dtype(x.device.type) if torch.is_autocast_enabled(x.device.type) else x.dtype
        cos, sin = self.rotary(T, x.device, compute_dtype)  # (T, D) each
        mask = document_mask(document_ids) if document_ids is not None else None
        for layer in self.layers:
            if self.config.activation_checkpointing and self.training:
                x = checkpoint(layer, x, cos, sin, mask, use_reentrant=False)
            else:
                x = layer(x, cos, sin, mask)
        logits = self.lm_head(self.norm(x))  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=-100)
        return LlamaOutput(logits=logits, loss=loss)

    # ------------------------------------------------------------------ Hugging Face checkpoint compatibility
    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        """Parameter names as ``transformers.LlamaForCausalLM`` has them (``model.`` prefix but for ``lm_head``)."""
        state = {}
        for name, tensor in self.state_dict().items():
            if name.startswith("rotary."):
                continue
            state[name if name.startswith("lm_head.") else f"model.{name}"] = tensor
        if self.config.tie_word_embeddings:
            state.pop("lm_head.weight", None)
        return state

    def save_pretrained(self, directory: str | Path) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps(self.config.to_hf_dict(), indent=2))
        tensors = {name: tensor.detach().contiguous() for name, tensor in self.hf_state_dict().items()}
        save_file(tensors, directory / "model.safetensors", metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, directory: str | Path, **overrides: object) -> Llama:
        """Any local HF LLaMA checkpoint: one safetensors file, a sharded index, or ``pytorch_model.bin``."""
        from safetensors.torch import load_file

        directory = Path(directory)
        config = LlamaConfig.from_hf_dict({**json.loads((directory / "config.json").read_text()), **overrides})
        index = directory / "model.safetensors.index.json"
        if index.exists():
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            state: dict[str, torch.Tensor] = {}
            for shard in shards:
                state.update(load_file(directory / shard))
        elif (directory / "model.safetensors").exists():
            state = load_file(directory / "model.safetensors")
        elif (directory / "pytorch_model.bin").exists():
            state = torch.load(directory / "pytorch_model.bin", map_location="cpu", weights_only=True)
        else:
            raise FileNotFoundError(f"{directory} holds no model.safetensors, shard index or pytorch_model.bin")
        model = cls(config)
        ours = {
            (name if name.startswith("lm_head.") else name.removeprefix("model.")): tensor
            for name, tensor in state.items()
            if "rotary_emb" not in name
        }
        if config.tie_word_embeddings:
            ours.setdefault("lm_head.weight", ours["embed_tokens.weight"])
        missing, unexpected = model.load_state_dict(ours, strict=False)
        missing = [name for name in missing if not name.startswith("rotary.")]
        if missing or unexpected:
            raise ValueError(f"{directory}: checkpoint does not match the config: missing {missing}, unexpected {unexpected}")
        return model

    # ------------------------------------------------------------------ vocabulary expansion (Ziya2 §4)
    @torch.no_grad()
    def resize_token_embeddings(
        self,
        new_vocab_size: int,
        source_ids: Sequence[Sequence[int]] | None = None,
        source_weights: Sequence[Sequence[float]] | None = None,
    ) -> None:
        """Grow both embeddings; new row i = (weighted) mean of ``source_ids[i]``'s rows, else the normal init.

        Ziya2 initialises a new Chinese token from the old tokens that spell it, so the expanded model starts
        where the old one was rather than at random on every new token.
        """
        old_vocab = self.config.vocab_size
        if new_vocab_size < old_vocab:
            raise ValueError(f"new_vocab_size={new_vocab_size} is below the current {old_vocab}; shrinking loses rows")
        added = new_vocab_size - old_vocab
        if source_ids is not None and len(source_ids) > added:
            raise ValueError(f"{len(source_ids)} source lists for {added} new tokens")
        for module_name in ("embed_tokens", "lm_head"):
            if module_name == "lm_head" and self.config.tie_word_embeddings:
                continue
            old_weight = getattr(self, module_name).weight
            new_weight = old_weight.new_empty(new_vocab_size, old_weight.shape[1])
            new_weight[:old_vocab] = old_weight
            nn.init.normal_(new_weight[old_vocab:], mean=0.0, std=self.config.initializer_range)
            for offset, sources in enumerate(source_ids or []):
                if not sources:
                    continue
                weights = torch.tensor(
                    source_weights[offset] if source_weights is not None else [1.0] * len(sources),
                    dtype=torch.float32,
                )
                rows = old_weight[list(sources)].float()
                new_weight[old_vocab + offset] = ((weights[:, None] * rows).sum(0) / weights.sum()).to(new_weight.dtype)
            if module_name == "embed_tokens":
                self.embed_tokens = nn.Embedding.from_pretrained(new_weight, freeze=False)
            else:
                self.lm_head = nn.Linear(new_weight.shape[1], new_vocab_size, bias=False, device=new_weight.device)
                self.lm_head.weight = nn.Parameter(new_weight)
        if self.config.tie_word_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        self.config.vocab_size = new_vocab_size
