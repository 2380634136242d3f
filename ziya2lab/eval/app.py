"""Downstream evaluation's command line, ``python -m ziya2lab.eval <overrides>``: the Hydra app of
``conf/evaluate.yaml``. Evaluates a checkpoint with lm-evaluation-harness, offline, writes ``eval.json`` and prints
a table.

    python -m ziya2lab.eval checkpoint=<run dir>       # every generated task -> <run dir>/eval.json
    python -m ziya2lab.eval checkpoint=<run dir> tasks=[ziya2lab_bpb_zh_news,ziya2lab_mc_zh_news_cloze]
    python -m ziya2lab.eval checkpoint=<run dir> eval=ziya2_benchmarks harness.device=cuda   # the paper's six
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig, OmegaConf

from ziya2lab.common.paths import config_dir
from ziya2lab.eval.config import EvaluateAppConfig  # importing it registers the schema, evaluate_schema
from ziya2lab.eval.harness import evaluate_app
from ziya2lab.eval.metrics import format_table


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="evaluate")
def main(cfg: DictConfig) -> None:
    app: EvaluateAppConfig = OmegaConf.to_object(cfg)
    record, output = evaluate_app(app)
    print(format_table(record))
    print(f"{record['checkpoint']} (max_length {record['harness']['max_length']}, prefix "
          f"{record['harness']['prefix_token']}) -> {output}")
