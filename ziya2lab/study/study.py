"""The end-to-end data-centric scaling study, from real text to fitted laws with intervals and a report.

1. data factory on the embedded corpus → clean bilingual base;  2. held-out test sets with disjoint SIM pools;
3. CH/RA/SIM families at controlled levels, each corpus rated;  4. one small BPE for every run;
5. the training grid (model presets × corpora × seeds, WSD branches for several V per run);
6. ``results.parquet``;  7. Ziya2's law per size and the joint law, bootstrapped over runs;
8. ``report.md`` with figures;  9. a wandb summary run (offline by default).
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
from ziya2lab.attributes.levels import BASE, DOCUMENTS_FILE, corpus_name
from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.attributes import COLUMNS, RUN_COLUMN
from ziya2lab.common.hashing import hash_texts
from ziya2lab.common.jsonl import read_jsonl, write_jsonl
from ziya2lab.common.run_dir import CORPUS_ATTRIBUTES_FILE
from ziya2lab.data.factory import run_factory
from ziya2lab.data.readers import MalformedRecord, read_documents
from ziya2lab.eval.heldout import build_test_sets, pool_path
from ziya2lab.study.analysis import fit_study
from ziya2lab.study.cache import run_cached_step
from ziya2lab.study.compose import compose_app
from ziya2lab.study.config import StudyAppConfig, StudyConfig
from ziya2lab.study.grid import RunSpec, grid_specs
from ziya2lab.study.report import fit_summary, write_report
from ziya2lab.study.results import write_results
from ziya2lab.study.runner import run_grid
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


def build_corpora(study: StudyConfig, base: list[dict], test_sets: dict[str, Path], directory: Path) -> pd.DataFrame:
    """Every family and level, each rated; the ratings go into each corpus's attributes record for the collector."""
    target = study.levels.similarity_target
    if target not in test_sets:
        raise KeyError(f"study.levels.similarity_target={target!r} is not among study.test_sets {list(test_sets)}")
    levels = {family: list(getattr(study.levels, family)) for family in COLUMNS}
    corpora = make_levels(base, levels, {target: read_jsonl(pool_path(test_sets[target]))}, directory,
                          study.levels.budget_fraction, study.seed)
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
    def test_sets(self) -> Path:
        return self.root / "test_sets"

    @property
    def corpora(self) -> Path:
        return self.root / "corpora"

    @property
    def tokenizer(self) -> Path:
        return self.root / "tokenizer"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def test_set_files(self, study: StudyConfig) -> dict[str, Path]:
        return {name: self.test_sets / f"{name}.jsonl" for name in study.test_sets}

    def corpus_files(self, study: StudyConfig) -> dict[str, Path]:
        """The training file of the clean base and of every (family, level), as ``make_levels`` writes them."""
        names = [BASE, *(corpus_name(family, level) for family in COLUMNS for level in getattr(study.levels, family))]
        return {name: self.corpora / name / DOCUMENTS_FILE for name in names}


def plan_grid(cfg: StudyAppConfig) -> list[RunSpec]:
    """The study's training runs, typed and validated against the trainer's schema; nothing needs to exist yet."""
    layout = StudyLayout(Path(cfg.output_dir))
    study = cfg.study
    return grid_specs(study.grid, layout.corpus_files(study), layout.test_set_files(study), layout.tokenizer,
                      cfg.logger, study.name, layout.runs)


def run_study(cfg: StudyAppConfig | DictConfig) -> StudyResult:
    if isinstance(cfg, DictConfig):
        cfg = OmegaConf.to_object(cfg)
    study, out = cfg.study, Path(cfg.output_dir)
    layout = StudyLayout(out)
    specs = plan_grid(cfg)  # a grid the trainer refuses fails here, before the factory starts
    out.mkdir(parents=True, exist_ok=True)
    settings = _container(OmegaConf.structured(study))

    base = run_cached_step(layout.factory, {"factory": settings["factory_overrides"], "cap": study.max_base_chars,
                                            "seed": study.seed},
                           build=lambda directory: _save_base(build_base(study, directory), directory),
                           load=_load_base)
    base_hash = hash_texts(document["text"] for document in base)
    test_sets = run_cached_step(layout.test_sets, {"names": study.test_sets},
                                build=lambda directory: build_test_sets(directory, study.test_sets),
                                load=lambda directory: layout.test_set_files(study))
    corpora = run_cached_step(layout.corpora, {"base": base_hash, "levels": settings["levels"],
                                               "raters": settings["raters"], "test_sets": study.test_sets},
                              build=lambda directory: build_corpora(study, base, test_sets, directory),
                              load=lambda directory: pd.DataFrame(json.loads((directory / CORPORA_INDEX).read_text())))
    run_cached_step(layout.tokenizer, {"base": base_hash, "vocab": study.tokenizer_vocab_size},
                    build=lambda directory: _train_tokenizer(base, study.tokenizer_vocab_size, directory),
                    load=lambda directory: directory)
    _check_built_as_planned(corpora, layout, study)

    outcomes = run_grid(specs, layout.runs, study.workers, study.threads_per_run)
    table = write_results(layout.runs, out / "results.parquet")
    table = table[table[RUN_COLUMN].isin({spec.run_id for spec in specs})]  # runs of older settings stay out

    fits = fit_study(table, study.fits, study.seed)
    summary = fit_summary(fits, table)
    atomic_write_json(out / "fits.json", summary)
    report = write_report(out, table, corpora.drop(columns=["path"]), test_sets, fits, summary, outcomes)
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


def _train_tokenizer(base: list[dict], vocab_size: int, directory: Path) -> Path:
    train_small_bpe((document["text"] for document in base), vocab_size=vocab_size).save_pretrained(directory)
    return directory
