"""The end-to-end data-centric scaling study, from real text to fitted laws with intervals and a report.

The paper's own design (continual pre-training, Eqs. 3–4): one base model per size is pre-trained on clean text,
then continued on each attribute-level corpus; V counts the continuation's tokens and V = 0 is the base model.

1. data factory on the embedded corpus → clean bilingual text, split into a pre-training split and a disjoint
   continuation pool;  2. held-out test sets with disjoint SIM pools;  3. from the pool: the clean base corpus,
   CH/RA/SIM families at controlled levels and the negative/positive controls, each corpus rated;
4. one small BPE for every run;  5. unigram and Kneser–Ney trigram baselines on the test sets' scored tokens;
6. the runs: a base model per size, then every (size, corpus, seed) continued from the base's stable phase (WSD
   branches give several V per run);  7. every run's ``final/`` on lm-eval tasks, then ``results.parquet`` (the
   base models are its V = 0 rows; ``task/metric`` columns at each run's final point, and at its WSD branches
   from the trainer's in-process scores);  8. Ziya2's law per size and
   the joint law (V = 0 included), bootstrapped over runs, with held-out error and bound tests;  9. what the study
   can conclude (seed noise, effects, controls, decision accuracy: ``conclusions.json``);  10. ``report.md`` with
   figures;  11. a wandb summary run (offline by default).
Every step and run is cached under the study directory, keyed by its settings, so a re-run skips finished work.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from ziya2lab.attributes import SimilarityRater, make_levels, rate_corpus
from ziya2lab.attributes.levels import BASE, DOCUMENTS_FILE, corpus_name, take_chars
from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.attributes import COLUMNS
from ziya2lab.common.hashing import hash_texts
from ziya2lab.common.jsonl import read_jsonl, write_jsonl
from ziya2lab.common.paths import config_dir
from ziya2lab.common.run_dir import CORPUS_ATTRIBUTES_FILE
from ziya2lab.data.factory import run_factory
from ziya2lab.data.readers import MalformedRecord, read_documents
from ziya2lab.eval.heldout import build_test_sets, pool_path
from ziya2lab.study.analysis import fit_study
from ziya2lab.study.base_models import (
    PRETRAIN,
    StudyPlan,
    continuation_grid,
    dependent_launch,
    link_base_models,
    plan_base_models,
    results_with_base_rows,
)
from ziya2lab.study.baselines import study_baselines
from ziya2lab.study.cache import run_cached_step
from ziya2lab.study.collect import collect
from ziya2lab.study.compose import compose_app
from ziya2lab.study.conclusions import FITTED_FAMILIES, heldout_errors, study_conclusions
from ziya2lab.study.config import StudyAppConfig, StudyConfig
from ziya2lab.study.controls import (
    NEGATIVE_CONTROL,
    POSITIVE_CONTROL,
    by_source,
    negative_control,
    positive_control,
)
from ziya2lab.study.downstream import evaluate_downstream, with_downstream_columns
from ziya2lab.study.grid import RunSpec, grid_specs
from ziya2lab.study.launchers import slurm_launch
from ziya2lab.study.report import fit_summary, write_report
from ziya2lab.study.results import save_table
from ziya2lab.study.runner import Launch, launch_local, run_grid
from ziya2lab.study.summary_run import log_summary_run
from ziya2lab.tokenizer.small_bpe import train_small_bpe

log = logging.getLogger(__name__)
CORPORA_INDEX = "corpora.json"


@dataclass
class StudyResult:
    output_dir: Path
    results: Path
    report: Path
    fits: dict[str, Any]
    failed_runs: list[str]


def _container(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def build_base(study: StudyConfig, directory: Path) -> list[dict]:
    """The factory's clean corpus, shuffled and capped at ``max_base_chars`` (documents with their language)."""
    factory = compose_app("build_data", [*study.factory_overrides, f"output_dir={directory}"]).factory
    result = run_factory(OmegaConf.to_object(factory), directory)
    documents = [
        {"id": record["id"], "text": record["text"], "lang": record.get("metadata", {}).get("lang", "en")}
        for record in read_documents(result.corpus_path)
        if not isinstance(record, MalformedRecord)
    ]
    random.Random(study.seed).shuffle(documents)
    if study.max_base_chars is None:
        return documents
    kept, total = [], 0
    for document in documents:
        if total >= study.max_base_chars:
            break
        kept.append(document)
        total += len(document["text"])
    return kept


