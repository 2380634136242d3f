"""Sweeps and the study's grid as real Slurm jobs: the same table as on this machine, and a cancelled run fails.

One tiny two-run grid (seeds 0 and 1) runs twice at once: as a Hydra multirun on the local launcher, and on the
Slurm launcher preset of the local cluster. ``experiments/collect.py`` must give the same table for both, losses
equal. The study's runner then runs seed 0 again on Slurm (``slurm_launch``) beside a long run that is cancelled
mid-run: the first matches the local table, the second is reported failed, by the runner and by collect, and
nothing waits for it forever.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from slurm_jobs import JOB_PREFIX, PROCESS_TIMEOUT_S, SlurmControl, finish, start_sweep, wait_until

from ziya2lab.common.attributes import RUN_COLUMN
from ziya2lab.common.paths import repo_root
from ziya2lab.common.run_dir import RunDir
from ziya2lab.study.collect import RESULT_COLUMNS, collect
from ziya2lab.study.grid import RunSpec, compose_trainer, typed_trainer
from ziya2lab.study.launchers import slurm_launch
from ziya2lab.study.runner import RunOutcome, run_grid

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

TINY_RUN = ["model=llama_100k", "tokenizer.vocab_size=400", "tokenizer.max_train_chars=60000", "train.seq_len=64",
            "train.batch_size=4", "train.max_steps=24", "train.schedule=wsd", "train.wsd_branch_at_tokens=[512]",
            "train.eval_every_steps=24", "train.ckpt_every_steps=12", "data.eval_max_windows=2", "logger=wandb"]
SEEDS = (0, 1)
# What a launcher may change in the table: where a run lives and how long it took.
LAUNCHER_COLUMNS = [RUN_COLUMN, "run_dir", "wall_time"]
ROW_ORDER = ["seed", "V", "test_set"]


def _collected(directory: Path) -> pd.DataFrame:
    """``python experiments/collect.py dir=<directory>``, read back, in a launcher-independent row order."""
    command = [sys.executable, str(repo_root() / "experiments" / "collect.py"), f"dir={directory}"]
    process = subprocess.run(command, capture_output=True, text=True, cwd=repo_root(), timeout=PROCESS_TIMEOUT_S)
    assert process.returncode == 0, process.stderr[-3000:]
    table = pd.read_parquet(directory / "results.parquet")
    return table.sort_values(ROW_ORDER).reset_index(drop=True)


def _results(table: pd.DataFrame) -> pd.DataFrame:
    """The table's standard columns, less those a launcher may change (collect adds one per varying setting)."""
    return table[[column for column in RESULT_COLUMNS if column not in LAUNCHER_COLUMNS]].reset_index(drop=True)


@pytest.fixture(scope="module")
def sweeps(slurm: SlurmControl, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The grid as a multirun on this machine and on Slurm, started together; their sweep directories."""
    root = tmp_path_factory.mktemp("sweeps")
    grid = [*TINY_RUN, "train.threads=1", f"seed={','.join(map(str, SEEDS))}"]
    processes = {"local": start_sweep(root / "local", "local", grid),
                 "slurm": start_sweep(root / "slurm", "slurm_local", grid, "sweep")}
    try:
        outputs = {name: finish(process, root / f"{name}.log") for name, process in processes.items()}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    for name, process in processes.items():
        assert process.returncode == 0, f"{name} sweep failed:\n{outputs[name][-3000:]}"
    return {name: root / name for name in processes}


@pytest.fixture(scope="module")
def local_table(sweeps: dict[str, Path]) -> pd.DataFrame:
    return _collected(sweeps["local"])


def test_a_sweep_on_slurm_collects_the_same_table_as_on_this_machine(
    sweeps: dict[str, Path], local_table: pd.DataFrame
) -> None:
    results = sorted(path.name for path in (sweeps["slurm"] / ".submitit").rglob("*_result.pkl"))
    assert len(results) == len(SEEDS), f"one Slurm job (array task) per run: {results}"
    local, on_slurm = local_table, _collected(sweeps["slurm"])
    assert len(local) == len(SEEDS) * 2 * 2  # runs x data volumes (branch + final) x test sets
    assert list(local[RUN_COLUMN]) == list(on_slurm[RUN_COLUMN]), "the same job numbers"
    pd.testing.assert_frame_equal(_results(on_slurm), _results(local), check_exact=True)


def _spec(label: str, overrides: list[str], runs_dir: Path) -> RunSpec:
    config = typed_trainer(compose_trainer(overrides), [], runs_dir / label)
    return RunSpec(label, tuple(overrides), config)


def test_the_study_grid_on_slurm_matches_this_machine_and_a_cancelled_run_fails(
    slurm: SlurmControl, local_table: pd.DataFrame, tmp_path: Path
) -> None:
    runs_dir = tmp_path / "runs"
    finished = _spec("finished", [*TINY_RUN, "seed=0"], runs_dir)
    cancelled = _spec("cancelled", [*TINY_RUN, "seed=1", "train.max_steps=300"], runs_dir)
    launch = slurm_launch("slurm_local", [f"hydra.launcher.name={JOB_PREFIX}grid"])
    outcomes: list[RunOutcome] = []
    grid = threading.Thread(target=lambda: outcomes.extend(run_grid([finished, cancelled], runs_dir, workers=2,
                                                                    threads_per_run=1, launch=launch)))
    grid.start()
    cancelled_run = runs_dir / cancelled.run_id
    wait_until(lambda: len(RunDir(cancelled_run).read_metrics()) >= 1 or not grid.is_alive(), PROCESS_TIMEOUT_S,
               "the long run to train")
    assert grid.is_alive(), f"the runner ended early: {outcomes}"
    job = slurm.job_of(cancelled_run)
    slurm.freeze(job)  # so that it is still training when the cancel arrives, however fast the machine
    slurm.cancel(job)
    grid.join(timeout=PROCESS_TIMEOUT_S)
    assert not grid.is_alive(), "the runner still waits for a cancelled job"

    status = {outcome.spec.label: outcome.status for outcome in outcomes}
    assert status == {"finished": "completed", "cancelled": "failed"}
    assert slurm.wait_ended(job) == ["CANCELLED"]
    assert "CANCELLED" in RunDir(cancelled_run).log.read_text(), "the run's log says why the sweep failed"

    assert [skipped["run_dir"] for skipped in collect(runs_dir).attrs["skipped"]] == [str(cancelled_run)]
    seed_0 = local_table.query("seed == 0")
    pd.testing.assert_frame_equal(_results(_collected(runs_dir)), _results(seed_0), check_exact=True)
