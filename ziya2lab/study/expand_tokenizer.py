"""The tokenizer-expansion app, ``python -m ziya2lab.study.expand_tokenizer <overrides>`` (``conf/expand_tokenizer.yaml``):
LLaMA-2's vocabulary expanded with frequent Chinese characters (Ziya2 §4), its efficiency before and after, and the
initialisation experiment. It lives beside ``tokenizer_expansion`` because that experiment trains with the trainer.
"""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from ziya2lab.common.paths import config_dir
from ziya2lab.study.tokenizer_expansion import run_expand_tokenizer
from ziya2lab.tokenizer.config import ExpandTokenizerConfig
from ziya2lab.tokenizer.expand_pipeline import REPORT_FILE, format_report_table


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="expand_tokenizer")
def main(config: DictConfig) -> None:
    cfg: ExpandTokenizerConfig = OmegaConf.to_object(config)  # type: ignore[assignment]
    output_dir = cfg.output_dir or HydraConfig.get().runtime.output_dir
    report = run_expand_tokenizer(cfg, output_dir)
    print(format_report_table(report))
    print(f"report: {output_dir}/{REPORT_FILE}; tokenizer: {report['tokenizer_dir']}")


if __name__ == "__main__":
    main()
