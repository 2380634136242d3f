"""A wandb Report of a study's runs (wandb-workspaces), or, offline, a plain account of what it would publish.

Runs are logged offline by default (nothing needs a login), so the report is built in two steps: ``wandb sync``
uploads the offline runs, then this builds the report from the project's runs on the server.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

OFFLINE_RUN_PREFIX = "offline-run-"  # how wandb names a run directory logged with mode=offline


@dataclass
class ReportPlan:
    project: str
    entity: str | None
    title: str
    group: str | None
    test_sets: list[str]

    def sections(self) -> list[str]:
        return [
            "training loss against tokens, one line per run" + (f" (group {self.group})" if self.group else ""),
            *(f"eval/{name} against tokens, grouped by model width" for name in self.test_sets),
            "final eval losses against parameters_non_embedding (scatter)",
            "the study's summary run: results table, fit table and report figures",
        ]


def offline_runs(root: Path) -> list[Path]:
    """wandb's offline run directories below ``root``, wherever they are (a run's ``wandb/``, a study's summary run),
    not searching hidden directories (``.venv``, ``.git``) or inside a run."""
    found = []
    for directory, subdirectories, _files in os.walk(root):
        subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
        runs = [name for name in subdirectories if name.startswith(OFFLINE_RUN_PREFIX)]
        found += [Path(directory) / name for name in runs]
        subdirectories[:] = [name for name in subdirectories if name not in runs]
    return sorted(found)


def sync_command(root: Path) -> str:
    """A shell command (plain POSIX ``find``, no ``**`` globstar) that uploads exactly ``offline_runs(root)``."""
    return (f"find {shlex.quote(str(root))} -mindepth 1 -name '.*' -prune -o -type d -name '{OFFLINE_RUN_PREFIX}*' "
            "-prune -exec wandb sync {} +")


def describe(plan: ReportPlan, root: Path, publish_command: str) -> str:
    """What the report would contain and where it would go, for an offline machine, how to upload the runs found
    below ``root``, and then ``publish_command`` (the caller's own command line, online)."""
    if not root.is_dir():
        raise FileNotFoundError(f"runs_dir={root}: no such directory (set runs_dir to where your runs are)")
    target = f"{plan.entity + '/' if plan.entity else ''}{plan.project}"
    runs = offline_runs(root)
    lines = [
        f"wandb is offline: nothing was published. Online, a report '{plan.title}' in project {target} would show:",
        *(f"  - {section}" for section in plan.sections()),
        f"{len(runs)} offline wandb runs under {root}. To publish, upload them:",
        f"  {sync_command(root)}",
        "and then, with WANDB_MODE=online:",
        f"  {publish_command}",
    ]
    return "\n".join(lines)


def publish(plan: ReportPlan) -> str:
    """Build and save the report on the wandb server; returns its URL."""
    import wandb
    import wandb_workspaces.reports.v2 as wr

    if not wandb.api.api_key:
        raise RuntimeError("publishing a wandb report needs a login: run `wandb login` or set WANDB_API_KEY")
    runset = wr.Runset(
        entity=plan.entity or wandb.Api().default_entity,
        project=plan.project,
        filters=f"Config('logger.group') = '{plan.group}'" if plan.group else None,
    )
    panels = [
        wr.LinePlot(title="training loss", x="tokens", y=["loss"], log_x=True),
        *(
            wr.LinePlot(title=f"eval/{name}", x="tokens", y=[f"eval/{name}"], log_x=True, groupby="model.hidden_size")
            for name in plan.test_sets
        ),
        *(
            wr.ScatterPlot(title=f"final eval/{name} vs N", x="parameters_non_embedding", y=f"eval/{name}", log_x=True)
            for name in plan.test_sets
        ),
    ]
    report = wr.Report(
        project=plan.project,
        entity=plan.entity,
        title=plan.title,
        description="Data-centric scaling study: loss against data volume, model size and data attributes.",
        blocks=[
            wr.H1(text=plan.title),
            wr.P(text="Runs of the ziya2lab attribute-scaling study; fits and figures are in the summary run."),
            wr.PanelGrid(runsets=[runset], panels=panels),
        ],
    )
    report.save()
    return report.url
