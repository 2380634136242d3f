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
class DownstreamConfig:
    """The evaluation a pipeline gives every one of its finished runs (the study's ``study.eval``), and the one the
    trainer gives its model in process at every evaluation step (``downstream``, off by default).

    The defaults are sized for the study's many small CPU runs (docs/EVAL.md, "In the study"): only the generated
    multiple-choice tasks, each at ``mc_max_items`` items. Bits per byte is left out by default because the trainer
    already reports the same text's token loss (lm-eval's bits per byte agrees with it within 0.2%); it earns its
    cost only when tokenizers differ.
    """

    enabled: bool = True
    tasks: list[str] = field(default_factory=lambda: [f"{GENERATED_TAG}_mc_zh_news_cloze",
                                                      f"{GENERATED_TAG}_mc_en_next_sentence",
                                                      f"{GENERATED_TAG}_mc_code_docstring",
                                                      f"{GENERATED_TAG}_mc_qa_sentiment"])
    mc_max_items: int = 40  # per multiple-choice task: the same items for every run
    bpb_max_bytes: int = 40_000  # per bits-per-byte task, if one is named in tasks
    batch_size: int = 64
    # the trainer's: held-out item files by name to generate tasks from (the study passes its own test sets);
    # empty = the generator's default sets in the shared cache
    test_set_files: dict[str, str] = field(default_factory=dict)

    def generated(self, test_sets: list[str] | None = None) -> GeneratedTasksConfig:
        """The task generator's settings for these held-out sets (None: ``test_set_files``' sets, else the
        generator's default sets)."""
        names = list(test_sets or self.test_set_files or GeneratedTasksConfig().test_sets)
        return GeneratedTasksConfig(test_sets=names, bpb_max_bytes=self.bpb_max_bytes, mc_max_items=self.mc_max_items)

    def harness(self) -> HarnessConfig:
        return HarnessConfig(batch_size=self.batch_size)


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
