"""Run lm-evaluation-harness on a model, a checkpoint or a run directory, offline, and record what it earned.

lm-eval does the scoring; this module chooses how it is called and keeps the record honest:
- the model is wrapped in ``HFLM`` (a checkpoint is loaded as ``transformers.LlamaForCausalLM``; our in-memory
  ``Llama`` is viewed as one, sharing its parameters), with ``max_length`` = the length the model was trained at
  (beyond it RoPE extrapolates and the loss is not the model's) and ``prefix_token_id`` pinned (``PrefixToken``);
- generated tasks (``ziya2lab.eval.tasks``) and lm-eval's own tasks by name run through one ``TaskManager``, built
  once per process (indexing lm-eval's ~10k built-in tasks costs seconds, so it is skipped when only generated
  tasks are asked for);
- a named task whose dataset is not in the local datasets cache is reported as unavailable, never scored;
- multiple-choice tasks also get DataDecide's continuous proxies from lm-eval's per-choice log-likelihoods
  (``ziya2lab.eval.metrics``), because at small scale accuracy alone is noise.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.hashing import hash_config, hash_file
from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.common.paths import cache_dir
from ziya2lab.common.run_dir import RunDir
from ziya2lab.eval.config import (
    GENERATED_TAG,
    EvaluateAppConfig,
    GeneratedTasksConfig,
    HarnessConfig,
    PrefixToken,
)
from ziya2lab.eval.heldout import load_test_sets
from ziya2lab.eval.metrics import choice_proxies, task_metrics
from ziya2lab.eval.tasks import FORMAT_VERSION as TASK_FORMAT
from ziya2lab.eval.tasks import MULTIPLE_CHOICE, TaskDirectory, build_task_dir

TRUNCATION_WARNING = "Combined length of context"  # lm-eval 0.4's per-request warning (models/huggingface.py)


def configure_environment() -> None:
    """Offline, with Hugging Face's caches inside ``$ZIYA2LAB_CACHE``, unless the user chose otherwise.

    Must run before ``datasets`` is imported (it reads ``HF_HOME`` once); generated tasks do not depend on it,
    because their YAML names the datasets cache explicitly.
    """
    os.environ.setdefault("HF_HOME", str(cache_dir("huggingface")))
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


@functools.lru_cache(maxsize=4)
def task_manager(include_path: str | None, include_defaults: bool) -> Any:
    """One ``lm_eval.tasks.TaskManager`` per (task directory, with built-ins) for the whole process."""
    configure_environment()
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=include_path, include_defaults=include_defaults)


def hf_causal_lm(model: Any) -> Any:
    """A ``transformers`` causal LM for ``model``: an HF model as is; our ``Llama`` as ``LlamaForCausalLM``
    over the same parameter tensors (no copy, so evaluating inside the trainer costs no memory)."""
    from accelerate import init_empty_weights
    from transformers import LlamaConfig as HFLlamaConfig
    from transformers import LlamaForCausalLM, PreTrainedModel

    from ziya2lab.model import Llama

    if isinstance(model, PreTrainedModel):
        return model.eval()
    if not isinstance(model, Llama):
        raise TypeError(f"cannot evaluate a {type(model).__name__}: pass a ziya2lab Llama (unwrapped) or an HF model")
    with init_empty_weights():  # parameters on the meta device, buffers (RoPE frequencies) real
        wrapper = LlamaForCausalLM(HFLlamaConfig(**model.config.to_hf_dict()))
    missing, unexpected = wrapper.load_state_dict(model.hf_state_dict(), assign=True, strict=False)
    if unexpected or [name for name in missing if not (model.config.tie_word_embeddings and name == "lm_head.weight")]:
        raise ValueError(f"Llama → LlamaForCausalLM: missing {missing}, unexpected {unexpected}")
    if model.config.tie_word_embeddings:
        wrapper.tie_weights()
    return wrapper.to(next(model.parameters()).device).eval()  # moves the RoPE buffers; parameters are in place


def _harness_lm(model: Any, tokenizer: Any, harness: HarnessConfig, max_length: int) -> tuple[Any, dict[str, Any]]:
    configure_environment()
    from lm_eval.models.huggingface import HFLM

    prefix_id = tokenizer.eos_token_id if harness.prefix_token is PrefixToken.eos else tokenizer.bos_token_id
    if prefix_id is None:
        raise ValueError(f"harness.prefix_token={harness.prefix_token.value}: the tokenizer has no such token")
    add_bos = harness.prefix_token is PrefixToken.bos
    lm = HFLM(pretrained=hf_causal_lm(model), tokenizer=tokenizer, batch_size=harness.batch_size,
              max_length=max_length, prefix_token_id=prefix_id, add_bos_token=add_bos)
    settings = {"max_length": max_length, "prefix_token": harness.prefix_token.value, "prefix_token_id": prefix_id,
                "add_bos_token": add_bos, "batch_size": harness.batch_size, "limit": harness.limit,
                "device": str(lm.device), "dtype": str(lm.model.dtype).removeprefix("torch.")}
    return lm, settings


def _is_generated(name: str) -> bool:
    return name == GENERATED_TAG or name.startswith(f"{GENERATED_TAG}_")


def expand_tasks(names: list[str], task_dir: TaskDirectory | None) -> list[str]:
    """The tag ``ziya2lab`` as its tasks; a generated name that the directory lacks is an error naming both."""
    expanded: list[str] = []
    for name in names:
        if name == GENERATED_TAG:
            expanded += [task for task in task_dir.tasks if task not in expanded]
        elif _is_generated(name) and name not in task_dir.tasks:
            raise KeyError(f"task {name!r} is not generated from these test sets; "
                           f"generated: {', '.join(task_dir.tasks)}")
        elif name not in expanded:
            expanded.append(name)
    return expanded


def _available(names: list[str], manager: Any) -> tuple[list[str], dict[str, str]]:
    """Named tasks whose data loads from the local cache, and why each of the others does not."""
    available, unavailable = [], {}
    for name in names:
        if name not in manager.all_tasks:
            close = difflib.get_close_matches(name, manager.all_tasks, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"lm-eval knows no task {name!r}{hint}")
        try:
            manager.load([name])
        except Exception as error:  # offline dataset lookups fail in many ways (ConnectionError, FileNotFound, ...)
            unavailable[name] = f"{type(error).__name__}: {error}"
        else:
            available.append(name)
    return available, unavailable


def _check_choices_fit(task_dir: TaskDirectory, names: list[str], tokenizer: Any, max_length: int) -> None:
    """lm-eval stops on a bare assertion when a choice is longer than ``max_length`` tokens: name it first."""
    for name in names:
        task = task_dir.tasks.get(name)
        if task is None or task.kind != MULTIPLE_CHOICE:
            continue
        for number, item in enumerate(read_jsonl(task_dir.data_file(name)), start=1):
            continuations = [task.target_delimiter + choice for choice in item["choices"]]
            longest = max(map(len, tokenizer(continuations, add_special_tokens=False)["input_ids"]))
            if longest > max_length:
                raise ValueError(f"{task_dir.data_file(name)}:{number}: a choice is {longest} tokens, more than "
                                 f"max_length={max_length}; lm-eval cannot score it with this tokenizer")


class _TruncationCounter(logging.Filter):
    """Counts (and keeps out of the log) lm-eval's one warning per request whose context it cut to ``max_length``:
    at 128 tokens most multiple-choice stems are cut, and 1,000 identical lines hide everything else."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith(TRUNCATION_WARNING):
            self.count += 1
            return False
        return True


