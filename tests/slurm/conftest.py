"""The local Slurm cluster (``make slurm-up``) for the tests marked ``slurm``.

Without a cluster answering, those tests skip with the reason; with ``ZIYA2LAB_REQUIRE_SLURM=1`` (CI) they fail
instead. Whatever is left of the tests' jobs at the end is cancelled, so the tests leave nothing running.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from slurm_jobs import COMMAND_TIMEOUT_S, JOB_PREFIX, SlurmControl, run_command, wait_until

from ziya2lab.common.paths import repo_root

REQUIRE_ENV = "ZIYA2LAB_REQUIRE_SLURM"
# What must answer: slurmctld, and slurmdbd behind sacct (without it submitit never learns that a job ended).
PROBES = {"slurmctld": ["scontrol", "ping"], "slurmdbd": ["sacct", "--noheader", "--starttime=now"]}


def _slurm_conf() -> str | None:
    """The existing configuration file named by $SLURM_CONF, else the one scripts/slurm/up.sh keeps in its state
    directory."""
    conf = os.environ.get("SLURM_CONF")
    if not conf:
        printed = run_command("bash", str(repo_root() / "scripts" / "slurm" / "env.sh"))
        match = re.search(r"^export SLURM_CONF=(\S+)$", printed, re.MULTILINE)
        conf = match.group(1) if match else None
    return conf if conf and Path(conf).is_file() else None


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires the Slurm tests to run", pytrace=False)
    pytest.skip(f"{reason}: start the local cluster with `make slurm-up`")


@pytest.fixture(scope="session")
def slurm() -> Iterator[SlurmControl]:
    """A cluster that answers, with accounting; skipped (or, in CI, failed) otherwise."""
    conf = _slurm_conf()
    if conf is None:
        _unavailable("no Slurm configuration: neither $SLURM_CONF nor scripts/slurm/up.sh's state directory has one")
    os.environ["SLURM_CONF"] = conf  # the sweeps the tests start, and their jobs, inherit it
    for daemon, probe in PROBES.items():
        try:
            subprocess.run(probe, capture_output=True, check=True, timeout=COMMAND_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as error:
            _unavailable(f"{daemon} does not answer `{' '.join(probe)}` with {conf} ({error})")
    yield SlurmControl()
    for job in SlurmControl.jobs_named(JOB_PREFIX):
        subprocess.run(["scancel", job], check=False, timeout=COMMAND_TIMEOUT_S)
    wait_until(lambda: not SlurmControl.jobs_named(JOB_PREFIX), 60, "the tests' jobs to leave the queue", poll_s=1)
