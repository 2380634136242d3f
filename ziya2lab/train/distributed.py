"""Build the ``Accelerator`` and refuse launches that silently differ from what the config asks for.

``accelerate launch --cpu --num_processes 2`` starts ONE process, and plain ``torchrun`` without
``ACCELERATE_USE_CPU=1`` on a GPU-less host gives each rank an independent single-process run; both look like
training. The trainer therefore asserts that accelerate sees ``WORLD_SIZE`` processes, and that a preset naming
FSDP/DeepSpeed was actually launched with it.
"""

from __future__ import annotations

import os

import torch
from accelerate import Accelerator

from ziya2lab.train.config import AccelerateConfig, Precision

LAUNCH_HINT = (
    "launch CPU data parallelism with `ACCELERATE_USE_CPU=1 torchrun --nproc_per_node N -m ziya2lab.train ...` "
    "and GPU runs with `accelerate launch --config_file conf/accelerate/<preset>.yaml -m ziya2lab.train "
    "accelerate=<preset> ...` (see docs/TRAINING.md)"
)


def make_accelerator(precision: Precision, launch: AccelerateConfig) -> Accelerator:
    accelerator = Accelerator(
        mixed_precision="bf16" if precision is Precision.bf16 else "no",
        cpu=not torch.cuda.is_available(),
    )
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if accelerator.num_processes != world_size:
        raise RuntimeError(
            f"accelerate sees {accelerator.num_processes} process(es) but WORLD_SIZE={world_size}: every rank "
            f"would train alone. {LAUNCH_HINT}"
        )
    if launch.distributed_type is not None:
        launched = accelerator.distributed_type.value
        equivalent = {launch.distributed_type, *(("MULTI_CPU",) if launch.distributed_type == "MULTI_GPU" else ())}
        if launched not in equivalent and not (launch.distributed_type == "NO" and accelerator.num_processes == 1):
            raise RuntimeError(
                f"accelerate.distributed_type={launch.distributed_type} but this process was launched as "
                f"{launched}. {LAUNCH_HINT}"
            )
    return accelerator


def default_threads(accelerator: Accelerator) -> int:
    """Cores per local process, so N processes on one host do not oversubscribe it."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", accelerator.num_processes if accelerator.num_processes else 1))
    return max(1, (os.cpu_count() or 1) // max(1, local))
