"""The three data attributes: raters for coherence (CH), readability (RA) and similarity (SIM), and corpora at
controlled levels of each."""

from ziya2lab.attributes.levels import LevelCorpus, make_levels
from ziya2lab.attributes.rate import rate_corpus
from ziya2lab.attributes.similarity import SimilarityRater

__all__ = ["LevelCorpus", "SimilarityRater", "make_levels", "rate_corpus"]
