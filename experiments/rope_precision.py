"""RoPE precision under bf16: FP32 policy vs plain bf16, error against float64 by position (table + PNG).

    python experiments/rope_precision.py                      # positions 0..4095
    python experiments/rope_precision.py max_position=32768
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from ziya2lab.model.rope_precision import plot_errors, rotation_errors, summarise


@hydra.main(version_base="1.3", config_path="../conf", config_name="rope_precision")
def main(cfg: DictConfig) -> None:
    out = Path(HydraConfig.get().runtime.output_dir)
    errors = rotation_errors(cfg.max_position, cfg.head_dim)
    table = summarise(errors, list(cfg.report_positions))
    table.to_csv(out / "rope_errors.csv", index=False)
    print(table.to_markdown(index=False, floatfmt=".3g"))
    print(f"figure: {plot_errors(errors, out / 'rope_errors.png')}")


if __name__ == "__main__":
    main()
