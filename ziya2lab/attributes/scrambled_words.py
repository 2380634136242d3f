"""Chinese word order at the level of words: is each sentence more probable as written than with its jieba words in
random orders?

The character tests of ``word_order`` permute characters. A sentence whose *words* were shuffled, each word intact,
still reads far above random orders of its characters, so those tests pass it (issue #14's second held-out set:
0.04 recall on jieba-word scrambles). Here the units are jieba words, and a sentence's score is the sum of two
reference models' log10 P: the character 5-gram of ``word_order`` over its characters, and a ``pos_order``-gram
over its ``jieba.posseg`` part-of-speech tags, trained on the same reference documents. The tag model generalises
past the words the small character model has seen; on development documents the sum separates better than either.

A sentence's z is (score as written − mean over ``permutations`` random orders of its words) / their standard
deviation: near 0 for a shuffled sentence, 5 for a typical clean one. Only sentences of at least ``min_words``
words, at least ``min_script_share`` of their characters Chinese, are tested. A document is flagged when
- *one sentence* is under ``sentence_z`` and the document's other tested sentences have a median of at least
  ``fluent_median_z`` (the models read this kind of text: not verse, not command lists);
- *many sentences* are under ``many_z``: more than the clean share (measured on the development documents the
  models read fluently, cached) makes likely, by a one-sided binomial test at ``many_alpha``, while the better half
  of its sentences still reads fluently;
- *all of it* is in disorder: the median z is under ``disordered_median_z`` although the character test reads the
  same sentences fluently (their median character z at least ``characters_fluent_z``): the words are intact, their
  order is not.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import jieba
import jieba.posseg
import numpy as np
from scipy.stats import binom

from ziya2lab.attributes.config import ScrambledWordsConfig
from ziya2lab.attributes.junk import prose_paragraphs
from ziya2lab.attributes.text import sentences as split_sentences
from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.hashing import hash_bytes, hash_config, hash_texts
from ziya2lab.common.paths import cache_dir
from ziya2lab.data.kenlm_model import indexed_model, sentences, train_lines_model

CALIBRATION_VERSION = 1  # bump when the z or the clean share's definition changes: cached shares are recomputed
LANG = "zh"  # jieba words and tags: the test is Chinese only
jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise


def tagged_words(sentence: str) -> list[tuple[str, str]]:
    """(word, part-of-speech tag) of every jieba word of ``sentence`` that is not whitespace."""
    return [(pair.word, pair.flag) for pair in jieba.posseg.lcut(sentence) if pair.word.strip()]


def document_sentences(text: str) -> list[str]:
    """The sentences of ``text``'s paragraphs, less the lines the coherence rater calls junk (ads, navigation,
    contact lines): judging them is its job, and ad copy reads as choppy as shuffled words."""
    return [sentence for paragraph in prose_paragraphs(text) for sentence in split_sentences(paragraph, LANG)]


def tag_lines(texts: Sequence[str]) -> list[str]:
    """The tag model's training lines: one space-separated tag sequence per sentence."""
    return [" ".join(tag for _word, tag in words) for text in texts for sentence in document_sentences(text)
            if (words := tagged_words(sentence))]


def tag_model(characters_path: str, reference_texts: Callable[[], Sequence[str]], order: int) -> str:
    """The tag model of the reference texts, trained once. The character model's file is named by the hash of the
    same texts, so an index keyed by it, the order, this module's code and jieba's version finds the tag model
    without reading and tagging the texts again (seconds per process otherwise)."""
    key = hash_config({"characters": characters_path, "order": order, "jieba": jieba.__version__,
                       "code": hash_bytes(Path(__file__).read_bytes())})
    return indexed_model(f"tags-{key[:24]}",
                         lambda: train_lines_model(tag_lines(reference_texts()), "zh-pos", order, order))


def lone_low_z(z: np.ndarray, below: float, fluent_median_z: float) -> float | None:
    """The lowest of the sentences' ``z`` when it is under ``below`` while the others' median is at least
    ``fluent_median_z`` (one scrambled sentence in text the model reads fluently), else None; None too with fewer
    than three sentences. Both the character test (``word_order``) and the word test ask this."""
    if z.size < 3:
        return None
    lowest = int(z.argmin())
    return float(z[lowest]) if z[lowest] < below and np.median(np.delete(z, lowest)) >= fluent_median_z else None


