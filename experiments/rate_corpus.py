"""Rate one corpus on coherence, readability and similarity; print a table and write attributes.json.

    python experiments/rate_corpus.py corpus=data/corpus.jsonl
    python experiments/rate_corpus.py corpus=outputs/build_data/tiny      # a factory output: its clean/ shards only
    python experiments/rate_corpus.py corpus=out/corpus/ raters=[similarity] test_sets=[en_prose,code]
    python experiments/rate_corpus.py corpus=c.parquet attributes/coherence=human   # exports a labelling sheet
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from ziya2lab.attributes import SimilarityRater, rate_corpus
from ziya2lab.attributes.config import RateCorpusAppConfig
from ziya2lab.attributes.rate import read_corpus
from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.common.paths import cache_dir
from ziya2lab.common.run_dir import CORPUS_ATTRIBUTES_FILE
from ziya2lab.eval.heldout import load_test_sets


@hydra.main(version_base="1.3", config_path="../conf", config_name="rate_corpus")
def main(cfg: DictConfig) -> None:
    app: RateCorpusAppConfig = OmegaConf.to_object(cfg)
    out = Path(app.output_dir)
    documents, malformed = read_corpus(app.corpus)  # first: a bad path fails before any test set is built
    similarity = None
    if "similarity" in app.raters:
        test_sets = load_test_sets(app.test_sets, app.test_sets_dir or cache_dir("test_sets"))
        similarity = SimilarityRater({name: [doc["text"] for doc in read_jsonl(path)] for name, path in test_sets.items()},
                                     app.attributes.similarity)
    ratings = rate_corpus(documents, app.attributes, similarity, app.raters, sheet_dir=out)
    record = {**ratings, "corpus": app.corpus, "n_documents": len(documents), "n_malformed": len(malformed),
              "backends": {name: getattr(app.attributes, name).backend for name in app.raters}}
    atomic_write_json(out / CORPUS_ATTRIBUTES_FILE, record)
    rows = [{"attribute": name, "value": ratings[name]} for name in ("coherence", "readability") if name in ratings]
    rows += [{"attribute": f"similarity:{name}", "value": value} for name, value in ratings.get("similarity", {}).items()]
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4f"))
    print(f"{ratings['n_rated']} of {len(documents)} documents rated ({len(malformed)} malformed skipped) -> "
          f"{out / CORPUS_ATTRIBUTES_FILE}")
    print(json.dumps(record, ensure_ascii=False))


if __name__ == "__main__":
    main()
