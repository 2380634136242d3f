"""Evaluate a checkpoint with lm-evaluation-harness, offline, writing ``eval.json`` and printing a table: an alias of
``python -m ziya2lab.eval`` (``ziya2lab/eval/app.py``).

    python experiments/evaluate.py checkpoint=<run dir>       # every generated task -> <run dir>/eval.json
    python experiments/evaluate.py checkpoint=<run dir> tasks=[ziya2lab_bpb_zh_news,ziya2lab_mc_zh_news_cloze]
    python experiments/evaluate.py checkpoint=<run dir> eval=ziya2_benchmarks harness.device=cuda   # the paper's six
"""

from ziya2lab.eval.app import main

if __name__ == "__main__":
    main()
