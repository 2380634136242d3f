"""Run the five-step data factory (preprocess, score, filter, de-duplicate, evaluate) on the embedded corpus.

    python experiments/build_data.py                                  # ~5 MB of real en/zh text, ~30 s
    python experiments/build_data.py factory=tiny
    python experiments/build_data.py factory=cluster 'factory.input.paths=[/data/crawl/*.jsonl.zst]'
"""

from __future__ import annotations

import json

import hydra
from omegaconf import DictConfig, OmegaConf

import ziya2lab.data.config  # noqa: F401  (registers build_data_schema)
from ziya2lab.data.factory import run_factory


@hydra.main(version_base="1.3", config_path="../conf", config_name="build_data")
def main(cfg: DictConfig) -> None:
    result = run_factory(OmegaConf.to_object(cfg.factory), cfg.output_dir)
    print(json.dumps({key: result.stats[key] for key in ("read", "kept", "removed", "by_language")}, indent=1))
    print(f"clean corpus -> {result.corpus_path}")


if __name__ == "__main__":
    main()