def split_base(documents: list[dict], pretrain_fraction: float) -> tuple[list[dict], list[dict]]:
    """(pre-training split, continuation pool): the first ``pretrain_fraction`` of each packaged source's characters
    in the (shuffled) clean corpus pre-train the base models; every study corpus is drawn from the rest, so none
    repeats them. Split per source, the pool has the pre-training split's composition: a continuation on the clean
    base corpus then measures more data of the same kind (split by characters alone, the few long Brown documents
    once gave a clean base corpus of 35% English prose against the pre-training split's 44%)."""
    if not 0.0 < pretrain_fraction < 1.0:
        raise ValueError(f"study.base_model.pretrain_fraction={pretrain_fraction} must lie strictly between 0 and 1")
    chosen: set[int] = set()  # positions in ``documents``, so the split keeps their (shuffled) order
    for group in by_source({**document, "position": index} for index, document in enumerate(documents)).values():
        budget = int(pretrain_fraction * sum(len(document["text"]) for document in group))
        chosen |= {document["position"] for document in take_chars(group, budget)}
    return ([document for index, document in enumerate(documents) if index in chosen],
            [document for index, document in enumerate(documents) if index not in chosen])


def build_corpora(study: StudyConfig, pool: list[dict], test_sets: dict[str, Path], directory: Path) -> pd.DataFrame:
    """Every family and level and the two controls, each rated; the ratings go into each corpus's attributes record
    for the collector."""
    target = study.levels.similarity_target
    if target not in test_sets:
        raise KeyError(f"study.levels.similarity_target={target!r} is not among study.test_sets {list(test_sets)}")
    levels = study.levels.families()
    corpora = make_levels(pool, levels, {target: read_jsonl(pool_path(test_sets[target]))}, directory,
                          study.levels.budget_fraction, study.seed)
    base = read_jsonl(corpora[0].path)
    if study.controls.negative:
        corpora.append(negative_control(pool, base, directory, study.seed))
    if study.controls.shuffle_fraction is not None:
        corpora.append(positive_control(base, study.controls.shuffle_fraction, directory, study.seed))
    similarity = SimilarityRater({name: [doc["text"] for doc in read_jsonl(path)] for name, path in test_sets.items()},
                                 study.raters.similarity)
    rows = []
    for corpus in tqdm(corpora, desc="rating corpora", unit="corpus"):
        documents = read_jsonl(corpus.path)
        ratings = rate_corpus(documents, study.raters, similarity)
        record = {"corpus": corpus.name, "family": corpus.family, "level": corpus.level, **ratings,
                  "documents": corpus.documents, "chars": corpus.chars}
        atomic_write_json(corpus.path.parent / CORPUS_ATTRIBUTES_FILE, record)
        rows.append({key: value for key, value in record.items() if key != "similarity"}
                    | {f"SIM:{name}": value for name, value in ratings["similarity"].items()}
                    | {"path": str(corpus.path)})
    table = pd.DataFrame(rows)
    atomic_write_json(directory / CORPORA_INDEX, table.to_dict(orient="records"))
    return table


@dataclass(frozen=True)
class StudyLayout:
    """Where each step of a study writes, below its output directory (each step's directory is a cached step)."""

    root: Path

    @property
    def factory(self) -> Path:
        return self.root / "factory"

    @property
    def pretrain(self) -> Path:
        return self.root / PRETRAIN

    @property
    def pretrain_file(self) -> Path:
        return self.pretrain / DOCUMENTS_FILE

    @property
    def test_sets(self) -> Path:
        return self.root / "test_sets"

    @property
    def corpora(self) -> Path:
        return self.root / "corpora"

    @property
    def tokenizer(self) -> Path:
        return self.root / "tokenizer"

    @property
    def baselines(self) -> Path:
        return self.root / "baselines"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def base_models(self) -> Path:
        """Links to each base model's ``final/``, named by its shape (one ``stage.init_from`` for every size)."""
        return self.root / "base_models"

    def test_set_files(self, study: StudyConfig) -> dict[str, Path]:
        return {name: self.test_sets / f"{name}.jsonl" for name in study.test_sets}

    def corpus_files(self, study: StudyConfig) -> dict[str, Path]:
        """The training file of the clean base, every (family, level) and each control, as the corpora step writes
        them."""
        names = [BASE, *(corpus_name(family, level) for family in COLUMNS for level in getattr(study.levels, family))]
        names += [NEGATIVE_CONTROL] if study.controls.negative else []
        names += [POSITIVE_CONTROL] if study.controls.shuffle_fraction is not None else []
        return {name: self.corpora / name / DOCUMENTS_FILE for name in names}


