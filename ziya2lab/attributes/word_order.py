"""Word order against reference KenLM models: does putting two adjacent units back the other way round make the
text much more probable?

Scrambled or machine-garbled word order is a perplexity spike of a particular shape. For every adjacent pair of
words (en) or characters (zh), the *swap gain* is log10 P(text with the pair swapped) − log10 P(text as written),
both under the data factory's reference KenLM model of the language (5-gram, trained on text that no corpus and no
validation contains). Only the n-grams around the pair change, so each gain costs two short queries. A rare name
or a term the model never saw costs the same in both orders, so the test is about order, not vocabulary: the
weakness of plain perplexity, which flags every document about an unusual topic.

A pair whose gain exceeds ``spike_log10`` is a spike. Clean text has a few (idioms the model knows better the
other way round); its rate is measured once per language on clean development documents (``document_sets``) and
cached with the models. A document is flagged when one window of ``window`` pairs, or the whole document, holds
significantly more spikes than that rate predicts: a one-sided Poisson test, Bonferroni-corrected for the number
of windows, at ``alpha``. A transposition inside a long clean document shows in its window.

A swap of two units in text that is in random order throughout is no more probable than before, so the spikes
miss it. The second test asks the opposite question: is each sentence more probable in its own order than in
random orders of its own units (``order_evidence``)? Vocabulary cancels again (the permutations use the same
units); text in random order has zero evidence by construction, clean prose about 0.5 (en) and 1.2 (zh) log10
per token.

Averaged over a long document, one to three shuffled sentences leave that evidence high. The third test
(``scrambled_sentence``) looks at sentences one at a time: a sentence's z is how far its probability as written
stands above those of random orders of its own units, in their standard deviations; a shuffled sentence sits
among its permutations (z near 0), a clean one far above them. One sentence under the threshold in a document
whose other sentences the model reads fluently is flagged. It is on for Chinese only: the English word model is
too small to tell a single clean sentence from a shuffled one.
"""

from __future__ import annotations

import functools
import json
import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
from scipy.stats import poisson

from ziya2lab.attributes.config import WordOrderConfig
from ziya2lab.attributes.document_sets import set_documents
from ziya2lab.attributes.scrambled_words import ScrambledWords, lone_low_z
from ziya2lab.attributes.text import paragraphs
from ziya2lab.attributes.text import sentences as split_sentences
from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.hashing import hash_config, hash_texts
from ziya2lab.common.paths import cache_dir
from ziya2lab.data.config import ScoringConfig
from ziya2lab.data.kenlm_model import sentences

CALIBRATION_VERSION = 1  # bump when the gain or the rate definition changes: cached rates are then recomputed


