"""Structured configs of downstream evaluation (``conf/evaluate.yaml``), registered with Hydra's ConfigStore.

The same dataclasses are the defaults of the library calls (``evaluate_run``, ``evaluate_model``), so the study
and the trainer evaluate exactly as the command line does unless they say otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

GENERATED_TAG = "ziya2lab"  # lm-eval tag of every generated task; also the prefix of their names


class PrefixToken(str, Enum):
    """What the first scored token is conditioned on (lm-eval's ``prefix_token_id``).

    ``eos``: our trainer joins documents with ``</s>`` and never feeds ``<s>``, so a document's first token was
    always seen after ``</s>``; this is the convention under which lm-eval's bits-per-byte matches the trainer's
    own loss. ``bos``: lm-eval's default, for checkpoints trained with BOS (e.g. LLaMA-2 itself).
    """

    eos = "eos"
    bos = "bos"


@dataclass
class GeneratedTasksConfig:
    """Tasks written from the held-out test sets (``ziya2lab.eval.heldout``) into a cached task directory."""

    test_sets: list[str] = field(default_factory=lambda: ["en_prose", "zh_news", "qa", "code"])
    test_sets_dir: str | None = None  # None = $ZIYA2LAB_CACHE/test_sets (built on first use, as the raters do)
    bpb_max_bytes: int = 40_000  # per bits-per-byte task: whole items, in file order, up to this many UTF-8 bytes
    mc_max_items: int = 100  # per multiple-choice task
    seed: int = 0  # item selection and answer positions


@dataclass
class HarnessConfig:
    """How lm-evaluation-harness runs the model; every choice here is recorded in ``eval.json``."""

    batch_size: int = 32
    max_length: int | None = None  # None = the run's train.seq_len (summary.json), else the model's max positions
    prefix_token: PrefixToken = PrefixToken.eos
    device: str = "cpu"
    limit: int | None = None  # documents per task (lm-eval's --limit), for smoke tests only
    bootstrap_iters: int = 1000  # lm-eval's stderr resampling (mean metrics use the closed form)
    skip_unavailable: bool = True  # a named task whose dataset is not in the local cache is reported, not fatal
    confirm_run_unsafe_code: bool = False  # humaneval executes model-written code: opt in explicitly


@dataclass
class EvaluateAppConfig:
    checkpoint: str = MISSING  # a run directory (its final/ is evaluated) or any HF checkpoint directory
    tasks: list[str] = field(default_factory=lambda: [GENERATED_TAG])  # generated tasks, the tag, or lm-eval names
    num_fewshot: dict[str, int] = field(default_factory=dict)  # per task; unnamed tasks use their own default
    output: str | None = None  # None = the run directory's eval.json (a bare checkpoint: <checkpoint>/eval.json)
    harness: HarnessConfig = field(default_factory=HarnessConfig)
    generated: GeneratedTasksConfig = field(default_factory=GeneratedTasksConfig)


def register_configs() -> None:
    ConfigStore.instance().store(name="evaluate_schema", node=EvaluateAppConfig)


register_configs()
