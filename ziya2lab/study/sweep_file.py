"""A study's training grid as a Hydra sweep file, generated from the grid itself (``ziya2lab.study.grid``).

    python -m ziya2lab.study.sweep_file > sweeps/attribute_grid.yaml          # the default study's grid
    python -m ziya2lab.study.sweep_file study=mini                            # any preset or override of the study

The sweep trains on the corpora, test sets and tokenizer that the study builds, at the paths the study would
use; until they exist it refuses to start (before Hydra makes any job directory) and says to run the study first.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from omegaconf import OmegaConf, open_dict

from ziya2lab.study.compose import compose_app
from ziya2lab.study.config import StudyAppConfig
from ziya2lab.study.grid import sweep_yaml
from ziya2lab.study.runner import launch_overrides
from ziya2lab.study.study import plan_grid

STUDY_APP = "attribute_scaling"


def study_config(overrides: Sequence[str]) -> StudyAppConfig:
    """The study app's config for ``overrides``, its output directory being the one the app would run in."""
    composed = compose_app(STUDY_APP, overrides, with_hydra=True)
    with open_dict(composed):
        composed.output_dir = composed.hydra.run.dir
        del composed["hydra"]
    return OmegaConf.to_object(composed)


def study_sweep_yaml(overrides: Sequence[str]) -> str:
    cfg = study_config(overrides)
    specs = plan_grid(cfg)
    study = cfg.study
    command = " ".join(["python -m ziya2lab.study.sweep_file", *overrides])
    header = (
        f"The grid of the study {study.name!r} as a Hydra multirun over the corpora, test sets and tokenizer that the\n"
        f"study builds in {cfg.output_dir}: {len(study.grid.models)} model presets x "
        f"{len(specs) // max(1, len(study.grid.models) * len(study.grid.seeds))} corpora x {len(study.grid.seeds)} "
        f"seed(s) = {len(specs)} runs, {len(study.grid.branch_fractions) + 1} data volumes each.\n"
        f"Generated from the study's grid by `{command}`; change the study's config, not this file.\n"
        "Saved as sweeps/<name>.yaml it runs as a multirun of the trainer (2 jobs at a time here, or on Slurm):\n\n"
        "    python -m ziya2lab.train -m +sweep=<name>\n"
        "    python -m ziya2lab.train -m +sweep=<name> hydra/launcher=slurm hydra.launcher.partition=<partition>\n"
    )
    hint = f"build them first by running the study (study={study.name}; `make run` runs the default one)"
    return sweep_yaml(specs, launch_overrides(study.threads_per_run), header, hint)


def main(argv: Sequence[str]) -> None:
    sys.stdout.write(study_sweep_yaml(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
