"""Train a LLaMA with the ziya2lab trainer; the run directory is Hydra's (``hydra.run.dir=...``).

    python experiments/train.py                                   # smallest model, packaged corpus, ~1 min on CPU
    python experiments/train.py model=llama_10m train.max_tokens=2000000 train.schedule=wsd
    ACCELERATE_USE_CPU=1 torchrun --standalone --nproc_per_node 2 experiments/train.py   # 2-process DDP, CPU
"""

from __future__ import annotations

import os

import hydra
from omegaconf import DictConfig

import ziya2lab.train.config  # noqa: F401  (registers train_schema)
from ziya2lab.train import run_training


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> None:
    summary = run_training(cfg)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"{summary['status']}: {summary['steps']} steps, {summary['tokens']} tokens -> {cfg.output_dir}")
        for name, loss in summary["eval"].items():
            print(f"  eval/{name}: {loss:.4f}")


if __name__ == "__main__":
    main()
