"""A factory output directory records what built it, so a rerun reuses it only for the same settings and inputs.

datatrove skips every task whose completion marker exists, which is what makes a killed run resume; it does not
know whether the markers came from the same settings. Before any stage runs, the factory writes
``factory_run.json``: the settings that decide the output (not those that only decide where or how fast it runs,
nor the evaluation, which is redone on every run), a fingerprint of every input file, the scoring models (named by
a hash of their training text) and a hash of the factory's code. A directory whose record differs is refused with
the differences named, or deleted and rebuilt with ``overwrite=true``; a directory holding factory output without
a record is refused too.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import xxhash

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.hashing import hash_bytes
from ziya2lab.data.config import FactoryConfig

log = logging.getLogger(__name__)

RECORD_FILE = "factory_run.json"
# what the factory writes into an output directory: all that overwrite=true deletes, and nothing else
FACTORY_ENTRIES = ("stage1", "scores", "malformed", "dedup", "removed", "clean", "logs", "stats.json", "report.json",
                   "report.md", "report.png", "labelling_sheet.csv", "labelling_sheet.jsonl", RECORD_FILE)
# settings that do not change what is built: where and how fast it runs, the progress bars, the evaluation
RUN_ONLY_SETTINGS = ("name", "executor", "workers", "slurm", "evaluation", "output.progress")
SAMPLE_BYTES = 1 << 16  # a file is fingerprinted by its size and the hash of its first and last 64 KiB


class OutputDirConflict(RuntimeError):
    """The output directory holds a factory run with other settings or inputs (the message lists them)."""


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return {key: item for name, child in value.items() for key, item in _flatten(child, f"{prefix}.{name}").items()}
    return {prefix: value}


def output_settings(config: FactoryConfig, tasks: int) -> dict[str, Any]:
    """The settings that decide the output, with the number of tasks resolved (it orders the corpus)."""
    settings = _plain(config)
    settings["tasks"] = tasks
    for dotted in RUN_ONLY_SETTINGS:
        *parents, leaf = dotted.split(".")
        node = settings
        for parent in parents:
            node = node[parent]
        node.pop(leaf)
    return settings


def fingerprint(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        handle.seek(max(0, size - SAMPLE_BYTES))
        tail = handle.read(SAMPLE_BYTES)
    return {"bytes": size, "sample_xxh3": xxhash.xxh3_64_hexdigest(head + tail)}


def code_hash() -> str:
    """Hash of the factory's modules: a changed step may change the output as much as a changed setting."""
    sources = sorted(Path(__file__).parent.glob("*.py"))
    return hash_bytes(*(path.read_bytes() for path in sources))[:16]


def build_record(settings: dict[str, Any], files: list[Path], models: dict[str, str]) -> dict[str, Any]:
    return {"settings": settings, "inputs": {str(path.resolve()): fingerprint(path) for path in files},
            "scoring_models": models, "code": code_hash()}


def differences(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable differences between two records."""
    lines = []
    old, new = _flatten(recorded.get("settings", {}), "factory"), _flatten(current["settings"], "factory")
    for key in sorted(set(old) | set(new)):
        then, now = old.get(key, "<unset>"), new.get(key, "<unset>")
        if then != now:
            lines.append(f"{key}: {json.dumps(then)} then, {json.dumps(now)} now")
    old_inputs, new_inputs = recorded.get("inputs", {}), current["inputs"]
    for path in sorted(set(old_inputs) | set(new_inputs)):
        if path not in new_inputs:
            lines.append(f"input {path}: read then, not an input now")
        elif path not in old_inputs:
            lines.append(f"input {path}: not an input then")
        elif old_inputs[path] != new_inputs[path]:
            lines.append(f"input {path}: changed ({old_inputs[path]['bytes']:,} bytes then, "
                         f"{new_inputs[path]['bytes']:,} now, or other content)")
    if recorded.get("scoring_models") != current["scoring_models"]:
        lines.append(f"scoring models: {recorded.get('scoring_models')} then, {current['scoring_models']} now")
    if recorded.get("code") != current["code"]:
        lines.append(f"factory code (ziya2lab/data/*.py): {recorded.get('code')} then, {current['code']} now")
    return lines


def _clear(out: Path) -> None:
    for name in FACTORY_ENTRIES:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def claim_output_dir(out: Path, record: dict[str, Any], overwrite: bool) -> None:
    """Make ``out`` this run's: reuse (resume) it if it was built the same way, else refuse or clear it."""
    existing = out / RECORD_FILE
    found = [name for name in FACTORY_ENTRIES if (out / name).exists()]
    if existing.exists():
        changes = differences(json.loads(existing.read_text()), record)
        if not changes:
            return
        problem = "was built with other settings or inputs:\n  " + "\n  ".join(changes)
    elif found:
        problem = f"holds factory output ({', '.join(found)}) but no {RECORD_FILE} saying what built it"
    else:
        problem = ""
    if problem and not overwrite:
        raise OutputDirConflict(f"output_dir {out} {problem}\nGive a new output_dir, or overwrite=true to delete "
                                f"the factory's output there ({', '.join(FACTORY_ENTRIES[:-1])}) and rebuild it.")
    if problem:
        log.warning("overwrite=true: deleting the factory output in %s, which %s", out, problem)
        _clear(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / RECORD_FILE, record)
