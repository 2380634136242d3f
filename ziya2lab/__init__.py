"""ziya2lab: a research harness for Ziya2's data-centric learning (arXiv 2311.03301).

Subpackages, each importing only downward: ``common`` (shared utilities) ← ``model``, ``tokenizer``, ``data``,
``scaling`` ← ``attributes``, ``train``, ``eval`` ← ``study``. The command-line entry points sit on top and are
imported by nothing here.
"""

__version__ = "0.1.0"
