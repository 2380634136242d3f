"""Validate the CH/RA/SIM raters on controlled families built from the embedded real corpus.

    python experiments/validate_raters.py                       # 300 en + 300 zh documents, levels 0.1/0.3/0.6
    python experiments/validate_raters.py docs_per_language=600 levels.levels=[0.05,0.1,0.2,0.4,0.8]

Writes validation.md (dose-response, cross-talk, per-document flag precision/recall), cross_talk.png and
validation.json into the run directory.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from ziya2lab.attributes.config import ValidateRatersAppConfig
from ziya2lab.attributes.rate import read_corpus
from ziya2lab.attributes.validation import real_documents, validate_raters, write_validation
from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.common.paths import cache_dir
from ziya2lab.eval.heldout import load_test_sets, pool_path


@hydra.main(version_base="1.3", config_path="../conf", config_name="validate_raters")
def main(cfg: DictConfig) -> None:
    app: ValidateRatersAppConfig = OmegaConf.to_object(cfg)
    out = Path(app.output_dir)
    base = read_corpus(app.corpus)[0] if app.corpus else real_documents(app.sources, app.docs_per_language)
    test_sets = load_test_sets(app.test_sets, app.test_sets_dir or cache_dir("test_sets"))
    result = validate_raters(
        base, app.levels, app.attributes,
        {name: [doc["text"] for doc in read_jsonl(path)] for name, path in test_sets.items()},
        {name: read_jsonl(pool_path(path)) for name, path in test_sets.items()},
        out,
    )
    print(write_validation(result, out).read_text())


if __name__ == "__main__":
    main()
