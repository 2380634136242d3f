"""Atomic, resumable checkpoints: ``checkpoints/step_XXXXXXXX/`` appears complete or not at all.

Each checkpoint is accelerate's state (model, optimizer, every rank's RNG states; sharded under FSDP/DeepSpeed)
plus ``trainer_state.json`` (step, tokens, sampler position, guard, wandb id, ...). It is written into a
temporary sibling, fsynced and renamed, so a kill at any instant leaves the previous checkpoint loadable; a stale
temporary directory from such a kill is ignored and later removed.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from pathlib import Path

import torch.distributed as dist
from accelerate import Accelerator

from ziya2lab.common.atomic import atomic_directory

STATE_FILE = "trainer_state.json"
_NAME = re.compile(r"^step_(\d{8})$")


def checkpoint_path(root: Path, step: int) -> Path:
    return root / f"step_{step:08d}"


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    if not root.is_dir():
        return []
    found = [path for path in root.iterdir() if _NAME.match(path.name) and (path / STATE_FILE).is_file()]
    return sorted(found, key=lambda path: path.name)


def latest_checkpoint(root: Path) -> Path | None:
    found = list_checkpoints(root)
    return found[-1] if found else None


def remove_stale_temporaries(root: Path) -> None:
    """Delete half-written checkpoints left by a kill during a save (main process only)."""
    if root.is_dir():
        for path in root.iterdir():
            if path.name.startswith(".step_") and path.name.endswith(".tmp"):
                shutil.rmtree(path, ignore_errors=True)


def _remove(path: Path) -> None:
    """Unpublish a checkpoint by one atomic rename before deleting it, so a kill mid-delete leaves no torn
    ``step_*`` directory that would look complete (it leaves a temporary that the next run removes)."""
    doomed = path.with_name(f".{path.name}.pruned.tmp")
    path.rename(doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _broadcast(value: object, accelerator: Accelerator) -> object:
    if accelerator.num_processes == 1:
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def save_checkpoint(
    accelerator: Accelerator, root: Path, step: int, trainer_state: dict, keep: int, protected: set[int]
) -> Path:
    """Write the checkpoint of ``step`` (a no-op if it exists), then prune to the newest ``keep``.

    ``protected`` steps (WSD branch points) survive pruning, so their cooldowns can be rerun or extended later.
    """
    target = checkpoint_path(root, step)
    if target.exists():
        return target
    with contextlib.ExitStack() as stack:
        staging = stack.enter_context(atomic_directory(target)) if accelerator.is_main_process else None
        staging = Path(str(_broadcast(str(staging), accelerator)))
        accelerator.save_state(str(staging))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            (staging / STATE_FILE).write_text(json.dumps(trainer_state, indent=1) + "\n")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        complete = list_checkpoints(root)
        removable = [path for path in complete if int(_NAME.match(path.name).group(1)) not in protected]
        for path in removable[: max(0, len(removable) - keep)]:
            _remove(path)
    accelerator.wait_for_everyone()
    return target


def load_checkpoint(accelerator: Accelerator, path: Path) -> dict:
    """Restore model, optimizer and RNG states from ``path``; return its trainer state."""
    if not (path / STATE_FILE).is_file():
        raise FileNotFoundError(f"{path} is not a complete checkpoint (no {STATE_FILE})")
    accelerator.load_state(str(path))
    return json.loads((path / STATE_FILE).read_text())
