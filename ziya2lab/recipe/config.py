"""Structured config of the recipe app (``conf/ziya2_recipe.yaml``, presets in ``conf/recipe/``).

Every default lives here; a preset only selects sizes and mixtures. The stage mixtures are the trainer's own
``DataConfig`` nodes (components, packing, replay shares), so a stage of the recipe is exactly a trainer run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from hydra.core.config_store import ConfigStore

from ziya2lab.model import LlamaConfig
from ziya2lab.train.config import DataConfig, SourceConfig, TrainConfig

STAGES = ("stage1", "stage2", "stage3")
# Ziya2 appends 7,400 characters to LLaMA-2's 32,000 pieces: the share a smaller base vocabulary is scaled by.
ZIYA2_NEW_TOKEN_RATIO = 7400 / 32000


class BaseTokenizer(str, Enum):
    spm_english = "spm_english"  # a small SentencePiece BPE with byte fallback, trained on English only
    llama2 = "llama2"  # LLaMA-2's own 32,000 pieces (setup/30_llama_vocab.sh)


def _english_sources() -> list[SourceConfig]:
    return [SourceConfig(source="brown"), SourceConfig(source="enwiki"), SourceConfig(source="python_docs")]


@dataclass
class BaseConfig:
    """The English-centric base model, the recipe's stand-in for LLaMA-2."""

    tokenizer: BaseTokenizer = BaseTokenizer.spm_english
    vocab_size: int = 2048  # spm_english only; LLaMA-2's is 32,000
    tokenizer_train_chars: int = 2_000_000
    sources: list[SourceConfig] = field(default_factory=_english_sources)  # English and code only
    steps: int = 400
    lr: float = 3e-3
    min_lr: float = 3e-4


@dataclass
class ExpansionConfig:
    num_new_tokens: int | None = None  # None: ZIYA2_NEW_TOKEN_RATIO × the base vocabulary
    pad_to_multiple: int = 128
    # how stage 1 (and the single stage) grow the base's embeddings in the trainer (stage.vocab_init): ``mean`` is
    # the paper's averaging; ``frequency`` (weights from the stage corpora's base-token counts), ``random``
    stage_init: str = "mean"
    # the initialisations whose initial held-out loss is recorded (ziya2lab.study.tokenizer_expansion's)
    compare_inits: list[str] = field(default_factory=lambda: ["mean", "frequency", "mean_input_only", "random"])
    eval_bytes: int = 30_000  # held-out Chinese news scored under each initialisation


@dataclass
class CorporaConfig:
    """Sizes of the generated stage-2/3 data and of the held-out timeline sets (bytes per domain)."""

    sentiment_items: int = 2000
    poem_items: int = 1500
    genre_items: int = 400
    math_items: int = 3000
    heldout_instruction_items: int = 150
    heldout_math_items: int = 150
    timeline_bytes: int = 20_000
    seed: int = 0


@dataclass
class StagePlan:
    steps: int = 100
    lr: float = 1e-3
    min_lr: float = 1e-4
    data: DataConfig = field(default_factory=DataConfig)


def _stages() -> dict[str, StagePlan]:
    return {name: StagePlan() for name in STAGES}


@dataclass
class AblationConfig:
    no_replay: bool = True  # the same stages with their replay components removed (same steps)
    single_stage: bool = True  # one stage mixing every stage's data, for the three stages' total tokens
    replay_components: list[str] = field(default_factory=lambda: ["stage1_replay", "stage2_replay"])
    # more seeds for the replay comparison: stages 2–3 with and without replay again from the same stage 1, with
    # each of these seeds (the data order), so the report can give the seed noise and an interval
    seeds: list[int] = field(default_factory=list)


@dataclass
class DownstreamConfig:
    """lm-evaluation-harness tasks (``ziya2lab.eval``) at the base and at every stage end."""

    enabled: bool = True
    tasks: list[str] = field(default_factory=lambda: ["ziya2lab"])
    bpb_max_bytes: int = 20_000
    mc_max_items: int = 60
    batch_size: int = 32


@dataclass
class GpuPlanConfig:
    """The paper's run as configuration (``recipe=ziya2_13b dry_run=true``); nothing here runs on a CPU."""

    base_model_dir: str = "/models/Llama-2-13b-hf"  # a local HF directory; no hub
    vocab_size: int = 39424
    stage_tokens: dict[str, float] = field(
        default_factory=lambda: {"stage1": 650e9, "stage2": 47e9, "stage3": 3e9}
    )
    stage_lr: dict[str, float] = field(default_factory=lambda: {"stage1": 1e-4, "stage2": 1e-4, "stage3": 1e-4})
    min_lr: float = 1e-5
    gpu: str = "a100"  # a key of ziya2lab.model.accounting.GPU_PEAK_FLOPS
    num_gpus: int = 8
    gpu_memory_gb: float = 80.0
    micro_batch_size: int = 2
    mfu: list[float] = field(default_factory=lambda: [0.33, 0.51])  # docs/BENCHMARKS.md: eager / compiled on H200
    accelerate_config: str = "conf/accelerate/fsdp_13b.yaml"
    # each stage's data (conf/data/ziya2_stage<N>.yaml): one local JSONL/Parquet directory per mixture component,
    # in the preset's order (stage 2: supervised, stage-1 replay; stage 3: math, stage-1 and stage-2 replays)
    data_dirs: dict[str, list[str]] = field(default_factory=lambda: {
        "stage1": ["/data/ziya2/stage1"],
        "stage2": ["/data/ziya2/stage2_supervised", "/data/ziya2/stage1"],
        "stage3": ["/data/ziya2/stage3_math", "/data/ziya2/stage1", "/data/ziya2/stage2_supervised"],
    })


@dataclass
class RecipeAppConfig:
    name: str = "cpu"
    output_dir: str = "${hydra:runtime.output_dir}"
    dry_run: bool = False  # print the plan and the compute/memory estimate, train nothing
    seed: int = 0
    model: LlamaConfig = field(default_factory=LlamaConfig)
    train: TrainConfig = field(default_factory=TrainConfig)  # shared by every run; steps and LR per stage
    eval_max_windows: int = 10_000  # every window of the (byte-capped) timeline sets
    # trainer runs side by side after the base, each in its own process with train.threads threads: stage 1 beside
    # the single stage, then the stage-2–3 chains of each variant and seed
    workers: int = 2
    base: BaseConfig = field(default_factory=BaseConfig)
    expansion: ExpansionConfig = field(default_factory=ExpansionConfig)
    corpora: CorporaConfig = field(default_factory=CorporaConfig)
    stages: dict[str, StagePlan] = field(default_factory=_stages)
    ablations: AblationConfig = field(default_factory=AblationConfig)
    downstream: DownstreamConfig = field(default_factory=DownstreamConfig)
    gpu_plan: GpuPlanConfig = field(default_factory=GpuPlanConfig)


def register_configs() -> None:
    ConfigStore.instance().store(name="ziya2_recipe_schema", node=RecipeAppConfig)


register_configs()
