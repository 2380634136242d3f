"""Run the five-step data factory (preprocess, score, filter, de-duplicate, evaluate).

    python experiments/build_data.py                                          # the embedded en/zh corpus + noise
    python experiments/build_data.py factory=tiny
    python experiments/build_data.py input='raw/*.jsonl.zst' output_dir=clean/ factory=cluster   # your own data
    python experiments/build_data.py factory.evaluation.labels_path=<filled labelling sheet>      # the human check

``input`` (a file, glob or directory) replaces the packaged sources; ``factory.input.mix_packaged_sources=true``
adds them. An ``output_dir`` built with other settings or inputs is refused (``overwrite=true`` rebuilds it).
Output (in output_dir): clean/ (sharded JSONL or Parquet), removed/<step>/<reason>/ (an audit sample),
malformed/, stats.json (the accounting), report.md/.json/.png and labelling_sheet.csv.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from ziya2lab.data.config import build_data_app_config
from ziya2lab.data.factory import run_factory, summary_table


@hydra.main(version_base="1.3", config_path="../conf", config_name="build_data")
def main(cfg: DictConfig) -> None:
    app = build_data_app_config(cfg)
    result = run_factory(app.factory_config(), app.output_dir, overwrite=app.overwrite)
    print(summary_table(result.stats))
    for lang, totals in sorted(result.stats["by_language"].items()):
        print(f"{lang}: {totals['documents']:,} documents, {totals['chars']:,} characters")
    print(f"clean corpus -> {result.corpus_path}\nreport -> {result.output_dir / 'report.md'}")
    if "labelling_sheet" in result.stats:
        print(f"labelling sheet (the human check) -> {result.stats['labelling_sheet']}")
    if "human_check" in result.stats:
        check = result.stats["human_check"]
        verdict = "PASSED" if check["passed"] else "FAILED"
        print(f"human check {verdict}: {check['bad']} bad of {check['n']} ({check['bad_per_1000']:.1f} per 1,000)")


if __name__ == "__main__":
    main()
