"""Expand the LLaMA-2 tokenizer with frequent Chinese characters (Ziya2 §4) and report before/after efficiency."""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from ziya2lab.study.tokenizer_expansion import run_expand_tokenizer
from ziya2lab.tokenizer.config import ExpandTokenizerConfig
from ziya2lab.tokenizer.expand_pipeline import REPORT_FILE, format_report_table


@hydra.main(version_base="1.3", config_path="../conf", config_name="expand_tokenizer")
def main(config: DictConfig) -> None:
    cfg: ExpandTokenizerConfig = OmegaConf.to_object(config)  # type: ignore[assignment]
    output_dir = cfg.output_dir or HydraConfig.get().runtime.output_dir
    report = run_expand_tokenizer(cfg, output_dir)
    print(format_report_table(report))
    print(f"report: {output_dir}/{REPORT_FILE}; tokenizer: {report['tokenizer_dir']}")


if __name__ == "__main__":
    main()
