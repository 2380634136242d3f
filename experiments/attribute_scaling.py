"""The data-centric scaling study end to end (the README's main job): real text → factory → a base model per size
→ continual pre-training on every attribute-level corpus and both controls, two seeds → results.parquet → Ziya2 and
joint fits with bootstrap intervals, held-out error and bound tests → conclusions.json → report.md (docs/STUDY.md).

    python experiments/attribute_scaling.py                  # default: sized for <= 20 min on 2 CPU cores
    python experiments/attribute_scaling.py study=mini       # ~2-3 min, what the end-to-end test runs
    python experiments/attribute_scaling.py study=full       # a GPU node, on your own crawl
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from ziya2lab.common.paths import config_dir
from ziya2lab.study.config import refuse_moved_keys  # importing the config registers attribute_scaling_schema
from ziya2lab.study.study import run_study


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="attribute_scaling")
def main(cfg: DictConfig) -> None:
    result = run_study(cfg)
    print(f"results: {result.results}\nreport:  {result.report}")
    if result.failed_runs:
        print(f"{len(result.failed_runs)} runs failed: " + ", ".join(result.failed_runs), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    refuse_moved_keys(sys.argv[1:])
    main()
