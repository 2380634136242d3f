"""Validate the CH/RA/SIM raters: held-out corruption families and a hand-labelled gold set (the headline), then the
development families the raters were tuned on.

    python experiments/validate_raters.py                       # 300 en + 300 zh documents per document set
    python experiments/validate_raters.py docs_per_language=600 levels.CH=[0.05,0.2,0.8] levels.RA=[0.05,0.2,0.8]
    python experiments/validate_raters.py heldout_docs_per_language=0 gold_path=   # development levels only
    python experiments/validate_raters.py operator_sets=[development,first_heldout]  # leave the headline set out

Writes validation.md (held-out precision/recall per family and language, the issue's dose check, gold κ, then
the development dose-response, cross-talk and flag tables), cross_talk.png and validation.json into the run
directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from ziya2lab.attributes.config import MOVED_LEVEL_KEYS, ValidateRatersAppConfig
from ziya2lab.attributes.document_sets import set_documents
from ziya2lab.attributes.heldout_validation import family_documents, gold_agreement, validate_families
from ziya2lab.attributes.rate import read_corpus
from ziya2lab.attributes.validation import validate_raters, write_validation
from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.common.moved_keys import refuse_moved_keys
from ziya2lab.common.paths import cache_dir, repo_root
from ziya2lab.eval.heldout import load_test_sets, pool_path


@hydra.main(version_base="1.3", config_path="../conf", config_name="validate_raters")
def main(cfg: DictConfig) -> None:
    app: ValidateRatersAppConfig = OmegaConf.to_object(cfg)
    out = Path(app.output_dir)
    families = gold = None
    if app.heldout_docs_per_language > 0 and app.operator_sets:
        documents = family_documents(app.heldout_sources, app.heldout_docs_per_language, app.operator_sets)
        families = validate_families(documents, app.operator_sets, app.attributes, app.seed)
    if app.gold_path:
        gold_path = Path(app.gold_path) if Path(app.gold_path).is_absolute() else repo_root() / app.gold_path
        gold = gold_agreement(read_jsonl(gold_path), app.attributes)
    base = read_corpus(app.corpus)[0] if app.corpus else set_documents(app.sources, app.docs_per_language, "development")
    test_sets = load_test_sets(app.test_sets, app.test_sets_dir or cache_dir("test_sets"))
    result = validate_raters(
        base, app.levels, app.attributes,
        {name: [doc["text"] for doc in read_jsonl(path)] for name, path in test_sets.items()},
        {name: read_jsonl(pool_path(path)) for name, path in test_sets.items()},
        out,
        app.seed,
    )
    print(write_validation(result, out, families, gold).read_text())


if __name__ == "__main__":
    refuse_moved_keys(sys.argv[1:], MOVED_LEVEL_KEYS)
    main()
