"""Compose another app's config (the data factory's, say) from inside the study, with the CLI's override syntax."""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from ziya2lab.common.paths import config_dir


def compose_app(config_name: str, overrides: Sequence[str], with_hydra: bool = False) -> DictConfig:
    """The config the app ``config_name`` would run with given ``overrides`` (Hydra's own interpolations aside);
    ``with_hydra`` keeps the ``hydra`` node (the run directory, the preset choices).

    Inside a Hydra app the global search path is already the project's config directory; elsewhere (tests,
    notebooks) it is initialised for the duration of the call.
    """
    if GlobalHydra.instance().is_initialized():
        return compose(config_name=config_name, overrides=list(overrides), return_hydra_config=with_hydra)
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides), return_hydra_config=with_hydra)