def plan_study(cfg: StudyAppConfig) -> StudyPlan:
    """The base models and the continuation runs, typed and validated against the trainer's schema; nothing needs
    to exist yet."""
    layout = StudyLayout(Path(cfg.output_dir))
    study = cfg.study
    test_sets = layout.test_set_files(study)
    bases = plan_base_models(study, layout.pretrain_file, test_sets, layout.tokenizer, cfg.logger, layout.runs)
    grid = continuation_grid(study.grid, bases, layout.base_models)
    continuations = grid_specs(grid, layout.corpus_files(study), test_sets, layout.tokenizer, cfg.logger, study.name,
                               layout.runs, downstream=study.eval)
    return StudyPlan(bases, continuations, layout.base_models)


def plan_grid(cfg: StudyAppConfig) -> list[RunSpec]:
    """The continuation runs (the grid a sweep file describes; the base models are the study's own step)."""
    return plan_study(cfg).continuations


def _prepare_inputs(study: StudyConfig, layout: StudyLayout) -> tuple[dict[str, Path], pd.DataFrame, str]:
    """Steps 1–5, each cached: (test set files, the corpora's ratings, the clean text's hash)."""
    settings = _container(OmegaConf.structured(study))
    base = run_cached_step(layout.factory, {"factory": settings["factory_overrides"], "cap": study.max_base_chars,
                                            "seed": study.seed},
                           build=lambda directory: _save_base(build_base(study, directory), directory),
                           load=_load_base)
    base_hash = hash_texts(document["text"] for document in base)
    pretrain, pool = split_base(base, study.base_model.pretrain_fraction)
    run_cached_step(layout.pretrain, {"base": base_hash, "fraction": study.base_model.pretrain_fraction},
                    build=lambda directory: _save_pretrain(pretrain, directory), load=lambda directory: directory)
    test_sets = run_cached_step(layout.test_sets, {"names": study.test_sets},
                                build=lambda directory: build_test_sets(directory, study.test_sets),
                                load=lambda directory: layout.test_set_files(study))
    corpora = run_cached_step(layout.corpora, {"base": base_hash, "split": study.base_model.pretrain_fraction,
                                               "levels": settings["levels"], "controls": settings["controls"],
                                               "raters": settings["raters"], "test_sets": study.test_sets},
                              build=lambda directory: build_corpora(study, pool, test_sets, directory),
                              load=lambda directory: pd.DataFrame(json.loads((directory / CORPORA_INDEX).read_text())))
    run_cached_step(layout.tokenizer, {"pretrain": hash_texts(document["text"] for document in pretrain),
                                       "vocab": study.tokenizer_vocab_size},
                    build=lambda directory: _train_tokenizer(pretrain, study.tokenizer_vocab_size, directory),
                    load=lambda directory: directory)
    return test_sets, corpora, base_hash


def study_launch(study: StudyConfig) -> Launch:
    """How each trainer run starts: a local subprocess, or a Slurm job on the launcher preset ``study.launcher``."""
    if study.launcher == "local":
        return launch_local
    presets = config_dir() / "hydra" / "launcher"
    if not (presets / f"{study.launcher}.yaml").is_file():
        known = sorted(path.stem for path in presets.glob("*.yaml"))
        raise ValueError(f"study.launcher={study.launcher!r} is neither 'local' nor a launcher preset in {presets} "
                         f"({', '.join(known)})")
    return slurm_launch(study.launcher, study.launcher_overrides)