class ScrambledWords:
    """Word-level z of every sentence and the three document tests above, over a character and a tag model."""

    def __init__(self, cfg: ScrambledWordsConfig, characters, characters_path: str,
                 reference_texts: Callable[[], Sequence[str]], calibration: Sequence[dict],
                 character_median_z: Callable[[str], float]) -> None:
        import kenlm

        self.cfg = cfg
        self.characters = characters
        self.tags_path = tag_model(characters_path, reference_texts, cfg.pos_order)
        self.tags = kenlm.Model(self.tags_path)
        self.character_median_z = character_median_z
        self.sentence_z = functools.lru_cache(maxsize=1 << 13)(self._sentence_z)
        self.clean_low_share = self._clean_low_share(calibration, characters_path)

    def _score(self, words: Sequence[tuple[str, str]], order: Sequence[int]) -> float:
        characters = next(sentences("".join(words[i][0] for i in order), LANG), "")
        return (self.characters.score(characters, bos=False, eos=False)
                + self.tags.score(" ".join(words[i][1] for i in order), bos=False, eos=False))

    def _sentence_z(self, text: str) -> np.ndarray:
        """The z of every tested sentence of ``text``, in document order."""
        zs = []
        for sentence in document_sentences(text):
            words = tagged_words(sentence)
            characters = sum(len(word) for word, _tag in words)
            if len(words) < self.cfg.min_words or characters == 0:
                continue
            if sum(not char.isascii() for word, _tag in words for char in word) / characters < self.cfg.min_script_share:
                continue
            rng = random.Random(hash_texts([sentence]))  # the same permutations on every run
            shuffled = [self._score(words, rng.sample(range(len(words)), len(words)))
                        for _ in range(self.cfg.permutations)]
            zs.append((self._score(words, range(len(words))) - np.mean(shuffled)) / max(np.std(shuffled, ddof=1), 1e-6))
        return np.array(zs, dtype=float)

    def _fluent_half(self, z: np.ndarray) -> bool:
        return bool(np.median(np.sort(z)[z.size // 2:]) >= self.cfg.fluent_median_z)

    def events(self, text: str) -> list[tuple[str, str]]:
        """``scrambled_words`` events of one document: one shuffled sentence, many, or all of it."""
        z = self.sentence_z(text)
        if z.size < 3:
            return []
        if (lowest := lone_low_z(z, self.cfg.sentence_z, self.cfg.fluent_median_z)) is not None:
            return [("scrambled_words", f"one sentence z={lowest:.2f}")]
        low = int((z < self.cfg.many_z).sum())
        if self._fluent_half(z) and binom.sf(low - 1, z.size, self.clean_low_share) < self.cfg.many_alpha:
            return [("scrambled_words", f"{low} of {z.size} sentences under z={self.cfg.many_z}")]
        if np.median(z) < self.cfg.disordered_median_z and self.character_median_z(text) >= self.cfg.characters_fluent_z:
            return [("scrambled_words", f"median z={np.median(z):.2f}, characters fluent")]
        return []

    def _clean_low_share(self, documents: Sequence[dict], characters_path: str) -> float:
        """The share of tested sentences under ``many_z`` in clean development documents whose better half reads
        fluently (cached with the models' identity and the development texts)."""
        key = hash_config({"version": CALIBRATION_VERSION, "models": [characters_path, self.tags_path],
                           "cfg": {name: getattr(self.cfg, name) for name in ("min_words", "min_script_share",
                                                                                "permutations", "fluent_median_z",
                                                                                "many_z")},
                           "texts": hash_texts(doc["text"] for doc in documents)})
        path = Path(cache_dir("word_order")) / f"scrambled-words-{key[:16]}.json"
        if path.exists():
            return json.loads(path.read_text())["clean_low_share"]
        zs = [z for doc in documents if (z := self.sentence_z(doc["text"])).size >= 3 and self._fluent_half(z)]
        if not zs:
            raise ValueError("word_order.calibration_sources[zh] gives no development document the models read fluently")
        pooled = np.concatenate(zs)
        share = max(float((pooled < self.cfg.many_z).mean()), 0.5 / pooled.size)  # unseen is not impossible
        atomic_write_json(path, {"clean_low_share": share})
        return share