class WordOrderTest:
    """Swap gains and the document-level test for the languages of ``cfg``."""

    def __init__(self, cfg: WordOrderConfig) -> None:
        import kenlm

        from ziya2lab.data.factory import (  # datatrove: only when the test is used
            reference_models,
            reference_texts,
        )

        missing = sorted(set(cfg.languages) - set(cfg.reference_sources))
        if missing:
            raise KeyError(f"word_order.languages has {missing} but word_order.reference_sources has no text for "
                           f"them; known: {sorted(cfg.reference_sources)}")
        self.cfg = cfg
        scoring = ScoringConfig(reference_sources={lang: list(cfg.reference_sources[lang]) for lang in cfg.languages},
                                reference_percent=cfg.reference_percent,
                                reference_documents=cfg.reference_documents, order=cfg.order)
        self.model_paths = reference_models(scoring)
        self.models = {lang: kenlm.Model(path) for lang, path in self.model_paths.items()}
        self.swap_gains = functools.lru_cache(maxsize=1 << 13)(self._swap_gains)  # corpora share documents
        self.sentence_orders = functools.lru_cache(maxsize=1 << 13)(self._sentence_orders)
        calibration = {lang: set_documents({lang: cfg.calibration_sources[lang]}, cfg.calibration_documents,
                                           "development", cfg.reference_percent)
                       for lang in cfg.languages}  # read once: the background rates and the word test share them
        self.background = self._background(calibration)
        self.scrambled_words = None
        if "zh" in cfg.languages and cfg.scrambled_words.enabled:
            self.scrambled_words = ScrambledWords(
                cfg.scrambled_words, self.models["zh"], self.model_paths["zh"], lambda: reference_texts(scoring, "zh"),
                calibration["zh"], lambda text: self.character_median_z(text, "zh"))

    def _swap_gains(self, text: str, lang: str) -> np.ndarray:
        """The swap gain (log10) of every adjacent pair within each line of ``text``."""
        model, context = self.models[lang], self.models[lang].order - 1
        gains = []
        for line in sentences(text[: self.cfg.max_chars], lang):
            tokens = line.split()
            for i in range(len(tokens) - 1):
                if tokens[i] == tokens[i + 1]:
                    gains.append(0.0)
                    continue
                low, high = max(0, i - context), min(len(tokens), i + context + 2)
                window = tokens[low:high]
                j = i - low
                swapped = [*window[:j], window[j + 1], window[j], *window[j + 2:]]
                edges = {"bos": low == 0, "eos": high == len(tokens)}
                gains.append(model.score(" ".join(swapped), **edges) - model.score(" ".join(window), **edges))
        return np.array(gains)

    def spikes(self, text: str, lang: str) -> np.ndarray:
        return self.swap_gains(text, lang) > self.cfg.spike_log10

    def p_value(self, text: str, lang: str) -> float:
        """The smaller of the whole-document and the best-window Poisson p-values (the latter Bonferroni-corrected)."""
        spikes = self.spikes(text, lang)
        pairs, rate = spikes.size, self.background[lang]
        if pairs == 0:
            return 1.0
        total = int(spikes.sum())
        whole = poisson.sf(total - 1, rate * pairs)
        window = min(self.cfg.window, pairs)
        most = int(np.convolve(spikes, np.ones(window), "valid").max())
        scan = min(1.0, poisson.sf(most - 1, rate * window) * pairs / window)
        return float(min(whole, scan))

    def _sentence_orders(self, text: str, lang: str) -> np.ndarray:
        """One row per sentence of at least ``min_sentence_tokens``: its tokens, log10 P as written, the mean and
        standard deviation of log10 P over ``permutations`` random orders of its own units, and the share of its
        tokens in the model's script (zh: not ASCII, i.e. not Latin letters, code or ASCII digits; 1 for en)."""
        model, minimum = self.models[lang], self.cfg.min_sentence_tokens.get(lang, 1)
        rows = []
        for paragraph in paragraphs(text[: self.cfg.max_chars]):
            for sentence in split_sentences(paragraph, lang):
                for line in sentences(sentence, lang):
                    tokens = line.split()
                    if len(tokens) < minimum:
                        continue
                    rng = random.Random(hash_texts([line]))  # the same permutations on every run
                    shuffled = [model.score(" ".join(rng.sample(tokens, len(tokens))), bos=False, eos=False)
                                for _ in range(self.cfg.permutations)]
                    script = sum(not token.isascii() for token in tokens) / len(tokens) if lang == "zh" else 1.0
                    rows.append((len(tokens), model.score(line, bos=False, eos=False), float(np.mean(shuffled)),
                                 float(np.std(shuffled, ddof=1)), script))
        return np.array(rows, dtype=float).reshape(-1, 5)

    def order_evidence(self, text: str, lang: str) -> float:
        """log10 per token by which the document's sentences are more probable as written than in random orders of
        their own units (``nan`` when no sentence is long enough to tell)."""
        tokens, written, shuffled, _sd, _script = self.sentence_orders(text, lang).T
        return float((written - shuffled).sum() / tokens.sum()) if tokens.size else float("nan")

    def scrambled_sentence(self, text: str, lang: str) -> float | None:
        """The z of the one sentence that reads as shuffled in a document the model otherwise reads fluently, or
        None. A sentence's z is (log10 P as written − mean over random orders of its units) / their standard
        deviation: about 0 for a shuffled sentence, 20 for a typical clean one. Only sentences of at least
        ``outlier_min_tokens`` in the model's script are tested, and only when the document's other tested
        sentences (at least two) have a median z of ``fluent_median_z``: where the model cannot tell order (verse,
        classical quotations, code), a low z is no evidence."""
        threshold = self.cfg.sentence_z.get(lang)
        if threshold is None:
            return None
        return lone_low_z(self._tested_z(text, lang), threshold, self.cfg.fluent_median_z)

    def _tested_z(self, text: str, lang: str) -> np.ndarray:
        """The z of every sentence of at least ``outlier_min_tokens`` in the model's script, in document order."""
        tokens, written, shuffled, sd, script = self.sentence_orders(text, lang).T
        tested = (tokens >= self.cfg.outlier_min_tokens.get(lang, 1)) & (script >= self.cfg.min_script_share)
        return (written - shuffled)[tested] / np.maximum(sd[tested], 1e-6)

    def character_median_z(self, text: str, lang: str) -> float:
        """The median z of the tested sentences: how fluently the model reads the document's units (nan: none)."""
        z = self._tested_z(text, lang)
        return float(np.median(z)) if z.size else float("nan")

    def disorders(self, text: str, lang: str, found: int = 0, to_flag: int = 1) -> list[tuple[str, str]]:
        """The word-order events of a document: transposed pairs (``word_order``), random order (``disordered``),
        one shuffled sentence in fluent text (``scrambled_sentence``), and in Chinese jieba words out of order
        (``scrambled_words``), the costliest test, run only while the document has fewer than ``to_flag`` events
        (``found`` of them from other tests): it could not change the flag otherwise."""
        events = []
        p_value = self.p_value(text, lang)
        if p_value < self.cfg.alpha:
            events.append(("word_order", f"p={p_value:.1e}"))
        evidence = self.order_evidence(text, lang)
        if evidence < self.cfg.min_order_evidence:  # nan (nothing to test) compares False
            events.append(("disordered", f"{evidence:.3f} log10/token"))
        if (z := self.scrambled_sentence(text, lang)) is not None:
            events.append(("scrambled_sentence", f"z={z:.2f}"))
        if lang == "zh" and self.scrambled_words is not None and found + len(events) < to_flag:
            events += self.scrambled_words.events(text)
        return events

    def _background(self, documents: dict[str, list[dict]]) -> dict[str, float]:
        """Spikes per pair in clean development documents, per language (cached with the models' identity)."""
        key = hash_config({"version": CALIBRATION_VERSION, "models": self.model_paths,
                           "spike_log10": self.cfg.spike_log10, "max_chars": self.cfg.max_chars,
                           "texts": {lang: hash_texts(doc["text"] for doc in docs) for lang, docs in documents.items()}})
        path = Path(cache_dir("word_order")) / f"background-{key[:16]}.json"
        if path.exists():
            return json.loads(path.read_text())
        background = {}
        for lang, docs in documents.items():
            if not docs:
                raise ValueError(f"word_order.calibration_sources[{lang}] gives no development documents")
            spikes = [self.spikes(doc["text"], lang) for doc in docs]
            # an unseen event is not impossible: at least half a spike over all the calibration pairs
            floor = 0.5 / max(sum(s.size for s in spikes), 1)
            background[lang] = max(float(np.mean([s.sum() / max(s.size, 1) for s in spikes])), floor)
        atomic_write_json(path, background)
        return background


_TESTS: dict[str, WordOrderTest] = {}


def word_order_test(cfg: WordOrderConfig) -> WordOrderTest:
    """One test per configuration and process: the models, their background rates and the gain cache are shared."""
    key = hash_config(asdict(cfg))
    if key not in _TESTS:
        _TESTS[key] = WordOrderTest(cfg)
    return _TESTS[key]
