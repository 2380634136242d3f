"""lm-evaluation-harness tasks written from the held-out test sets: YAML + JSONL in a directory cached by content.

``build_task_dir`` writes, for each held-out set, a bits-per-byte task (``loglikelihood_rolling``) and, where the
set has one, a multiple-choice task (``ziya2lab.eval.multiple_choice``), all tagged ``ziya2lab``, so that both
``lm_eval --include_path <dir> --tasks ziya2lab`` and ``evaluate_model`` run them. The directory's name is a hash
of the test-set files' bytes and the settings, so unchanged inputs reuse it and changed ones never do.

Choices that lm-eval's defaults get wrong for us, fixed here:
- ``dataset_kwargs.data_files`` is ``{test: <absolute path>}`` (a bare path becomes split ``train``);
- ``dataset_kwargs.cache_dir`` keeps the datasets cache inside ``$ZIYA2LAB_CACHE``;
- bits-per-byte tasks report ``bits_per_byte`` and ``byte_perplexity`` only (``word_perplexity`` splits on
  whitespace: meaningless for Chinese and code);
- ``target_delimiter`` is ``""`` for Chinese and code (the default ``" "`` would put a space before the answer).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from ziya2lab.common.atomic import atomic_directory
from ziya2lab.common.hashing import hash_config, hash_file
from ziya2lab.common.jsonl import read_jsonl, write_jsonl
from ziya2lab.common.paths import cache_dir
from ziya2lab.eval.config import GENERATED_TAG, GeneratedTasksConfig
from ziya2lab.eval.multiple_choice import cloze_items, docstring_items, next_sentence_items, sentiment_items

FORMAT_VERSION = 3  # part of the cache key: bump whenever what is generated changes (3: qa_sentiment)
MANIFEST = "tasks.json"
BITS_PER_BYTE = "bits_per_byte"
MULTIPLE_CHOICE = "multiple_choice"


@dataclass(frozen=True)
class ChoiceTaskSpec:
    """A multiple-choice task built from one held-out set."""

    test_set: str
    build: Callable[[list[dict], random.Random, int], list[dict]]
    target_delimiter: str
    measures: str


CHOICE_TASKS: dict[str, ChoiceTaskSpec] = {
    "en_next_sentence": ChoiceTaskSpec("en_prose", next_sentence_items, " ",
                                       "pick a Brown document's true next sentence among same-source sentences"),
    "zh_news_cloze": ChoiceTaskSpec("zh_news", cloze_items, "",
                                    "fill a blanked two-character word in People's Daily news"),
    "code_docstring": ChoiceTaskSpec("code", docstring_items, "",
                                     "pick a stdlib function's docstring summary after its signature"),
    "qa_sentiment": ChoiceTaskSpec("qa", sentiment_items, "",
                                   "say whether a held-out review is positive or negative (正面/负面)"),
}


@dataclass(frozen=True)
class GeneratedTask:
    name: str
    kind: str  # BITS_PER_BYTE | MULTIPLE_CHOICE
    test_set: str
    n_docs: int
    measures: str
    target_delimiter: str = ""  # what lm-eval puts between a multiple-choice stem and each choice


@dataclass(frozen=True)
class TaskDirectory:
    """A generated ``--include_path``: its location, the tasks it defines and the hash that names it."""

    path: Path
    tasks: dict[str, GeneratedTask]
    content_hash: str

    def data_file(self, task: str) -> Path:
        """The JSONL of documents (bits-per-byte) or items (multiple choice) of ``task``."""
        return _data_file(self.path, task)


def _data_file(directory: Path, task: str) -> Path:
    return directory / f"{task}.jsonl"


def bpb_task_name(test_set: str) -> str:
    return f"{GENERATED_TAG}_bpb_{test_set}"


def choice_task_name(name: str) -> str:
    return f"{GENERATED_TAG}_mc_{name}"


def _write_task(staging: Path, final: Path, task: str, records: list[dict], body: dict, datasets_cache: Path) -> int:
    """``<task>.jsonl`` and ``<task>.yaml`` into ``staging``; the YAML names the data file where it will be."""
    count = write_jsonl(_data_file(staging, task), records)
    config = {
        "task": task,
        "tag": GENERATED_TAG,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(_data_file(final, task))}, "cache_dir": str(datasets_cache)},
        "test_split": "test",
        **body,
        "metadata": {"version": FORMAT_VERSION, "generator": "ziya2lab.eval.tasks"},
    }
    (staging / f"{task}.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return count


def _bpb_documents(documents: list[dict], max_bytes: int) -> list[dict]:
    """Whole documents in file order while they fit in ``max_bytes`` (always at least one)."""
    kept, used = [], 0
    for document in documents:
        size = len(document["text"].encode("utf-8"))
        if kept and used + size > max_bytes:
            break
        kept.append({"id": document["id"], "text": document["text"]})
        used += size
    return kept


def _write_tasks(staging: Path, final: Path, test_sets: Mapping[str, Path], config: GeneratedTasksConfig,
                 datasets_cache: Path) -> dict[str, GeneratedTask]:
    """Write every task's JSONL and YAML into ``staging``; the YAMLs name the files at ``final``."""
    tasks: dict[str, GeneratedTask] = {}
    for test_set, path in test_sets.items():
        name = bpb_task_name(test_set)
        body = {"output_type": "loglikelihood_rolling", "doc_to_text": "", "doc_to_target": "text",
                "metric_list": [{"metric": "bits_per_byte"}, {"metric": "byte_perplexity"}]}
        documents = _bpb_documents(read_jsonl(path), config.bpb_max_bytes)
        count = _write_task(staging, final, name, documents, body, datasets_cache)
        tasks[name] = GeneratedTask(name, BITS_PER_BYTE, test_set, count, f"bits per UTF-8 byte on held-out {test_set}")
    for short, spec in CHOICE_TASKS.items():
        if spec.test_set not in test_sets:
            continue
        name = choice_task_name(short)
        rng = random.Random(f"{config.seed}:{short}")
        items = spec.build(read_jsonl(test_sets[spec.test_set]), rng, config.mc_max_items)
        if not items:
            raise ValueError(f"{test_sets[spec.test_set]}: no {short} items could be built from this test set")
        body = {"output_type": "multiple_choice", "doc_to_text": "question", "doc_to_choice": "choices",
                "doc_to_target": "answer", "target_delimiter": spec.target_delimiter,
                "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True},
                                {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True}]}
        count = _write_task(staging, final, name, items, body, datasets_cache)
        tasks[name] = GeneratedTask(name, MULTIPLE_CHOICE, spec.test_set, count, spec.measures,
                                    spec.target_delimiter)
    return tasks


def build_task_dir(test_sets: Mapping[str, Path], config: GeneratedTasksConfig | None = None) -> TaskDirectory:
    """The task directory for these held-out item files (``{name: <name>.jsonl}``), written once and cached."""
    config = config or GeneratedTasksConfig()
    if not test_sets:
        raise ValueError("no held-out test sets given: nothing to generate tasks from")
    datasets_cache = cache_dir("huggingface", "datasets")
    settings = {name: value for name, value in asdict(config).items() if name not in ("test_sets", "test_sets_dir")}
    key = hash_config({"format": FORMAT_VERSION, "settings": settings, "datasets_cache": str(datasets_cache),
                       "files": {name: hash_file(path) for name, path in sorted(test_sets.items())}})
    directory = cache_dir("eval_tasks") / key[:24]
    if not (directory / MANIFEST).exists():
        with atomic_directory(directory, keep_existing=True) as staging:
            tasks = _write_tasks(staging, directory, test_sets, config, datasets_cache)
            (staging / MANIFEST).write_text(json.dumps({name: asdict(task) for name, task in tasks.items()}, indent=2))
    manifest = json.loads((directory / MANIFEST).read_text())
    return TaskDirectory(directory, {name: GeneratedTask(**task) for name, task in manifest.items()}, key)
