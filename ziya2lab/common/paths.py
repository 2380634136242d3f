"""Where fetched resources and derived artefacts are cached.

One root, ``$ZIYA2LAB_CACHE`` (default ``~/.cache/ziya2lab``), so that set-up scripts, tests and runs agree, and a
user can wipe or relocate every derived file at once.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    root = Path(os.environ.get("ZIYA2LAB_CACHE", Path.home() / ".cache" / "ziya2lab")).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_dir(*parts: str) -> Path:
    """A subdirectory of the cache root, created on first use."""
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def repo_root() -> Path:
    """The checkout that holds ``conf/`` (for experiments run from a source tree)."""
    return Path(__file__).resolve().parents[2]
