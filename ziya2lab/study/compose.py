"""Compose another app's config (the data factory's, say) from inside the study, with the CLI's override syntax."""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from ziya2lab.common.paths import repo_root


def compose_app(config_name: str, overrides: Sequence[str]) -> DictConfig:
    """The config ``python experiments/<app>.py <overrides>`` would run with (Hydra's own interpolations aside).

    Inside a Hydra app the global search path is already the project's ``conf/``; elsewhere (tests, notebooks) it
    is initialised for the duration of the call.
    """
    if GlobalHydra.instance().is_initialized():
        return compose(config_name=config_name, overrides=list(overrides))
    with initialize_config_dir(config_dir=str(repo_root() / "conf"), version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides))
