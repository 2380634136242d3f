"""Validation the raters were not built for: held-out corruption operators on held-out documents, and a gold set.

The development families (``validation.py``) reuse the operators the raters were tuned against, so their figures
overstate what a rater does on defects it has never seen. Here:

1. **Operator families, one at a time**, from six operator sets (``OPERATOR_SETS``): five held-out sets and the
   development families. The fifth held-out set (``fifth_heldout_operators.py``, the headline: written and frozen
   after the raters' last change by an author who did not read them, scored once), the fourth held-out set
   (``fourth_heldout_operators.py``: written and frozen before the raters' fourth round, its figures seen at the
   end of that round), the third held-out set
   (``third_heldout_operators.py``: written and frozen before the raters' third round, its figures seen at the end
   of that round), the second held-out set (``second_heldout_operators.py``: frozen before the
   raters' second round, its figures seen once at the end of that round), the first held-out set
   (``heldout_operators.py``: frozen, but its figures were seen once during the second round), and the
   development families (``corruption.py``: the raters are tuned on these). Each family corrupts half of the
   evaluation documents (the other half stays clean) and a second corpus swaps the halves, so every document is
   rated once corrupted and once clean, each time in a corpus whose prevalence is 50%. Per set, family and language: the precision and recall of the rater of the
   corrupted attribute, its flag rate on the clean documents, and how often the *other* rater flags the
   corrupted documents beyond its clean rate (cross-talk). The held-out sets are scored on the held-out document
   set of ``document_sets`` (neither the word-order models nor any threshold saw those documents), the
   development set on the development documents of the same sources.
2. **The issue's dose check**: the readability value of corpora with 0%, 30% and 60% of their documents put
   through the first held-out set's ``issue_check``.
3. **Gold agreement**: per rater and language, Cohen's κ, precision and recall of the flags against labels a
   person gave real factory documents by the Fig. 8 rubric (``tests/fixtures/gold/``; protocol in
   docs/ATTRIBUTES.md).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from sklearn.metrics import cohen_kappa_score

from ziya2lab.attributes import (
    corruption,
    fifth_heldout_operators,
    fourth_heldout_operators,
    heldout_operators,
    second_heldout_operators,
    third_heldout_operators,
)
from ziya2lab.attributes.config import RatersConfig
from ziya2lab.attributes.document_sets import set_documents
from ziya2lab.attributes.flags import corpus_value
from ziya2lab.attributes.levels import corrupt_chosen
from ziya2lab.attributes.rate import FLAG_ATTRIBUTES, make_flag_rater
from ziya2lab.attributes.text import doc_lang
from ziya2lab.common.attributes import COHERENCE as CH
from ziya2lab.common.attributes import READABILITY as RA

DOSE_LEVELS = (0.0, 0.3, 0.6)
OperatorSet = Mapping[str, Mapping[str, Callable]]  # rater -> family -> operator
OPERATOR_SETS: dict[str, OperatorSet] = {
    "fifth_heldout": {RA.rater: fifth_heldout_operators.READABILITY, CH.rater: fifth_heldout_operators.COHERENCE},
    "fourth_heldout": {RA.rater: fourth_heldout_operators.READABILITY, CH.rater: fourth_heldout_operators.COHERENCE},
    "third_heldout": {RA.rater: third_heldout_operators.READABILITY, CH.rater: third_heldout_operators.COHERENCE},
    "second_heldout": {RA.rater: second_heldout_operators.READABILITY, CH.rater: second_heldout_operators.COHERENCE},
    "first_heldout": {RA.rater: heldout_operators.READABILITY, CH.rater: heldout_operators.COHERENCE},
    "development": {RA.rater: corruption.READABILITY_FAMILIES, CH.rater: corruption.COHERENCE_FAMILIES},
}
# the document set (``document_sets``) each operator set is scored on: the development families on development
# documents, every held-out set on held-out ones
DOCUMENT_SET = {name: "development" if name == "development" else "heldout" for name in OPERATOR_SETS}
DOSE_SET = "first_heldout"  # whose ``issue_check`` the dose check uses


def check_operator_sets(names: Sequence[str]) -> None:
    unknown = [name for name in names if name not in OPERATOR_SETS]
    if unknown:
        raise KeyError(f"operator_sets has unknown {unknown}; known: {list(OPERATOR_SETS)}")


def _corrupt(documents: Sequence[dict], operator: Callable, attribute: str, family: str, chosen: set[int],
             seed: int) -> list[dict]:
    """The documents with those in ``chosen`` put through ``operator``; ``corruption`` names the family where the
    text changed (an operator that finds no site leaves a document clean, and it is scored as clean)."""
    by_lang: dict[str, list[str]] = {}
    for doc in documents:
        by_lang.setdefault(doc_lang(doc), []).append(doc["text"])

    def corrupt(doc: dict) -> tuple[str, str | None]:
        rng = random.Random(f"{seed}:{family}:{doc['id']}")
        lang = doc_lang(doc)
        if attribute == CH.rater:
            donors = [text for text in by_lang[lang] if text != doc["text"]]
            text = operator(doc["text"], lang, rng.sample(donors, min(8, len(donors))), rng)
        else:
            text = operator(doc["text"], lang, rng)
        return text, family if text != doc["text"] else None

    return corrupt_chosen(documents, chosen, corrupt)


def _rate_flags(corpus: Sequence[dict], raters: RatersConfig) -> dict[str, list[bool]]:
    return {name: [flag.flagged for flag in make_flag_rater(name, getattr(raters, name)).rate(list(corpus))]
            for name in FLAG_ATTRIBUTES}


def family_flags(documents: Sequence[dict], operator_set: str, raters: RatersConfig, seed: int = 0) -> pd.DataFrame:
    """One row per (family, document) of ``operator_set``: whether it was corrupted and what each flag rater said."""
    check_operator_sets([operator_set])
    halves = random.Random(seed).sample(range(len(documents)), len(documents))
    first = set(halves[: len(documents) // 2])
    rows = []
    for attribute, operators in OPERATOR_SETS[operator_set].items():
        for family, operator in operators.items():
            for chosen in (first, set(range(len(documents))) - first):
                corpus = _corrupt(documents, operator, attribute, family, chosen, seed)
                flags = _rate_flags(corpus, raters)
                rows += [{"set": operator_set, "attribute": attribute, "family": family, "lang": doc_lang(doc),
                          "source": doc.get("source"), "corrupted": doc["corruption"] is not None,
                          **{name: flags[name][index] for name in FLAG_ATTRIBUTES}}
                         for index, doc in enumerate(corpus)]
    return pd.DataFrame(rows)


def _scores(truth: pd.Series, flagged: pd.Series) -> dict[str, float]:
    true_positive = int((truth & flagged).sum())
    return {
        "precision": true_positive / int(flagged.sum()) if flagged.any() else float("nan"),
        "recall": true_positive / int(truth.sum()) if truth.any() else float("nan"),
        "clean_flagged": float(flagged[~truth].mean()) if (~truth).any() else float("nan"),
    }


def family_table(flags: pd.DataFrame) -> pd.DataFrame:
    """Per set, family and language: the precision and recall of the corrupted attribute's rater, and the
    cross-talk of the other rater (its flag rate on the corrupted documents minus its rate on the clean ones)."""
    rows = []
    for (operator_set, attribute, family, lang), group in flags.groupby(["set", "attribute", "family", "lang"],
                                                                        sort=False):
        other = next(name for name in FLAG_ATTRIBUTES if name != attribute)
        truth = group["corrupted"]
        rows.append({"set": operator_set, "attribute": attribute, "family": family, "lang": lang,
                     "corrupted": int(truth.sum()), "clean": int((~truth).sum()), **_scores(truth, group[attribute]),
                     "other rater": other, "cross_talk": float(group[other][truth].mean() - group[other][~truth].mean())})
    return pd.DataFrame(rows)


def by_source(flags: pd.DataFrame) -> pd.DataFrame:
    """Per set, attribute and source, pooled over the families: the rater's precision, recall and clean flag rate
    (a base document's own defects, which the operators did not put there, count against precision here)."""
    rows = []
    for (operator_set, attribute, source), group in flags.groupby(["set", "attribute", "source"], sort=False):
        rows.append({"set": operator_set, "attribute": attribute, "source": source,
                     "corrupted": int(group["corrupted"].sum()), **_scores(group["corrupted"], group[attribute])})
    return pd.DataFrame(rows)


def issue_dose(documents: Sequence[dict], raters: RatersConfig, seed: int = 0) -> pd.DataFrame:
    """Readability of corpora whose given share of documents went through issue #14's ``issue_check``."""
    operator = OPERATOR_SETS[DOSE_SET][RA.rater]["issue_check"]
    rows = []
    for lang in sorted({doc_lang(doc) for doc in documents}):
        docs = [doc for doc in documents if doc_lang(doc) == lang]
        order = random.Random(seed).sample(range(len(docs)), len(docs))
        for level in DOSE_LEVELS:
            corpus = _corrupt(docs, operator, RA.rater, "issue_check", set(order[: round(level * len(docs))]), seed)
            rater = make_flag_rater(RA.rater, raters.readability)
            rows.append({"lang": lang, "corrupted share": level, "readability": corpus_value(rater.rate(corpus))})
    return pd.DataFrame(rows)


@dataclass
class FamilyResult:
    table: pd.DataFrame  # per set, family and language (``family_table``)
    by_source: pd.DataFrame  # pooled over families, per set, attribute and source
    dose: pd.DataFrame | None  # issue #14's check at 0/30/60% (when the first held-out set is scored)
    flags: pd.DataFrame  # per (set, family, document)


def family_documents(sources: Mapping[str, Sequence[str]], per_language: int,
                     operator_sets: Sequence[str]) -> dict[str, list[dict]]:
    """The documents each operator set is scored on: ``per_language`` per language of its document set."""
    check_operator_sets(operator_sets)
    return {which: set_documents(sources, per_language, which)
            for which in sorted({DOCUMENT_SET[name] for name in operator_sets})}


def validate_families(documents: Mapping[str, Sequence[dict]], operator_sets: Sequence[str], raters: RatersConfig,
                      seed: int = 0) -> FamilyResult:
    """Every family of ``operator_sets``, each on ``documents[DOCUMENT_SET[set]]``, and the issue's dose check."""
    check_operator_sets(operator_sets)
    flags = pd.concat([family_flags(documents[DOCUMENT_SET[name]], name, raters, seed) for name in operator_sets],
                      ignore_index=True)
    dose = issue_dose(documents[DOCUMENT_SET[DOSE_SET]], raters, seed) if DOSE_SET in operator_sets else None
    return FamilyResult(family_table(flags), by_source(flags), dose, flags)


@dataclass
class GoldAgreement:
    table: pd.DataFrame  # per rater and language (and "all"): n, labelled, flagged, precision, recall, kappa
    flags: pd.DataFrame  # per gold document: its labels and each rater's flag


def gold_agreement(records: Sequence[dict], raters: RatersConfig) -> GoldAgreement:
    """The flag raters on the gold documents against their hand labels (1 = has the problem)."""
    flags = _rate_flags(records, raters)
    per_document = pd.DataFrame([{"id": record["id"], "lang": record["lang"], "status": record["status"],
                                  **{f"label_{name}": bool(record["labels"][name]) for name in FLAG_ATTRIBUTES},
                                  **{name: flags[name][index] for name in FLAG_ATTRIBUTES}}
                                 for index, record in enumerate(records)])
    rows = []
    for name in FLAG_ATTRIBUTES:
        for lang, group in [*per_document.groupby("lang"), ("all", per_document)]:
            truth, flagged = group[f"label_{name}"], group[name]
            rows.append({"rater": name, "lang": lang, "documents": len(group), "labelled": int(truth.sum()),
                         "flagged": int(flagged.sum()), **_scores(truth, flagged),
                         "kappa": float(cohen_kappa_score(truth, flagged))})
    return GoldAgreement(pd.DataFrame(rows), per_document)
