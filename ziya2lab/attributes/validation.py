"""Rater validation on the development families (the operators the raters were tuned on), and the report that puts
the held-out figures (``heldout_validation``) first.

1. **Dose-response.** Each family moves one attribute over its levels; the rater of that attribute should track
   the injected rate (Spearman of the measured defect, 1 − CH or 1 − RA, or of SIM, against the level).
2. **Cross-talk.** Every rater on every family: how far its value moves from the clean base to the family's top
   level. A rater should move for its own family and stay put for the others.
3. **Per-document flags.** On the top level of the CH and RA families, each document's flag against the
   ground truth the corruption operators recorded (``corruption``), per language; and the share of clean
   documents flagged per source, which is what the raters' thresholds were set against.

These figures describe the raters on their own operators; the headline is the held-out validation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from scipy.stats import spearmanr

from ziya2lab.attributes.config import LevelsConfig, RatersConfig
from ziya2lab.attributes.flags import DocumentFlag, corpus_value
from ziya2lab.attributes.heldout_validation import FamilyResult, GoldAgreement
from ziya2lab.attributes.levels import BASE, make_levels
from ziya2lab.attributes.rate import make_flag_rater, read_corpus
from ziya2lab.attributes.similarity import SimilarityRater
from ziya2lab.attributes.text import doc_lang
from ziya2lab.common.atomic import atomic_write_json, atomic_write_text
from ziya2lab.common.attributes import BY_RATER, RATERS


@dataclass
class ValidationResult:
    values: pd.DataFrame  # one row per corpus: family, level, coherence, readability, similarity
    spearman: dict[str, float]  # rater -> Spearman of its measured defect (or SIM) against its family's level
    cross_talk: pd.DataFrame  # rater × family: |value at the top level − value of the base|
    flags: pd.DataFrame  # per rater and language: precision, recall, clean flag rate
    clean_by_source: pd.DataFrame  # share of clean base documents flagged, per rater and source
    heatmap: Path


def _flag_table(documents: Sequence[dict], flags: Sequence[DocumentFlag], rater: str) -> list[dict]:
    """Precision/recall of the flags against the operators' ground truth, per language."""
    rows = []
    truth = [doc.get("corruption") is not None for doc in documents]
    languages = [doc_lang(doc) for doc in documents]
    for lang in sorted(set(languages)):
        pairs = [(t, f.flagged) for t, f, doc_language in zip(truth, flags, languages, strict=True)
                 if doc_language == lang]
        true_positive = sum(t and f for t, f in pairs)
        flagged = sum(f for _t, f in pairs)
        positive = sum(t for t, _f in pairs)
        clean = len(pairs) - positive
        rows.append({
            "rater": rater, "lang": lang, "documents": len(pairs), "corrupted": positive,
            "precision": true_positive / flagged if flagged else float("nan"),
            "recall": true_positive / positive if positive else float("nan"),
            "clean_flagged": (flagged - true_positive) / clean if clean else float("nan"),
        })
    return rows


def _heatmap(cross_talk: pd.DataFrame, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(4.8, 3.6))
    image = axes.imshow(cross_talk.to_numpy(dtype=float), cmap="magma_r", vmin=0.0)
    axes.set_xticks(range(len(cross_talk.columns)), [f"{family} family" for family in cross_talk.columns])
    axes.set_yticks(range(len(cross_talk.index)), list(cross_talk.index))
    for (row, column), value in pd.DataFrame(cross_talk.to_numpy(dtype=float)).stack().items():
        axes.text(column, row, f"{value:.3f}", ha="center", va="center", color="tab:blue")
    axes.set_title("|rater value at top level − base|")
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def validate_raters(
    base: Sequence[dict],
    levels: LevelsConfig,
    raters: RatersConfig,
    test_sets: Mapping[str, Sequence[str]],
    pools: Mapping[str, Sequence[dict]],
    out_dir: Path,
    seed: int = 0,
) -> ValidationResult:
    """Build the families from ``base``, rate every corpus in full and compute the three validations."""
    if levels.similarity_target not in test_sets:
        raise KeyError(f"levels.similarity_target={levels.similarity_target!r} is not among {list(test_sets)}")
    family_levels = levels.families()
    corpora = make_levels(base, family_levels, {levels.similarity_target: pools[levels.similarity_target]},
                          out_dir / "levels", levels.budget_fraction, seed)
    similarity = SimilarityRater(test_sets, raters.similarity)
    flag_raters = {name: make_flag_rater(name, getattr(raters, name), out_dir) for name in ("coherence", "readability")}
    value_rows, flag_rows, clean_rows = [], [], []
    top = {family: max(family_levels[family]) for family in family_levels}
    for corpus in corpora:
        documents, _malformed = read_corpus(corpus.path)
        row = {"corpus": corpus.name, "family": corpus.family, "level": corpus.level}
        for name, rater in flag_raters.items():
            flags = rater.rate(documents)
            row[name] = corpus_value(flags)
            if corpus.family == BY_RATER[name].column and corpus.level == top[corpus.family]:
                flag_rows += _flag_table(documents, flags, name)
            if corpus.name == BASE:
                clean_rows += [{"rater": name, "source": doc.get("source", "?"), "flagged": flag.flagged}
                               for doc, flag in zip(documents, flags, strict=True)]
        row["similarity"] = similarity.rate([doc["text"] for doc in documents])[levels.similarity_target]
        value_rows.append(row)
    values = pd.DataFrame(value_rows)
    return ValidationResult(
        values=values,
        spearman=_spearman(values),
        cross_talk=(cross_talk := _cross_talk(values, top)),
        flags=pd.DataFrame(flag_rows),
        clean_by_source=pd.DataFrame(clean_rows).groupby(["rater", "source"])["flagged"].agg(["mean", "count"])
        .rename(columns={"mean": "clean_flagged", "count": "documents"}).reset_index(),
        heatmap=_heatmap(cross_talk, out_dir / "cross_talk.png"),
    )


