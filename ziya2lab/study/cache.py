"""Resumable study steps: a step's output is reused only if it finished under the same settings.

Each step writes a ``.step.json`` marker last, holding the hash of the settings it ran with. Re-running the
study skips a step whose marker matches and redoes one whose settings changed (or that was interrupted), so a
changed level list or rater threshold never silently reuses stale corpora.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.hashing import hash_config

log = logging.getLogger(__name__)
MARKER = ".step.json"
Result = TypeVar("Result")


def run_cached_step(
    directory: Path,
    settings: Any,
    build: Callable[[Path], Result],
    load: Callable[[Path], Result],
) -> Result:
    """``load(directory)`` if the step finished with these ``settings``, else rebuild it from scratch."""
    marker = directory / MARKER
    key = hash_config(settings)
    if marker.exists() and json.loads(marker.read_text()).get("settings_hash") == key:
        log.info("step %s: reusing finished output", directory.name)
        return load(directory)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    start = time.perf_counter()
    result = build(directory)
    atomic_write_json(marker, {"settings_hash": key, "seconds": time.perf_counter() - start})
    return result