@contextlib.contextmanager
def _counting_truncations() -> Iterator[_TruncationCounter]:
    counter = _TruncationCounter()
    logger = logging.getLogger("lm_eval.models.huggingface")
    logger.addFilter(counter)
    try:
        yield counter
    finally:
        logger.removeFilter(counter)


@contextlib.contextmanager
def _generators_kept() -> Iterator[None]:
    """The caller's global Python, NumPy and torch generators as they were before: lm-eval draws from Python's
    (a random task id evaluated as a default argument on every task load), and a trainer evaluating in process
    must train on the same random stream as without the evaluation."""
    import random

    import numpy as np
    import torch

    states = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.random.set_rng_state(states[2])


def _set_fewshot(tasks: Mapping[str, Any], shots: int | None) -> None:
    """``simple_evaluate``'s few-shot rules: ``shots`` overrides a task's own count unless the task pins 0; a task
    with none gets 0; the few-shot sampler is seeded with lm-eval's default seed."""
    from lm_eval.defaults import DEFAULT_OTHER_SEED

    for task in tasks.values():
        if shots is not None and task.get_config("num_fewshot") != 0:
            task.set_config(key="num_fewshot", value=shots)
        elif task.get_config("num_fewshot") is None:
            task.set_config(key="num_fewshot", value=0)
        task.set_fewshot_seed(seed=DEFAULT_OTHER_SEED)


