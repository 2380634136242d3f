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


CONFIG_DIR_ENV = "ZIYA2LAB_CONFIG_DIR"


def repo_root() -> Path:
    """The checkout this package was installed from (editable install): it holds ``conf/``, ``setup/``, ..."""
    return Path(__file__).resolve().parents[2]


def config_dir() -> Path:
    """The Hydra config directory every app composes from: ``$ZIYA2LAB_CONFIG_DIR``, else the checkout's ``conf/``.

    One answer for the apps' ``@hydra.main`` and for the study composing another app's config, so a relocated or
    site-specific config tree is picked up by both.
    """
    configured = os.environ.get(CONFIG_DIR_ENV)
    return Path(configured).expanduser().resolve() if configured else repo_root() / "conf"