def _spearman(values: pd.DataFrame) -> dict[str, float]:
    result = {}
    for name in RATERS:
        rows = values[values["family"].isin([BY_RATER[name].column, BASE])]
        if len(rows) < 3:
            continue
        measured = rows[name] if name == "similarity" else 1.0 - rows[name]
        result[name] = float(spearmanr(rows["level"], measured).statistic)
    return result


def _cross_talk(values: pd.DataFrame, top: Mapping[str, float]) -> pd.DataFrame:
    base = values[values["family"] == BASE].iloc[0]
    table = {
        family: {
            name: abs(float(values[(values["family"] == family) & (values["level"] == level)][name].iloc[0])
                      - float(base[name]))
            for name in RATERS
        }
        for family, level in top.items()
    }
    return pd.DataFrame(table)


def _development_sections(result: ValidationResult) -> list[str]:
    spearman = pd.DataFrame([{"rater": name, "spearman vs injected level": rho} for name, rho in result.spearman.items()])
    return [
        "## Development families (the operators the raters were tuned on)\n",
        "### Measured values per corpus\n", result.values.to_markdown(index=False, floatfmt=".4f"),
        "\n### Dose-response (Spearman of 1 − CH, 1 − RA and SIM against the injected level)\n",
        spearman.to_markdown(index=False, floatfmt=".3f"),
        "\n### Cross-talk: |value at the family's top level − base| (rows: raters, columns: families)\n",
        result.cross_talk.to_markdown(floatfmt=".4f"), f"\n![cross-talk]({result.heatmap.name})\n",
        "\n### Per-document flags against the injected ground truth (top level of the rater's own family)\n",
        result.flags.to_markdown(index=False, floatfmt=".3f"),
        "\n### Clean base documents flagged, per source\n",
        result.clean_by_source.to_markdown(index=False, floatfmt=".3f"),
    ]


SET_TITLES = {
    "fifth_heldout": "Fifth held-out operator set (headline: written after the raters' last change by an author who "
                     "did not read them, scored once, never used to tune them)",
    "fourth_heldout": "Fourth held-out operator set (written before the raters' fourth round, never used to tune them; "
                      "its figures were seen at the end of round 4)",
    "third_heldout": "Third held-out operator set (written before the raters' third round, never used to tune them; "
                     "its figures were seen at the end of round 3, so it is no longer the headline)",
    "second_heldout": "Second held-out operator set (frozen before the raters' second round; its figures were seen "
                      "before the third)",
    "first_heldout": "First held-out operator set (frozen; looked at once while the raters were changed)",
    "development": "Development families, one at a time (the raters are tuned on these; development documents)",
}


def _family_sections(families: FamilyResult) -> list[str]:
    sections = []
    for name, table in families.table.groupby("set", sort=False):
        sections += [f"## {SET_TITLES.get(name, name)}\n",
                     "Each family corrupts half of the documents; precision and recall are those of the corrupted "
                     "attribute's rater, cross_talk is the other rater's flag rate on corrupted minus clean documents.\n",
                     table.drop(columns="set").to_markdown(index=False, floatfmt=".3f"),
                     "\n### Pooled over the families, per source\n",
                     families.by_source[families.by_source["set"] == name].drop(columns="set")
                     .to_markdown(index=False, floatfmt=".3f"), ""]
    if families.dose is not None:
        sections += ["\n### Issue #14's check (no punctuation, first half shuffled, cut to 60%): readability by "
                     "corrupted share\n", families.dose.to_markdown(index=False, floatfmt=".3f")]
    return sections


def write_validation(result: ValidationResult, out_dir: Path, families: FamilyResult | None = None,
                     gold: GoldAgreement | None = None) -> Path:
    """``validation.md`` (the tables, held-out and gold first) and ``validation.json`` (the same figures)."""
    sections = ["# Rater validation\n"]
    record: dict = {}
    if families is not None:
        sections += _family_sections(families)
        record["families"] = {"table": families.table.to_dict(orient="records"),
                              "by_source": families.by_source.to_dict(orient="records"),
                              "dose": None if families.dose is None else families.dose.to_dict(orient="records")}
    if gold is not None:
        sections += ["\n## Agreement with the hand-labelled gold set (Fig. 8 rubric)\n",
                     gold.table.to_markdown(index=False, floatfmt=".3f"), ""]
        record["gold"] = gold.table.to_dict(orient="records")
    sections += _development_sections(result)
    record["development"] = {
        "spearman": result.spearman,
        "cross_talk": result.cross_talk.to_dict(),
        "flags": result.flags.to_dict(orient="records"),
        "clean_by_source": result.clean_by_source.to_dict(orient="records"),
        "values": result.values.to_dict(orient="records"),
    }
    atomic_write_text(out_dir / "validation.md", "\n".join(sections) + "\n")
    atomic_write_json(out_dir / "validation.json", record)
    return out_dir / "validation.md"
