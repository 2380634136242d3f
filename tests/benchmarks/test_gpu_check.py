"""benchmarks/gpu_check.py: the no-CUDA exit, the budget's skips, and every section on CPU with a toy model.

The lead runs the script once on a lent GPU, so each of its code paths must have run here first; CPU figures from
the toy model measure nothing and are not asserted on.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"


def load_gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def last_json_line(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_without_cuda_it_says_so_and_exits_zero(tmp_path: Path) -> None:
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO)}
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True, env=env, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert "no CUDA device" in completed.stderr
    line = last_json_line(completed.stdout)
    assert line["cuda"] is False and line["torch"]
    assert json.loads(out.read_text()) == line


def test_a_spent_budget_skips_sections_and_still_reports(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gpu_check = load_gpu_check()
    out = tmp_path / "gpu_check.json"
    assert gpu_check.main(["--device", "cpu", "--tiny", "--budget-s", "0", "--out", str(out)]) == 0
    line = last_json_line(capsys.readouterr().out)
    assert set(line["skipped"]) == set(gpu_check.SECTIONS)
    assert line["complete"] is False and line["headline"]["mfu_vs_measured_gemm_amp_sdpa"] is None
    assert json.loads(out.read_text()) == line


def test_a_failing_section_is_recorded_and_the_next_one_runs(capsys: pytest.CaptureFixture) -> None:
    gpu_check = load_gpu_check()
    args = ["--device", "cpu", "--tiny", "--sections", "gemm,rope_error", "--rope-positions", "8"]
    gpu_check.SECTIONS["gemm"] = lambda setup, results, out: out.update(partial=1) or 1 / 0
    assert gpu_check.main(args) == 0
    line = last_json_line(capsys.readouterr().out)
    assert line["errors"]["gemm"].startswith("ZeroDivisionError") and line["gemm"] == {"partial": 1}
    assert line["rope_error"]["mean_abs_error_vs_float64"]["255"]["bf16_over_fp32"] > 1


def test_unknown_section_is_refused() -> None:
    gpu_check = load_gpu_check()
    with pytest.raises(SystemExit):
        gpu_check.parse_args(["--sections", "gemm,mfu"])


@pytest.mark.slow
def test_every_section_runs_on_cpu_with_a_toy_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gpu_check = load_gpu_check()
    out = tmp_path / "gpu_check.json"
    assert gpu_check.main(["--device", "cpu", "--tiny", "--compile-backend", "aot_eager", "--out", str(out)]) == 0
    line = last_json_line(capsys.readouterr().out)
    assert line["errors"] == {} and line["skipped"] == {} and line["complete"] is True
    assert line["xformers"]["status"] == "not installed" or line["xformers"]["run"]["step_s"] > 0
    assert set(line["fp32_fixes"]["within_5_percent"]) == set(gpu_check.FIX_COSTS)
    assert line["compile"]["first_loss_rel_diff"] < 1e-2
    assert line["compile"]["dynamo_unique_graphs"] == 1  # the two toy blocks share one compiled graph
    headline = line["headline"]
    for key in ("mfu_vs_measured_gemm_amp_sdpa", "cost_all_fixes_amp", "cost_all_fixes_bf16_sdpa", "compile_speedup",
                "cost_all_fixes_amp_compiled", "cost_all_fixes_bf16_sdpa_compiled"):
        assert headline[key] is not None, key
    assert headline["mfu_vs_datasheet_amp_sdpa"] is None  # a CPU has no datasheet peak
    assert json.loads(out.read_text()) == line


@pytest.mark.slow
def test_the_inductor_compile_section_runs_on_cpu(capsys: pytest.CaptureFixture) -> None:
    gpu_check = load_gpu_check()
    assert gpu_check.main(["--device", "cpu", "--tiny", "--sections", "compile"]) == 0
    line = last_json_line(capsys.readouterr().out)
    assert line["errors"] == {}, line["errors"]
    assert line["compile"]["backend"] == "inductor" and line["compile"]["first_loss_rel_diff"] < 1e-2
