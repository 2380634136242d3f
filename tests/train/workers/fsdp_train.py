"""Launched by torchrun from tests/test_train_distributed.py: a few AdamW steps of ziya2lab's Llama under FSDP2.

Every rank builds the same model from the same seed, shards each decoder block and then the root with
``fully_shard`` over a gloo mesh, and trains on its half of a fixed global batch. Rank 0 writes the global loss
per step, the local and full shapes of one sharded parameter, and the gathered full state dict, so the test can
compare them with one process training on the whole batch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

from ziya2lab.model.llama import Llama, LlamaConfig

CONFIG = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                     num_attention_heads=4, max_position_embeddings=64)
GLOBAL_BATCH, SEQ_LEN, STEPS = 4, 32, 4


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    tokens = torch.randint(0, CONFIG.vocab_size, (GLOBAL_BATCH, SEQ_LEN + 1), generator=torch.Generator().manual_seed(1))
    return tokens[:, :-1], tokens[:, 1:]


def train(model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, world_size: int) -> list[float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.95), weight_decay=0.1)
    losses = []
    for _ in range(STEPS):
        loss = model(inputs, targets=targets).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        global_loss = loss.detach().clone()
        if world_size > 1:
            dist.all_reduce(global_loss, op=dist.ReduceOp.AVG)
        losses.append(global_loss.item())
    return losses


def main(output: Path) -> None:
    dist.init_process_group("gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    model = Llama(CONFIG)
    mesh = init_device_mesh("cpu", (world_size,))
    for layer in model.layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    inputs, targets = batch()
    rows = slice(rank * GLOBAL_BATCH // world_size, (rank + 1) * GLOBAL_BATCH // world_size)
    losses = train(model, inputs[rows], targets[rows], world_size)
    weight = model.embed_tokens.weight
    full_state = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if rank == 0:
        torch.save(full_state, output.with_suffix(".pt"))
        output.write_text(json.dumps({"losses": losses, "world_size": world_size,
                                      "local_shape": list(weight.to_local().shape), "full_shape": list(weight.shape)}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