def run_study(cfg: StudyAppConfig | DictConfig) -> StudyResult:
    if isinstance(cfg, DictConfig):
        cfg = OmegaConf.to_object(cfg)
    study, out = cfg.study, Path(cfg.output_dir)
    layout = StudyLayout(out)
    plan = plan_study(cfg)  # a grid the trainer refuses fails here, before the factory starts
    out.mkdir(parents=True, exist_ok=True)
    test_sets, corpora, base_hash = _prepare_inputs(study, layout)
    _check_built_as_planned(corpora, layout, study)
    corpus_files = {PRETRAIN: layout.pretrain_file, **layout.corpus_files(study)}
    corpora_sizes = corpora[["corpus", "documents", "chars"]].to_dict(orient="records")
    baselines = run_cached_step(layout.baselines, {"base": base_hash, "corpora": corpora_sizes,
                                                   "tokenizer": study.tokenizer_vocab_size,
                                                   "eval": plan.continuations[0].overrides},
                                build=lambda directory: study_baselines(plan.continuations[0].config, corpus_files,
                                                                        directory),
                                load=lambda directory: json.loads((directory / "baselines.json").read_text()))

    link_base_models(plan)
    outcomes = run_grid([*plan.bases, *plan.continuations], layout.runs, study.workers, study.threads_per_run,
                        launch=dependent_launch(plan, study_launch(study)))
    collected = collect(layout.runs)
    downstream = evaluate_downstream([spec.config.output_dir for spec in [*plan.bases, *plan.continuations]],
                                     test_sets, study.eval)
    table = with_downstream_columns(results_with_base_rows(collected, plan), downstream.table)
    save_table(table, out / "results.parquet")
    save_table(table, out / "results.csv")

    fitted = table[table["family"].isin(FITTED_FAMILIES)]  # V = 0 included: D_eff = F there, which it pins
    fits = fit_study(fitted, study.fits, study.seed)
    summary = fit_summary(fits, fitted)
    atomic_write_json(out / "fits.json", summary)
    conclusions = study_conclusions(table, fits, baselines, plan, study,
                                    heldout_errors(fitted, fits, study.fits) if study.fits.heldout else {})
    atomic_write_json(out / "conclusions.json", conclusions)
    report = write_report(out, table, corpora.drop(columns=["path"]), test_sets, fits, summary, outcomes,
                          conclusions, downstream)
    log_summary_run(cfg.logger, study.name, out, table, fits)
    return StudyResult(out, out / "results.parquet", report, summary,
                       [str(outcome.run_dir) for outcome in outcomes if outcome.status == "failed"])


def _check_built_as_planned(corpora: pd.DataFrame, layout: StudyLayout, study: StudyConfig) -> None:
    """The grid was planned before the steps ran: a corpora step that wrote other files would train on nothing."""
    built = {name: Path(path).resolve() for name, path in zip(corpora["corpus"], corpora["path"], strict=True)}
    planned = {name: path.resolve() for name, path in layout.corpus_files(study).items()}
    if built != planned:
        raise RuntimeError(f"{layout.corpora} holds the corpora {sorted(built)}, not the planned {sorted(planned)} at "
                           f"those paths: delete it and re-run the study")


BASE_FILE = "base.jsonl"


def _save_base(documents: list[dict], directory: Path) -> list[dict]:
    write_jsonl(directory / BASE_FILE, documents)
    return documents


def _load_base(directory: Path) -> list[dict]:
    return read_jsonl(directory / BASE_FILE)


def _save_pretrain(documents: list[dict], directory: Path) -> Path:
    """The pre-training split as a corpus the collector recognises (family ``pretrain``): its runs are base models."""
    write_jsonl(directory / DOCUMENTS_FILE, documents)
    atomic_write_json(directory / CORPUS_ATTRIBUTES_FILE, {"corpus": PRETRAIN, "family": PRETRAIN, "level": None,
                                                          "documents": len(documents),
                                                          "chars": sum(len(doc["text"]) for doc in documents)})
    return directory


def _train_tokenizer(base: list[dict], vocab_size: int, directory: Path) -> Path:
    train_small_bpe((document["text"] for document in base), vocab_size=vocab_size).save_pretrained(directory)
    return directory