def _run_tasks(lm: Any, names: list[str], manager: Any, num_fewshot: Mapping[str, int], harness: HarnessConfig,
               kinds: Mapping[str, str]) -> tuple[dict[str, dict[str, Any]], int]:
    """Score ``names`` (one lm-eval call per few-shot count): per task its kind, n, shots and metrics; and how
    many requests had their context cut to ``max_length`` (from the left, as the model was trained to read).

    lm-eval's ``evaluate`` on the loaded tasks, not ``simple_evaluate`` (same records, tested): that one also
    collects the environment for its report (a ``pip list`` subprocess and more on every call, a sizeable share of
    what a small study run costs to evaluate) and re-seeds the caller's global Python, NumPy and torch generators,
    which a trainer evaluating in process must not see (``_generators_kept``)."""
    from lm_eval.evaluator import evaluate

    by_shots: dict[int | None, list[str]] = {}
    for name in names:
        by_shots.setdefault(num_fewshot.get(name), []).append(name)
    record: dict[str, dict[str, Any]] = {}
    truncations = 0
    for shots, group in by_shots.items():
        with _generators_kept(), _counting_truncations() as truncated:
            loaded = manager.load(group)
            _set_fewshot(loaded["tasks"], shots)
            output = evaluate(lm=lm, task_dict=loaded, limit=harness.limit, bootstrap_iters=harness.bootstrap_iters,
                              log_samples=True, confirm_run_unsafe_code=harness.confirm_run_unsafe_code)
        for name in group:
            metrics = task_metrics(output["results"][name])
            proxies, n_scored = choice_proxies(name, output)
            record[name] = {"kind": kinds.get(name, "lm_eval"), "num_fewshot": shots,
                            "n": n_scored or _n_samples(name, output), "metrics": {**metrics, **proxies}}
        truncations += truncated.count
    return record, truncations


def _n_samples(name: str, output: Mapping[str, Any]) -> int:
    members = output.get("group_subtasks", {}).get(name) or [name]
    return sum(int(output["n-samples"].get(member, {}).get("effective", 0)) for member in members)


def prepare_tasks(tasks: list[str], tokenizer: Any, max_length: int, test_sets: Mapping[str, Path] | None = None,
                  generated: GeneratedTasksConfig | None = None
                  ) -> tuple[TaskDirectory | None, list[str], Mapping[str, Path] | None]:
    """(the generated task directory or None, the task names with the tag expanded, the held-out sets used).

    Builds (or reuses) the generated tasks and checks that every answer choice fits ``max_length`` tokens of this
    tokenizer, so a caller can fail before it trains rather than at its first evaluation.
    """
    generated = generated or GeneratedTasksConfig()
    task_dir = None
    if any(_is_generated(name) for name in tasks):
        if test_sets is None:
            test_sets = load_test_sets(generated.test_sets, generated.test_sets_dir or cache_dir("test_sets"))
        task_dir = build_task_dir(test_sets, generated)
    names = expand_tasks(list(tasks), task_dir)
    if task_dir:
        _check_choices_fit(task_dir, names, tokenizer, max_length)
    return task_dir, names, test_sets


