"""What an attribute law (ziya2, joint) says a data attribute is worth: effective-data multipliers and the numbers
behind the paper's Fig. 7 view. One definition, used by the fit_scaling app and the study.

With D_eff = (A·CH + B·RA + C·SIM)·V + F, one token of a corpus with attributes (CH, RA, SIM) is worth
q = A·CH + B·RA + C·SIM effective tokens. The **effective-data multiplier** of attribute X is

    m_X = (q_base + coef_X·span_X) / q_base,

the factor by which moving X across span_X, from the clean base corpus with the other two held there, multiplies
the effective data of every token:

- the **base** is the clean corpus every family degrades: the rows whose ``family`` is ``"base"``; its CH, RA and
  SIM are their means over those rows (SIM differs by test set);
- **span_X** is how far X moved within its own family: max − min of X over the base rows and the rows of family
  X (the corpora made by degrading X alone; a family is named by its attribute's column).

Why this definition (issue 12 item 3 chose between it and the CLI's former base = mean of all rows, span = range
over all rows): the mean of all rows is no corpus anyone trained on, and the range over all rows includes moves of
X that nobody made (SIM changes with the test set and across the other families' corpora), so it credits X with
differences it did not cause. The study degrades one attribute per family from one clean base, and the multiplier
measures exactly that move. A table without families has no such reference and gets no multiplier (an error that
says so), never a number defined some other way.

The Fig. 7 view predicts the loss as each attribute moves over its family's range with the other two at the base,
at the table's largest V (and largest N for the joint law), from the same fit and the same reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ziya2lab.common.attributes import BY_COLUMN, COLUMNS
from ziya2lab.scaling.intervals import percentile_intervals

if TYPE_CHECKING:
    from ziya2lab.scaling.fitting import FitResult

FAMILY_COLUMN = "family"
BASE_FAMILY = "base"


@dataclass(frozen=True)
class AttributeReference:
    """The clean base corpus's attributes and each attribute's range within its own family."""

    base: dict[str, float]
    ranges: dict[str, tuple[float, float]]

    @property
    def spans(self) -> dict[str, float]:
        return {column: high - low for column, (low, high) in self.ranges.items()}


def attribute_reference(table: pd.DataFrame) -> AttributeReference:
    """The reference of the multipliers and the Fig. 7 view (module docstring); an error naming what is missing."""
    if FAMILY_COLUMN not in table:
        raise ValueError(f"effective-data multipliers need a {FAMILY_COLUMN!r} column naming the clean base "
                         f"({BASE_FAMILY!r}) and each attribute's family ({', '.join(COLUMNS)}); the table has "
                         f"{list(table.columns)}")
    base = table[table[FAMILY_COLUMN] == BASE_FAMILY]
    if base.empty:
        raise ValueError(f"effective-data multipliers need the clean base corpus: no row has "
                         f"{FAMILY_COLUMN} == {BASE_FAMILY!r} (families: {sorted(table[FAMILY_COLUMN].unique())})")
    ranges = {}
    for column in COLUMNS:
        family = table[table[FAMILY_COLUMN].isin([column, BASE_FAMILY])][column]
        ranges[column] = (float(family.min()), float(family.max()))
    return AttributeReference({column: float(base[column].mean()) for column in COLUMNS}, ranges)


def multipliers(params: Mapping[str, float], reference: AttributeReference) -> dict[str, float]:
    """m_X per attribute column for parameters ``params`` (NaN where the base's quality q_base is not positive)."""
    coefficients = {column: params[BY_COLUMN[column].coefficient] for column in COLUMNS}
    quality = sum(coefficients[column] * reference.base[column] for column in COLUMNS)
    if quality <= 0:
        return dict.fromkeys(COLUMNS, float("nan"))
    return {column: (quality + coefficients[column] * reference.spans[column]) / quality for column in COLUMNS}


def multiplier_intervals(result: FitResult, reference: AttributeReference | None = None,
                         level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """(estimate, low, high) per attribute from the fit and its bootstrap; all NaN from a failed fit, and NaN
    bounds without a usable bootstrap or where the multiplier does not vary over it (``result.failures`` says
    why)."""
    reference = reference or attribute_reference(result.table)
    result.warn_if_failed("effective-data multipliers")
    if not result.ok_fit:
        return {column: (float("nan"),) * 3 for column in COLUMNS}
    estimate = multipliers(result.params, reference)
    if not result.bootstrap_usable:
        return {column: (estimate[column], float("nan"), float("nan")) for column in COLUMNS}
    sampled = pd.DataFrame([multipliers(row, reference) for row in result.bootstrap_samples.to_dict("records")])
    found = percentile_intervals({column: sampled[column].to_numpy() for column in COLUMNS}, level, {},
                                 method=result.bootstrap_method)
    return {column: (estimate[column], *found[column]) for column in COLUMNS}


def effect_grid(result: FitResult, reference: AttributeReference, column: str, points: int = 50) -> pd.DataFrame:
    """The Fig. 7 view's inputs for one attribute: ``column`` over its family's range, the others at the base,
    V (and N) at the table's largest."""
    low, high = reference.ranges[column]
    grid = pd.DataFrame({name: np.full(points, reference.base[name]) for name in COLUMNS})
    grid[column] = np.linspace(low, high, points)
    grid["V"] = float(result.table["V"].max())
    if "N" in result.law.columns:
        grid["N"] = float(result.table["N"].max())
    return grid


def measured_at_effect_grid(result: FitResult, column: str) -> pd.DataFrame:
    """The fitted rows the Fig. 7 view draws beside the curve: the base and family ``column`` at the largest V
    (and largest N)."""
    table = result.table
    rows = table[(table["V"] == table["V"].max()) & table[FAMILY_COLUMN].isin([column, BASE_FAMILY])]
    return rows[rows["N"] == table["N"].max()] if "N" in result.law.columns else rows
