"""Structured configs of the trainer app (``conf/train.yaml``), registered with Hydra's ConfigStore.

Every default lives here; YAML presets only select and override. Enums make a bad value fail at composition,
and the typed root makes an unknown key (a typo) fail naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore

from ziya2lab.eval.config import DownstreamConfig
from ziya2lab.model import LlamaConfig


class Schedule(str, Enum):
    cosine = "cosine"
    wsd = "wsd"
    constant = "constant"


class DecayShape(str, Enum):
    linear = "linear"
    sqrt = "sqrt"  # 1 - sqrt(progress), the cooldown shape of Hägele et al. 2024
    cosine = "cosine"


class DownstreamAt(str, Enum):
    """When the trainer scores ``downstream`` tasks in process (``downstream.enabled``)."""

    evals = "evals"  # every evaluation step and the end of every WSD branch
    branches = "branches"  # only the ends of WSD branches: for a pipeline that scores final/ itself afterwards


class Precision(str, Enum):
    bf16 = "bf16"
    fp32 = "fp32"


class Packing(str, Enum):
    unsupervised = "unsupervised"
    supervised = "supervised"


class LoggerKind(str, Enum):
    wandb = "wandb"
    none = "none"


@dataclass
class SourceConfig:
    """Where documents come from: a named packaged source, or JSONL/Parquet file(s) / a directory."""

    source: str | None = None  # a name from ziya2lab.data.sources.SOURCE_NAMES
    path: str | None = None  # file, glob or directory read by ziya2lab.data.readers.read_documents
    split: str = "train"  # train | heldout | all (named sources only)
    limit: int | None = None  # at most this many documents
    text_field: str = "text"
    prompt_field: str | None = "prompt"  # supervised data: the part that can be excluded from the loss
    task_field: str | None = "task"  # supervised data: documents of one task are packed together


def _default_sources() -> list[SourceConfig]:
    return [
        SourceConfig(source="peoples_daily", limit=1500),
        SourceConfig(source="brown", limit=300),
        SourceConfig(source="enwiki", limit=80),
    ]


@dataclass
class ComponentConfig:
    """One part of a training mixture, packed one way (stage 2 = supervised data + same-size stage-1 replay)."""

    name: str = "main"
    sources: list[SourceConfig] = field(default_factory=_default_sources)
    packing: Packing = Packing.unsupervised
    mask_prompt: bool = False
    # windows per mixture epoch: all of its own (both None), a multiple of the FIRST component's count, or a
    # token budget (e.g. stage 3's 0.1B-token replays)
    share_of_first: float | None = None
    tokens_per_epoch: int | None = None


@dataclass
class DataConfig:
    name: str = "default"
    components: list[ComponentConfig] = field(default_factory=lambda: [ComponentConfig()])
    eval_sets: dict[str, SourceConfig] = field(
        default_factory=lambda: {
            "zh_news": SourceConfig(source="peoples_daily", split="heldout", limit=150),
            "en_prose": SourceConfig(source="brown", split="heldout", limit=40),
        }
    )
    document_mask: bool = False  # per-document attention mask inside packed windows
    eval_max_windows: int = 16  # per eval set, so evaluation cost stays bounded


class TokenizerPreset(str, Enum):
    small_bpe = "small_bpe"  # trained once on ``train_sources`` and cached
    llama2 = "llama2"  # LLaMA-2's 32k tokenizer, rebuilt offline and verified (ziya2lab.tokenizer.llama2)


@dataclass
class TokenizerConfig:
    """``path`` set: any local HF tokenizer (e.g. a previous stage's ``final/``); else the ``preset``."""

    preset: TokenizerPreset = TokenizerPreset.small_bpe
    path: str | None = None
    vocab_size: int = 4096
    train_sources: list[SourceConfig] = field(default_factory=_default_sources)
    max_train_chars: int = 2_000_000


@dataclass
class LoggerConfig:
    kind: LoggerKind = LoggerKind.wandb
    project: str = "ziya2lab"
    entity: str | None = None
    mode: str = "offline"  # offline never needs a login; `wandb sync` uploads later
    group: str | None = None
    name: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class StageConfig:
    """A continual pre-training stage: which checkpoint it starts from (``None`` = random init)."""

    name: str = "none"
    init_from: str | None = None  # a local HF LLaMA checkpoint directory (Llama.from_pretrained)
    vocab_init: str = "mean"  # new rows when init_from grows to an expanded tokenizer: tokenizer.expand.NEW_ROW_INITS


@dataclass
class AccelerateConfig:
    """The keys of an ``accelerate`` config file, so each ``conf/accelerate/*.yaml`` doubles as one.

    ``distributed_type`` None means "whatever the launcher set up". When a preset names a type, the trainer checks
    the launched process agrees, so a run started without the matching ``accelerate launch --config_file`` fails
    loudly instead of silently training unsharded.
    """

    compute_environment: str = "LOCAL_MACHINE"
    distributed_type: str | None = None  # NO | MULTI_GPU | MULTI_CPU | FSDP | DEEPSPEED
    mixed_precision: str = "no"
    use_cpu: bool = False
    debug: bool = False
    num_processes: int = 1
    machine_rank: int = 0
    num_machines: int = 1
    gpu_ids: str | None = None
    main_process_ip: str | None = None
    main_process_port: int | None = None
    rdzv_backend: str = "static"
    same_network: bool = True
    main_training_function: str = "main"
    enable_cpu_affinity: bool = False
    downcast_bf16: str = "no"
    tpu_env: list[str] = field(default_factory=list)
    tpu_use_cluster: bool = False
    tpu_use_sudo: bool = False
    fsdp_config: dict[str, Any] = field(default_factory=dict)
    deepspeed_config: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    max_steps: int | None = 120  # None: as many steps as max_tokens needs
    max_tokens: int | None = None  # whichever of max_steps / max_tokens comes first ends the run; one it cannot
    # reach (max_steps stops short of it) is an error rather than a silently shorter run
    seq_len: int = 128
    global_batch_tokens: int | None = None  # if set, overrides batch_size (= global_batch_tokens / seq_len)
    batch_size: int = 8  # sequences per optimizer step, summed over ranks and accumulation
    micro_batch_size: int | None = None  # sequences per forward per rank; None = batch_size / ranks (no accum)
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup_ratio: float = 0.01
    schedule: Schedule = Schedule.cosine
    wsd_decay_ratio: float = 0.2  # WSD: final fraction of steps spent cooling down
    wsd_decay_tokens: int | None = None  # WSD: instead, every decay (the final one and each branch's cooldown) lasts
    # this many tokens, so that data volumes of a continual pre-training run are annealed alike and like its base's
    wsd_decay_shape: DecayShape = DecayShape.sqrt
    wsd_branch_at_tokens: list[int] = field(default_factory=list)  # stable-phase branch points (tokens)
    downstream_at: DownstreamAt = DownstreamAt.evals  # with downstream.enabled: see DownstreamAt
    export_stable: bool = False  # WSD: also write the weights at the end of the stable phase (<run>/stable/, HF),
    # where continual pre-training continues at the peak rate instead of re-warming the annealed final/
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    grad_clip: float = 1.0
    precision: Precision = Precision.fp32
    log_every_steps: int = 10
    eval_every_steps: int = 60
    ckpt_every_steps: int = 60
    keep_checkpoints: int = 2
    resume: str = "auto"  # auto | never | <checkpoint dir>
    spike_factor: float = 4.0  # a loss above this multiple of the running mean is a spike
    spike_window: int = 20  # steps in the running mean
    guard_warmup_steps: int = 20  # no spike test before this many good steps
    max_consecutive_skips: int = 5
    threads: int | None = None  # torch intra-op threads per process; None = cores / local processes
    compile: bool | None = None  # torch.compile the training forward+loss; None = on CPU when the run's tokens
    # reach ziya2lab.train.compiled.BREAK_EVEN_TOKENS (where the compile warm-up pays)
    compile_mode: str = "default"  # a torch.compile mode: default | reduce-overhead | max-autotune | ...


@dataclass
class TrainAppConfig:
    seed: int = 0
    output_dir: str = "${hydra:runtime.output_dir}"
    model: LlamaConfig = field(default_factory=LlamaConfig)
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    stage: StageConfig = field(default_factory=StageConfig)
    accelerate: AccelerateConfig = field(default_factory=AccelerateConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # lm-eval tasks scored in process at every evaluation step (off by default: docs/EVAL.md, "During training")
    downstream: DownstreamConfig = field(default_factory=lambda: DownstreamConfig(enabled=False))


def register_configs() -> None:
    ConfigStore.instance().store(name="train_schema", node=TrainAppConfig)


register_configs()