def evaluate_model(
    model: Any,
    tokenizer: Any,
    tasks: list[str],
    max_length: int,
    test_sets: Mapping[str, Path] | None = None,
    num_fewshot: Mapping[str, int] | None = None,
    harness: HarnessConfig | None = None,
    generated: GeneratedTasksConfig | None = None,
) -> dict[str, Any]:
    """Evaluate an in-memory model on ``tasks`` (generated names, the tag ``ziya2lab``, or lm-eval task names).

    ``model`` is an unwrapped ziya2lab ``Llama`` or an HF causal LM; ``max_length`` is the sequence length it was
    trained at. ``test_sets`` (``{name: items.jsonl}``) default to ``generated.test_sets`` in the shared cache.
    Returns the record that ``evaluate_run`` writes to ``eval.json``. Single process: call it on one rank.
    """
    harness = harness or HarnessConfig()
    start = time.perf_counter()
    task_dir, names, test_sets = prepare_tasks(tasks, tokenizer, max_length, test_sets, generated)
    named = [name for name in names if not _is_generated(name)]
    manager = task_manager(str(task_dir.path) if task_dir else None, bool(named))
    available, unavailable = _available(named, manager)
    if unavailable and not harness.skip_unavailable:
        raise RuntimeError("tasks unavailable offline: " + "; ".join(f"{k}: {v}" for k, v in unavailable.items()))
    lm, settings = _harness_lm(model, tokenizer, harness, max_length)
    kinds = {name: task.kind for name, task in task_dir.tasks.items()} if task_dir else {}
    chosen = [name for name in names if _is_generated(name) or name in available]
    scored, truncations = _run_tasks(lm, chosen, manager, num_fewshot or {}, harness, kinds) if chosen else ({}, 0)
    import lm_eval

    generated_from = {"path": str(task_dir.path), "content_hash": task_dir.content_hash,
                      "test_sets": {name: str(path) for name, path in test_sets.items()}} if task_dir else None
    return {
        "harness": {"lm_eval_version": lm_eval.__version__, **settings, "contexts_truncated": truncations},
        "task_dir": generated_from,
        "tasks": scored,
        "unavailable": unavailable,
        "wall_time_s": time.perf_counter() - start,
    }


def locate_checkpoint(path: str | Path) -> tuple[Path, RunDir | None]:
    """``(HF checkpoint directory, its run directory or None)`` for a run directory or a checkpoint directory."""
    path = Path(path).resolve()
    if RunDir(path).final.is_dir():
        return RunDir(path).final, RunDir(path)
    if RunDir(path.parent).final == path:
        return path, RunDir(path.parent)
    return path, None


def checkpoint_max_length(checkpoint: Path) -> tuple[int, str]:
    """The length to evaluate at: the run's ``train.seq_len`` when ``checkpoint`` is a finished run's ``final/``,
    else the model's ``max_position_embeddings``; with where it came from, for the record."""
    _, run = locate_checkpoint(checkpoint)
    if run is not None and run.is_done():
        return run.read_summary().seq_len, f"{run.summary} seq_len"
    from transformers import AutoConfig

    return int(AutoConfig.from_pretrained(checkpoint).max_position_embeddings), "config.json max_position_embeddings"


