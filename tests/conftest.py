"""Test-wide environment: nothing may reach a hub or a wandb server, and torch uses this machine's 2 cores."""

import os

import pytest

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """With ``ZIYA2LAB_REQUIRE_SLURM=1`` (CI), a test marked ``slurm`` that skipped, for whatever reason, fails."""
    report = yield
    if report.skipped and item.get_closest_marker("slurm") and os.environ.get("ZIYA2LAB_REQUIRE_SLURM") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped ({report.longrepr}), but ZIYA2LAB_REQUIRE_SLURM=1 requires the Slurm tests to run"
    return report
