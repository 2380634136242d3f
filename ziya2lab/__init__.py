"""ziya2lab: a research harness for Ziya2's data-centric learning (arXiv 2311.03301).

Subpackages, each importing only downward: ``common`` (shared utilities) ← ``model``, ``tokenizer``, ``data``,
``scaling`` ← ``attributes``, ``train``, ``eval`` ← ``sweeps``. Experiments in ``experiments/`` sit on top.
"""

__version__ = "0.1.0"