def evaluate_checkpoint(checkpoint: str | Path, tasks: list[str], harness: HarnessConfig | None = None,
                        **options: Any) -> dict[str, Any]:
    """Evaluate an HF checkpoint directory (a run's ``final/`` or any local LLaMA); ``options`` as for
    ``evaluate_model``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    configure_environment()
    harness = harness or HarnessConfig()
    checkpoint = Path(checkpoint).resolve()
    if not (checkpoint / "config.json").exists():
        raise FileNotFoundError(f"{checkpoint} is not an HF checkpoint (no config.json)")
    max_length, source = ((harness.max_length, "harness.max_length") if harness.max_length
                          else checkpoint_max_length(checkpoint))
    model = AutoModelForCausalLM.from_pretrained(checkpoint, torch_dtype="auto").to(harness.device)
    record = evaluate_model(model, AutoTokenizer.from_pretrained(checkpoint), tasks, max_length, harness=harness,
                            **options)
    record["checkpoint"] = str(checkpoint)
    record["harness"]["max_length_from"] = source
    return record


def _request_key(run: RunDir, tasks: list[str], test_sets: Mapping[str, Path] | None,
                 num_fewshot: Mapping[str, int] | None, harness: HarnessConfig | None,
                 generated: GeneratedTasksConfig | None) -> str:
    """What an evaluation of ``run`` depends on: the run's summary (a retrained run writes a new one), the task
    list, the settings, the held-out files' bytes and the task generator's format."""
    return hash_config({"summary": hash_file(run.summary), "tasks": list(tasks), "num_fewshot": dict(num_fewshot or {}),
                        "harness": asdict(harness or HarnessConfig()),
                        "generated": asdict(generated or GeneratedTasksConfig()), "task_format": TASK_FORMAT,
                        "test_sets": {name: hash_file(path) for name, path in sorted((test_sets or {}).items())}})


def evaluate_run(run_dir: str | Path, tasks: list[str], test_sets: Mapping[str, Path] | None = None,
                 num_fewshot: Mapping[str, int] | None = None, harness: HarnessConfig | None = None,
                 generated: GeneratedTasksConfig | None = None) -> dict[str, Any]:
    """Evaluate a finished run's ``final/`` and write ``eval.json`` into the run directory; returns the record."""
    run = RunDir(Path(run_dir))
    if not is_evaluable(run.path):
        raise FileNotFoundError(f"{run.path} is not a finished run (needs {run.summary.name} and {run.final.name}/)")
    record = evaluate_checkpoint(run.final, tasks, harness=harness, test_sets=test_sets, num_fewshot=num_fewshot,
                                 generated=generated)
    record["request"] = _request_key(run, tasks, test_sets, num_fewshot, harness, generated)
    atomic_write_json(run.eval, record)
    return record


def evaluate_if_stale(run_dir: str | Path, tasks: list[str], test_sets: Mapping[str, Path] | None = None,
                      num_fewshot: Mapping[str, int] | None = None, harness: HarnessConfig | None = None,
                      generated: GeneratedTasksConfig | None = None) -> tuple[dict[str, Any], bool]:
    """A finished run's record for these inputs: its ``eval.json`` when that was made for them (see
    ``_request_key``), else a new evaluation (``evaluate_run``); and whether it was evaluated now."""
    run = RunDir(Path(run_dir))
    previous = read_eval(run.path)
    if previous and run.is_done() and previous.get("request") == _request_key(run, tasks, test_sets, num_fewshot,
                                                                                harness, generated):
        return previous, False
    return evaluate_run(run.path, tasks, test_sets, num_fewshot, harness, generated), True


def is_evaluable(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` is a finished run with a ``final/`` checkpoint (failed runs have neither)."""
    run = RunDir(Path(run_dir))
    return run.is_done() and run.final.is_dir()


def evaluate_runs(run_dirs: Iterable[str | Path], tasks: list[str], test_sets: Mapping[str, Path] | None = None,
                  num_fewshot: Mapping[str, int] | None = None, harness: HarnessConfig | None = None,
                  generated: GeneratedTasksConfig | None = None) -> list[Path]:
    """Evaluate every finished run among ``run_dirs`` whose ``eval.json`` is missing or was made for other
    inputs, so a re-run evaluates only what changed; returns the runs evaluated. Unfinished and failed runs have
    no ``final/`` and are passed over."""
    return [Path(run_dir) for run_dir in run_dirs if is_evaluable(run_dir)
            and evaluate_if_stale(run_dir, tasks, test_sets, num_fewshot, harness, generated)[1]]


def evaluate_app(app: EvaluateAppConfig) -> tuple[dict[str, Any], Path]:
    """The evaluate app's work: evaluate ``app.checkpoint`` and write the record; returns it and its path."""
    checkpoint, run = locate_checkpoint(app.checkpoint)
    if app.output:
        output = Path(app.output)
    elif run is not None:
        output = run.eval
    else:
        raise ValueError(f"checkpoint={app.checkpoint} is not inside a run directory: say where the record goes "
                         f"with output=<file.json>")
    record = evaluate_checkpoint(checkpoint, list(app.tasks), harness=app.harness, generated=app.generated,
                                 num_fewshot=dict(app.num_fewshot))
    atomic_write_json(output, record)
    return record, output


def read_eval(run_dir: str | Path) -> dict[str, Any] | None:
    """A run's evaluation record, or ``None`` if it was never evaluated."""
    path = RunDir(Path(run_dir)).eval
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
