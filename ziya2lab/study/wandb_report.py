"""A wandb Report of a study's runs (wandb-workspaces), or, offline, a plain account of what it would publish.

Runs are logged offline by default (nothing needs a login), so the report is built in two steps: ``wandb sync``
uploads the offline runs, then this builds the report from the project's runs on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    """wandb's offline run directories below ``root`` (what ``wandb sync`` would upload)."""
    return sorted(path for path in root.rglob("offline-run-*") if path.is_dir())


def describe(plan: ReportPlan, root: Path | None) -> str:
    """What the report would contain and where it would go, for an offline machine."""
    target = f"{plan.entity + '/' if plan.entity else ''}{plan.project}"
    lines = [
        f"wandb is offline: nothing was published. Online, a report '{plan.title}' in project {target} would show:",
        *(f"  - {section}" for section in plan.sections()),
    ]
    if root is not None:
        runs = offline_runs(root)
        lines.append(f"{len(runs)} offline wandb runs under {root}. To publish, upload them:")
        lines.append(f"  wandb sync {root}/**/wandb/offline-run-*   and then, with WANDB_MODE=online,")
    else:
        lines.append("To publish: wandb sync the runs' offline directories, then with WANDB_MODE=online,")
    lines.append("  python experiments/wandb_report.py logger.mode=online")
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
