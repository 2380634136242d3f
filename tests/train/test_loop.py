"""The trainer: the default run, its run directory, and exact resume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import transformers
from kill_drill import kill_when

from ziya2lab.common.paths import repo_root
from ziya2lab.common.run_dir import RunDir

TRAIN = ["-m", "ziya2lab.train"]
TINY = ["model=llama_100k", "tokenizer.vocab_size=400", "tokenizer.max_train_chars=60000", "train.seq_len=64",
        "train.batch_size=4", "data.eval_max_windows=2", "logger=none", "train.threads=1"]


def _train(run_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *TRAIN, f"hydra.run.dir={run_dir}", *TINY, *overrides],
                          capture_output=True, text=True, cwd=repo_root(), timeout=600)


def _metrics(run_dir: Path) -> list[dict]:
    return RunDir(run_dir).read_metrics()


@pytest.mark.slow
def test_run_directory_holds_every_record(tmp_path: Path) -> None:
    process = _train(tmp_path, "train.max_steps=20", "train.log_every_steps=5", "train.eval_every_steps=10")
    assert process.returncode == 0, process.stderr[-3000:]
    summary = RunDir(tmp_path).read_summary()
    assert summary.status == "completed" and summary.steps == 20
    assert set(summary.eval) == {"zh_news", "en_prose"} and summary.parameters_non_embedding == 99136
    records = _metrics(tmp_path)
    assert {"step", "tokens", "loss", "lr", "tokens_per_s", "mfu"} <= set(records[-1])
    assert any("eval/zh_news" in record for record in records)
    model = transformers.AutoModelForCausalLM.from_pretrained(RunDir(tmp_path).final)
    assert model.config.vocab_size == 400


@pytest.mark.slow
def test_unknown_key_fails_naming_it(tmp_path: Path) -> None:
    process = _train(tmp_path, "train.max_stepz=3")
    assert process.returncode != 0 and "max_stepz" in process.stderr


@pytest.mark.slow
def test_killed_and_resumed_run_reproduces_the_uninterrupted_one(tmp_path: Path) -> None:
    """SIGKILL mid-run (after a checkpoint), resume with train.resume=auto: every logged loss is identical."""
    common = ["train.max_steps=30", "train.log_every_steps=1", "train.eval_every_steps=30", "train.ckpt_every_steps=5"]
    whole = _train(tmp_path / "whole", *common)
    assert whole.returncode == 0, whole.stderr[-3000:]
    split = tmp_path / "split"
    process = subprocess.Popen([sys.executable, *TRAIN, f"hydra.run.dir={split}", *TINY, *common],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=repo_root())
    kill_when(process, lambda: len(_metrics(split)) >= 12, timeout_s=300)
    assert not RunDir(split).is_done(), "the run finished before it could be killed"
    resumed = _train(split, *common)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    whole_losses = [(r["step"], r["loss"]) for r in _metrics(tmp_path / "whole") if "loss" in r]
    split_losses = [(r["step"], r["loss"]) for r in _metrics(split) if "loss" in r]
    assert split_losses == whole_losses


@pytest.mark.slow
def test_in_process_downstream_evaluation_is_recorded_and_leaves_training_unchanged(tmp_path: Path) -> None:
    """downstream.enabled=true scores lm-eval tasks on the live model at every evaluation step, and the run trains on
    the same random stream as without it (lm-eval re-seeds global generators unless the harness keeps them)."""
    common = ["train.seq_len=128", "train.max_steps=10", "train.log_every_steps=1", "train.eval_every_steps=5"]
    downstream = ["downstream.enabled=true", "downstream.tasks=[ziya2lab_mc_zh_news_cloze]", "downstream.mc_max_items=8"]
    scored, plain = _train(tmp_path / "scored", *common, *downstream), _train(tmp_path / "plain", *common)
    assert scored.returncode == 0 and plain.returncode == 0, scored.stderr[-3000:] + plain.stderr[-3000:]
    key = "downstream/ziya2lab_mc_zh_news_cloze/prob_correct"
    assert [record["step"] for record in _metrics(tmp_path / "scored") if key in record] == [5, 10]
    assert all(0 < record[key] < 1 for record in _metrics(tmp_path / "scored") if key in record)
    assert [r["loss"] for r in _metrics(tmp_path / "scored")] == [r["loss"] for r in _metrics(tmp_path / "plain")]


@pytest.mark.slow
def test_downstream_task_that_does_not_fit_fails_before_training(tmp_path: Path) -> None:
    process = _train(tmp_path, "train.max_steps=10", "downstream.enabled=true",
                     "downstream.tasks=[ziya2lab_mc_en_next_sentence]")
    assert process.returncode != 0 and "downstream.tasks at train.seq_len=64" in process.stderr
    assert not RunDir(tmp_path).metrics.exists()


@pytest.mark.slow
def test_downstream_at_branches_scores_each_wsd_branch_and_no_evaluation_step(tmp_path: Path) -> None:
    process = _train(tmp_path, "train.seq_len=128", "train.max_steps=12", "train.schedule=wsd",
                     "train.wsd_branch_at_tokens=[3072]", "train.eval_every_steps=6", "train.downstream_at=branches",
                     "downstream.enabled=true", "downstream.tasks=[ziya2lab_mc_zh_news_cloze]",
                     "downstream.mc_max_items=8")
    assert process.returncode == 0, process.stderr[-3000:]
    (branch,) = RunDir(tmp_path).read_branches()
    assert 0 < branch.downstream["ziya2lab_mc_zh_news_cloze/prob_correct"] < 1
    assert not any(key.startswith("downstream/") for record in _metrics(tmp_path) for key in record)
