"""The factory's stages on datatrove's executors: the Slurm job arrays give what the local executor gives."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ziya2lab.data.config import ExecutorKind, FactoryConfig, InputConfig, OutputConfig, SlurmConfig
from ziya2lab.data.executors import SlurmStageExecutor, _environment_command
from ziya2lab.data.factory import run_factory
from ziya2lab.data.readers import MalformedRecord, read_documents
from ziya2lab.data.sources import iter_source


def test_slurm_jobs_leave_unset_site_settings_to_the_cluster(tmp_path: Path) -> None:
    executor = SlurmStageExecutor(pipeline=[], tasks=3, time="1:00:00", partition="", mem_per_cpu_gb=0, qos="",
                                  logging_dir=str(tmp_path / "logs"), job_name="x")
    arguments = executor.get_sbatch_args(3)
    assert "partition" not in arguments and "mem-per-cpu" not in arguments and "qos" not in arguments
    assert arguments["array"] == "0-2" and arguments["time"] == "1:00:00"
    executor.partition, executor.mem_per_cpu_gb = "cpu", 4
    assert executor.get_sbatch_args(3)["partition"] == "cpu" and executor.get_sbatch_args(3)["mem-per-cpu"] == "4G"
    assert _environment_command(SlurmConfig()).startswith(("source ", "export PATH="))
    assert _environment_command(SlurmConfig(env_command="module load python")) == "module load python"


def _slurm_reachable() -> str | None:
    """Why Slurm tests cannot run here, or None."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return "no Slurm client commands (scripts/slurm/up.sh brings up the local cluster)"
    try:
        subprocess.run(["sinfo", "--noheader"], check=True, capture_output=True, timeout=20)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        return f"no Slurm controller answers sinfo ({error}); run scripts/slurm/up.sh and eval scripts/slurm/env.sh"
    return None


def _kept(out: Path) -> dict[str, dict]:
    return {record["id"]: record for record in read_documents(out / "clean") if not isinstance(record, MalformedRecord)}


@pytest.mark.slurm
@pytest.mark.slow
def test_slurm_executor_gives_the_local_accounting_and_kept_documents(tmp_path: Path) -> None:
    reason = _slurm_reachable()
    if reason:
        pytest.skip(reason)
    documents = [*iter_source("lee_news", split="train", limit=10), *iter_source("peoples_daily", split="train",
                                                                                   limit=8)]
    records = [{"id": doc["id"], "text": doc["text"]} for doc in documents]
    records += [{"id": "copy", "text": documents[0]["text"]}, {"id": "short", "text": "too short"}]
    for shard in range(2):
        (tmp_path / f"{shard}.jsonl").write_text("".join(json.dumps(record, ensure_ascii=False) + "\n"
                                                         for record in records[shard::2]), encoding="utf-8")
    results = {}
    for executor in (ExecutorKind.local, ExecutorKind.slurm):
        config = FactoryConfig(input=InputConfig(paths=[str(tmp_path / "*.jsonl")]), executor=executor, tasks=2,
                               workers=-1, output=OutputConfig(progress=False),
                               slurm=SlurmConfig(time="0:10:00", poll_seconds=1.0, job_name="ziya2lab-test"))
        results[executor] = run_factory(config, tmp_path / executor.value)
    local, slurm = results[ExecutorKind.local].stats, results[ExecutorKind.slurm].stats
    for key in ("input", "kept", "removed", "duplicates", "duplicates_by_kind", "malformed"):
        assert slurm[key] == local[key], key
    assert local["duplicates"] == 1 and local["input"] == 20
    assert _kept(tmp_path / "slurm") == _kept(tmp_path / "local")
    assert any((tmp_path / "slurm" / "logs" / "stage1" / "slurm_logs").iterdir())  # it did run as Slurm jobs


def test_slurm_without_its_commands_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    raw = tmp_path / "raw.jsonl"
    raw.write_text(json.dumps({"text": " ".join(["word"] * 40)}) + "\n")
    config = FactoryConfig(input=InputConfig(paths=[str(raw)]), executor=ExecutorKind.slurm)
    config.scoring.enabled = False
    with pytest.raises(RuntimeError, match=r"executor=slurm needs Slurm's sbatch, squeue, scancel"):
        run_factory(config, tmp_path / "out")
