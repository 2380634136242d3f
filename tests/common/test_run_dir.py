"""The run directory's owner: file layout, the typed summary, the torn-tail metrics log and the Hydra records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ziya2lab.common.run_dir import BranchRecord, RunDir, RunSummary, find_run_dirs


def _summary(**changes) -> RunSummary:
    values = dict(status="completed", steps=10, total_steps=10, tokens=5120, loss_tokens=5000, tokens_per_step=512,
                  seq_len=64, batch_size=8, parameters=1000, parameters_non_embedding=600, flops_per_token=3.5e3,
                  eval={"en_prose": 4.0, "zh_news": 5.0}, skipped_steps=0, wall_time_s=1.5, num_processes=1,
                  precision="fp32", warmup_steps=1,
                  branches=[BranchRecord(2048, 4, 1, 5, 2560, 5.5, 0, {"en_prose": 4.5, "zh_news": 5.5})])
    return RunSummary(**{**values, **changes})


def test_summary_round_trips_and_stores_each_loss_once(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert not run.is_done()
    summary = _summary()
    run.write_summary(summary)
    assert run.is_done() and run.read_summary() == summary
    on_disk = json.loads(run.summary.read_text())
    assert on_disk["eval"] == {"en_prose": 4.0, "zh_news": 5.0}
    assert not [key for key in on_disk if "/" in key], "no eval/<name> copies beside 'eval'"
    assert on_disk["branches"][0]["eval"] == {"en_prose": 4.5, "zh_news": 5.5}


def test_a_summary_missing_a_field_is_refused_naming_the_file_and_field(tmp_path: Path) -> None:
    record = _summary().to_dict()
    del record["tokens"]
    (tmp_path / "summary.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"summary\.json: not a run summary .*tokens"):
        RunDir(tmp_path).read_summary()


def test_branch_records_written_before_the_owner_are_read(tmp_path: Path) -> None:
    legacy = {"branch_at_tokens": 4096, "branch_step": 8, "cooldown_steps": 2, "steps": 10, "tokens": 5120,
              "final_train_loss": 5.6, "skipped_steps": 0, "eval/zh_news": 5.69, "eval/en_prose": 5.61}
    (tmp_path / "branches.jsonl").write_text(json.dumps(legacy) + "\n")
    (branch,) = RunDir(tmp_path).read_branches()
    assert branch.eval == {"zh_news": 5.69, "en_prose": 5.61} and branch.tokens == 5120


def test_branches_round_trip(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.read_branches() == []
    branches = _summary().branches
    run.write_branches(branches)
    assert run.read_branches() == branches


def test_metrics_log_drops_a_torn_last_line(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.read_metrics() == []
    run.metrics.write_text('{"step": 1, "loss": 5.0}\n{"step": 2, "loss": 4.9}\n{"step": 3, "lo')
    assert [record["step"] for record in run.read_metrics()] == [1, 2]


def test_config_and_hydra_records(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.read_config() == {} and run.preset_choices() == {} and run.overrides() == []
    run.write_config({"seed": 3, "train": {"lr": 0.001, "schedule": "wsd"}})
    assert run.read_config() == {"seed": 3, "train": {"lr": 0.001, "schedule": "wsd"}}
    run.hydra_dir.mkdir()
    (run.hydra_dir / "hydra.yaml").write_text(
        yaml.safe_dump({"hydra": {"runtime": {"choices": {"model": "llama_1m", "hydra/launcher": None}}}}))
    (run.hydra_dir / "overrides.yaml").write_text(yaml.safe_dump(["train.lr=0.001", "model=llama_1m"]))
    assert run.preset_choices() == {"model": "llama_1m"}
    assert run.overrides() == ["train.lr=0.001", "model=llama_1m"]


def test_find_run_dirs_finds_trainer_directories_only(tmp_path: Path) -> None:
    for name in ("b", "a", "a/nested"):
        run = RunDir(tmp_path / name)
        run.write_config({"seed": 0})
        run.metrics.write_text("")
    RunDir(tmp_path / "no_metrics").write_config({"seed": 0})  # a config alone is not a trainer's run
    (tmp_path / "a" / ".hydra").mkdir()
    (tmp_path / "a" / ".hydra" / "config.yaml").write_text("seed: 0\n")
    assert [run.path.relative_to(tmp_path).as_posix() for run in find_run_dirs(tmp_path)] == ["a", "a/nested", "b"]


def test_volumes_are_each_branch_then_the_final_schedule() -> None:
    volumes = _summary().volumes()
    assert [(volume.point, volume.tokens) for volume in volumes] == [("branch@2048", 2560), ("final", 5120)]
    assert volumes[0].eval == {"en_prose": 4.5, "zh_news": 5.5} and volumes[1].eval["zh_news"] == 5.0
