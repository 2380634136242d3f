"""recipe=mini end to end: base, expansion, three stages, both ablations, an extra seed, the timeline and the
report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.common.paths import config_dir
from ziya2lab.common.run_dir import RunDir, find_run_dirs
from ziya2lab.recipe.config import RecipeAppConfig
from ziya2lab.recipe.corpora import DOMAINS
from ziya2lab.recipe.pipeline import TIMELINE_FILE, run_recipe
from ziya2lab.recipe.report import RESULTS_FILE
from ziya2lab.recipe.stages import BASE, NO_REPLAY, RECIPE, SINGLE_STAGE
from ziya2lab.recipe.timeline import BPB_PREFIX


def _mini(output_dir: Path) -> RecipeAppConfig:
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return OmegaConf.to_object(compose(config_name="ziya2_recipe",
                                           overrides=["recipe=mini", f"output_dir={output_dir}"]))


@pytest.mark.slow
def test_mini_recipe_end_to_end(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = _mini(tmp_path)
    report = run_recipe(cfg)
    results = json.loads((tmp_path / RESULTS_FILE).read_text())
    runs = {(row["variant"], row["stage"]): RunDir(row["path"]) for row in results["runs"]}
    expanded_vocab = results["expansion"]["vocab_size"]
    assert expanded_vocab > results["expansion"]["base_vocab_size"]

    # every stage's checkpoint loads in transformers with the expanded vocabulary
    for (_variant, stage), run in runs.items():
        if stage == BASE:
            continue
        model = AutoModelForCausalLM.from_pretrained(run.final)
        assert model.config.vocab_size == expanded_vocab == len(AutoTokenizer.from_pretrained(run.final)), run

    # the ablations ran: no-replay stages without their replay components, the single stage for the total steps
    assert {(NO_REPLAY, "stage2"), (NO_REPLAY, "stage3"), (SINGLE_STAGE, "all")} <= set(runs)
    for stage in ("stage2", "stage3"):
        names = [c["name"] for c in runs[(NO_REPLAY, stage)].read_config()["data"]["components"]]
        assert names and not set(names) & set(cfg.ablations.replay_components)
        assert runs[(NO_REPLAY, stage)].read_summary().tokens == runs[(RECIPE, stage)].read_summary().tokens
    staged = sum(runs[(RECIPE, s)].read_summary().tokens for s in ("stage1", "stage2", "stage3"))
    assert runs[(SINGLE_STAGE, "all")].read_summary().tokens == staged

    # the timeline has every domain at every eval of every stage, and the stage boundaries
    timeline = read_jsonl(tmp_path / TIMELINE_FILE)
    evals = [row for row in timeline if "boundary" not in row]
    assert all(f"{BPB_PREFIX}{domain}" in row for row in evals for domain in DOMAINS)
    for (variant, stage), run in runs.items():
        if stage == BASE:
            continue
        expected = run.read_summary().steps // cfg.train.eval_every_steps
        assert sum(1 for row in evals if row["variant"] == variant and row["stage"] == stage) == expected
    assert [row["boundary"] for row in timeline if row.get("variant") == RECIPE and "boundary" in row] == [
        "stage1", "stage2", "stage3"]

    # the extra seed repeated stages 2-3 of both variants from the one stage 1, with its own seed
    seed_runs = {(row["variant"], row["stage"]): RunDir(row["path"]) for row in results["seed_runs"]}
    assert set(seed_runs) == {(v, s) for v in (RECIPE, NO_REPLAY) for s in ("stage2", "stage3")}
    for (variant, stage), run in seed_runs.items():
        assert run.is_done() and run.read_config()["seed"] == 1 != cfg.seed
        assert run.read_config()["data"]["components"] == runs[(variant, stage)].read_config()["data"]["components"]
    assert seed_runs[(RECIPE, "stage2")].read_config()["stage"]["init_from"] == str(runs[(RECIPE, "stage1")].final)
    assert [row["seed"] for row in results["replay_seeds"]] == [cfg.seed, 1]
    effect = results["replay_effect"]
    assert effect["seeds"] == 2 and effect["ci95"][0] <= effect["mean_reduction"] <= effect["ci95"][1]

    # stage 1 grew the base's embeddings in the trainer, by the paper's averaging
    assert runs[(RECIPE, "stage1")].read_config()["stage"]["vocab_init"] == "mean"

    # Chinese bits per byte after stage 1 below the English-only base's
    forgetting = {(row["variant"], row["checkpoint"]): row for row in results["forgetting"]}
    assert forgetting[(RECIPE, "stage1")][f"{BPB_PREFIX}zh_news"] < forgetting[(RECIPE, BASE)][f"{BPB_PREFIX}zh_news"]
    assert all(run.eval.exists() for run in runs.values())  # downstream at the base and every stage end

    # the report references figures that exist
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report.read_text())
    assert figures and all((tmp_path / figure).is_file() for figure in figures)

    # re-running reuses every finished run
    stamps = {run.path: run.summary.stat().st_mtime_ns for run in find_run_dirs(tmp_path / "runs")}
    assert len(stamps) == len(runs) + len(seed_runs) - 1  # stage 1 is one run shared by two variants
    run_recipe(cfg)
    assert {run.path: run.summary.stat().st_mtime_ns for run in find_run_dirs(tmp_path / "runs")} == stamps
