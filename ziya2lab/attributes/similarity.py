"""SIM: mean cosine between a corpus sample and each downstream test set (the paper's Table 5), offline.

Embeddings are TF-IDF vectors over tokens that serve English, Chinese and code alike with no model download:
words and identifiers, single CJK characters, and punctuation marks (which set code apart from prose; character
n-grams measured 0.27 → 0.29 where these give 0.10 → 0.15 for a corpus going from 0% to 50% code); the vocabulary and IDF are fitted once on all test sets, so every corpus is measured in
the same space. The all-pairs mean cosine of L2-normalised vectors equals the dot product of the two sets' mean
vectors, so it costs O(documents), not O(documents × items).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from ziya2lab.attributes.config import SimilarityConfig

TOKEN_PATTERN = r"(?u)[A-Za-z_][A-Za-z0-9_]*|[\u3400-\u9fff]|[^\sA-Za-z0-9_\u3400-\u9fff]"


class SimilarityRater:
    def __init__(self, test_sets: Mapping[str, Sequence[str]], config: SimilarityConfig) -> None:
        if not test_sets:
            raise ValueError("the similarity rater needs at least one test set")
        self.config = config
        self.vectorizer = TfidfVectorizer(
            token_pattern=TOKEN_PATTERN,
            lowercase=False,
            ngram_range=(config.tfidf_ngram_min, config.tfidf_ngram_max),
            max_features=config.tfidf_max_features,
            sublinear_tf=True,
        )
        texts = {name: [text[: config.max_chars] for text in items] for name, items in test_sets.items()}
        self.vectorizer.fit([text for items in texts.values() for text in items])
        self.test_means = {name: self._mean_vector(items) for name, items in texts.items()}

    def _mean_vector(self, texts: Sequence[str], by_length: bool = False) -> np.ndarray:
        matrix = self.vectorizer.transform([text[: self.config.max_chars] for text in texts])  # rows L2-normalised
        weights = np.array([len(text) for text in texts], dtype=float) if by_length else np.ones(len(texts))
        return np.asarray(matrix.T @ (weights / weights.sum())).ravel()

    def rate(self, texts: Sequence[str]) -> dict[str, float]:
        """{test set: mean cosine} for the documents ``texts``, each weighted by its length.

        A corpus is trained on in proportion to its characters, so a 20,000-character module counts for more
        than a one-line review; an unweighted document mean would let many short documents swamp the value.
        """
        corpus_mean = self._mean_vector(texts, by_length=True)
        return {name: float(corpus_mean @ test_mean) for name, test_mean in self.test_means.items()}
