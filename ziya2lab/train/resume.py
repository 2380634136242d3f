"""Resuming a run from its directory trains the run that is there, not whatever today's command composes to.

With ``train.resume=auto`` in a directory that holds a run's saved config, that config is the run's: a command
that only names the directory (``hydra.run.dir=runs/a train.resume=auto``) continues the same model, data and
schedule. A command-line override that contradicts the saved config is refused, naming the key, since a checkpoint
cannot continue a different run. Keys that only say how to run or what to report (threads, launcher topology,
logging, compilation, downstream evaluation) may change.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict

from ziya2lab.common.run_dir import RunDir
from ziya2lab.train.config import TrainAppConfig

RUNTIME_KEYS = ("output_dir", "train.resume", "train.threads", "train.compile", "train.compile_mode", "accelerate",
                "logger", "downstream")


def _is_runtime(key: str) -> bool:
    return any(key == runtime or key.startswith(runtime + ".") for runtime in RUNTIME_KEYS)


def _lookup(tree: Any, key: str) -> tuple[bool, Any]:
    """(found, value) of a dotted key in nested dicts and lists."""
    for part in key.split("."):
        if isinstance(tree, Mapping) and part in tree:
            tree = tree[part]
        elif isinstance(tree, list) and part.isdigit() and int(part) < len(tree):
            tree = tree[int(part)]
        else:
            return False, None
    return True, tree


def _assign(tree: dict[str, Any], key: str, value: Any) -> None:
    *parents, name = key.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[name] = value


def conflicting_overrides(composed: Mapping[str, Any], saved: Mapping[str, Any], overrides: Sequence[str]) -> list[str]:
    """The command-line overrides that make ``composed`` differ from the run's ``saved`` config, each with the
    value the run has."""
    conflicts = []
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        if key.startswith("hydra") or _is_runtime(key):
            continue
        (in_composed, now), (in_saved, before) = _lookup(composed, key), _lookup(saved, key)
        if in_composed and in_saved and now != before:
            had = f"another {key}" if isinstance(before, Mapping) else f"{key}={before!r}"
            conflicts.append(f"{override.input_line} (the run has {had})")
    return conflicts


def _drop_keys_not_saved(node: DictConfig, saved: Mapping[str, Any]) -> None:
    """Merging keeps a schema default's dict entries (the default eval sets, say); the saved run had none of them."""
    for key in list(node.keys()):
        child = node._get_node(key)
        if key not in saved:
            if OmegaConf.get_type(node) is dict:
                with open_dict(node):
                    del node[key]
        elif isinstance(child, DictConfig) and isinstance(saved[key], Mapping):
            _drop_keys_not_saved(child, saved[key])


def continues_saved_run(cfg: DictConfig) -> bool:
    """Whether ``cfg`` asks to continue a run whose config is saved in its directory."""
    return cfg.train.resume == "auto" and RunDir(cfg.output_dir).config.exists()


def resumed_config(cfg: DictConfig, overrides: Sequence[str]) -> TrainAppConfig:
    """The saved config of the run in ``cfg.output_dir``, with the runtime keys of ``cfg``.

    Raises ``ValueError`` naming each of ``overrides`` (the command line's) that contradicts the saved run.
    """
    run = RunDir(cfg.output_dir)
    saved = run.read_config()
    composed = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    conflicts = conflicting_overrides(composed, saved, overrides)
    if conflicts:
        raise ValueError(
            f"train.resume=auto continues the run saved in {run.config}, but the command line changes it: "
            f"{'; '.join(conflicts)}. Drop these overrides to continue it, or give a new hydra.run.dir for a new run."
        )
    values = copy.deepcopy(saved)
    for key in RUNTIME_KEYS:
        found, value = _lookup(composed, key)
        if found:
            _assign(values, key, value)
    resumed = OmegaConf.merge(OmegaConf.structured(TrainAppConfig), values)
    _drop_keys_not_saved(resumed, values)
    return OmegaConf.to_object(resumed)
