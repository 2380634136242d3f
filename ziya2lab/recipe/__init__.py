"""The Ziya2 recipe end to end (issue #17): an English-only base, vocabulary expansion, three continual
pre-training stages, one held-out timeline across them, and the forgetting ablations (no replay, single stage).

It sits at the study's layer: it trains with ``ziya2lab.train``, expands with ``ziya2lab.tokenizer``, scores the
initialisations with ``ziya2lab.study.tokenizer_expansion`` and evaluates with ``ziya2lab.eval``. Only
the recipe's command-line app imports it.
"""
