"""Scaling laws as small classes: each gives its parameters, its start grid and log L̂ in log-sum-exp form.

Every law is fitted in log space, log L̂ = LSE(terms), so that each additive term of L is exp(term) and the
fit is well conditioned across orders of magnitude (Hoffmann et al. 2022; Epoch 2024). ``terms`` is written in
torch (float64) so the fitter gets exact gradients from autograd, for every law, with no hand-derived algebra.
Parameters stored in log space (``log_params``) are reported as their exponentials under their plain names.

Every law derives its start grid from the data by default (``data_starts``, see starts.py); the literal grids of
the literature stay available by name (``named_grids``: Hoffmann's for Chinchilla, the paper's for Ziya2).

Ziya2's Eq. 5 prints ``log L̂ = LSE(1 − α·log D, log E)``; we read the "1 −" as a typo for "−" (Eq. 3 has
L = D^−α + E, whose log is exactly LSE(−α·log D, log E)), and fit that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ziya2lab.common.attributes import COLUMNS
from ziya2lab.scaling import starts as grid
from ziya2lab.scaling.starts import EXPONENTS, F_RATIOS, SHARES, SPLITS

DATA_GRID = "data"  # the default: starts derived from the table being fitted
SCALE_COLUMNS = ("N", "D", "V")


@dataclass
class TermDerivatives:
    """Closed-form derivatives of a law's LSE terms for a batch of parameter vectors θ (B, p) at n points."""

    terms: np.ndarray  # (B, K, n)
    gradients: np.ndarray  # (B, K, n, p): ∂ term / ∂θ (may be a broadcast view)
    curvature: Callable[[np.ndarray], np.ndarray] | None  # a (B, K, n) -> Σ_k,i a_ki ∇²term_ki (B, p, p); None: 0


@dataclass
class Law:
    name: str
    params: tuple[str, ...]  # names in the optimiser's (log-space where listed) coordinates
    columns: tuple[str, ...]  # table columns the law reads
    log_params: tuple[str, ...] = ()  # reported as exp(value) under the name without the "log_" prefix
    lower_bounds: dict[str, float] = field(default_factory=dict)
    named_grids: dict[str, dict[str, Sequence[float]]] = field(default_factory=dict)  # literal grids, by name
    zero_allowed: tuple[str, ...] = ()  # scale columns (N, D, V) the law is defined at 0 of; the others must be > 0
    exponents: tuple[str, ...] = ()  # the power terms' exponents (checks.py bounds them)

    @property
    def scale_columns(self) -> tuple[str, ...]:
        """The columns that count something (model size, tokens): never negative."""
        return tuple(column for column in self.columns if column in SCALE_COLUMNS)

    def terms(self, theta: torch.Tensor, data: dict[str, torch.Tensor]) -> torch.Tensor:
        """(terms, points): the log of each additive term of L at each point."""
        raise NotImplementedError

    def log_predict(self, theta: torch.Tensor, data: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.logsumexp(self.terms(theta, data), dim=0)

    def design(self, data: dict[str, np.ndarray]) -> np.ndarray | None:
        """(terms, points, params) with terms = design·θ, if every term is linear in θ (else None)."""
        return None

    def term_derivatives(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> TermDerivatives | None:
        """The terms' closed-form derivatives, for the batched Newton solver (None: it uses autograd)."""
        design = self.design(data)
        if design is None:
            return None
        terms = np.einsum("knp,bp->bkn", design, theta)
        return TermDerivatives(terms, np.broadcast_to(design, (len(theta), *design.shape)), None)

    def data_starts(self, data: dict[str, np.ndarray], loss: np.ndarray) -> np.ndarray:
        """(starts, params) placed by what they predict on this table (see starts.py)."""
        raise NotImplementedError

    def starts(self, data: dict[str, np.ndarray], loss: np.ndarray,
               spec: str | Mapping[str, Sequence[float]] | None = None) -> np.ndarray:
        """(starts, params): from the data (``None`` or ``"data"``), a literal grid by name, or the Cartesian
        product of a mapping that gives start values for every parameter."""
        if spec is None or spec == DATA_GRID:
            return self.data_starts(data, loss)
        if isinstance(spec, str):
            if spec not in self.named_grids:
                raise KeyError(f"law {self.name!r} has no grid {spec!r}; known: "
                               f"{', '.join([DATA_GRID, *self.named_grids])}")
            spec = self.named_grids[spec]
        missing = [name for name in self.params if name not in spec]
        if missing:
            raise ValueError(f"law {self.name!r}: the start grid lacks {missing}")
        return grid.product(*(spec[name] for name in self.params))

    def bounds(self) -> list[tuple[float | None, float | None]]:
        return [(self.lower_bounds.get(name), None) for name in self.params]

    def reported_names(self) -> tuple[str, ...]:
        """Plain parameter names (E, A, alpha, …) in the optimiser's order."""
        return tuple(name.removeprefix("log_") if name in self.log_params else name for name in self.params)

    def report(self, theta: np.ndarray) -> dict[str, float]:
        """Parameters by their plain names, exponentiating the log-space ones; never rounded."""
        return {reported: float(np.exp(value)) if name in self.log_params else float(value)
                for name, reported, value in zip(self.params, self.reported_names(), theta, strict=True)}

    def to_theta(self, reported: Mapping[str, float]) -> np.ndarray:
        """The inverse of ``report``: optimiser coordinates from plain-named parameters."""
        return np.array([np.log(reported[plain]) if name in self.log_params else reported[plain]
                         for name, plain in zip(self.params, self.reported_names(), strict=True)])

    def reported_lower_bounds(self) -> dict[str, float]:
        """Lower bounds by plain name, for the parameters that have one (all are linear, not log-space)."""
        return {plain: self.lower_bounds[name] for name, plain in zip(self.params, self.reported_names(), strict=True)
                if name in self.lower_bounds}


class Chinchilla(Law):
    """L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, Eq. 2)."""

    def __init__(self) -> None:
        super().__init__(
            name="chinchilla",
            params=("log_A", "log_B", "log_E", "alpha", "beta"),
            columns=("N", "D"),
            log_params=("log_A", "log_B", "log_E"),
            exponents=("alpha", "beta"),
            named_grids={"hoffmann": {  # Hoffmann's initialisation grid, as Epoch used it (4,500 starts)
                "alpha": np.arange(0, 2.01, 0.5),
                "beta": np.arange(0, 2.01, 0.5),
                "log_E": np.arange(-1, 1.01, 0.5),
                "log_A": np.arange(0, 26, 5),
                "log_B": np.arange(0, 26, 5),
            }},
        )

    def data_starts(self, data: dict[str, np.ndarray], loss: np.ndarray) -> np.ndarray:
        floor, alpha, beta, share = grid.product(grid.floors(loss), EXPONENTS, EXPONENTS, SHARES).T
        excess = grid.log_excess(loss, floor)
        return np.column_stack([grid.log_coefficient(excess + np.log(share), alpha, data["N"]),
                                grid.log_coefficient(excess + np.log1p(-share), beta, data["D"]),
                                np.log(floor), alpha, beta])

    def terms(self, theta: torch.Tensor, data: dict[str, torch.Tensor]) -> torch.Tensor:
        log_a, log_b, log_e, alpha, beta = theta
        log_n, log_d = data["N"].log(), data["D"].log()
        return torch.stack([log_a - alpha * log_n, log_b - beta * log_d, log_e + torch.zeros_like(log_n)])

    def design(self, data: dict[str, np.ndarray]) -> np.ndarray:
        log_n, log_d = np.log(data["N"]), np.log(data["D"])
        one, zero = np.ones_like(log_n), np.zeros_like(log_n)
        return np.stack([np.stack([one, zero, zero, -log_n, zero], axis=-1),
                         np.stack([zero, one, zero, zero, -log_d], axis=-1),
                         np.stack([zero, zero, one, zero, zero], axis=-1)])

    def compute_optimal(self, params: dict[str, float], compute: float) -> dict[str, float]:
        """N*, D* minimising L at C = 6ND, and the exponents a = β/(α+β), b = α/(α+β)."""
        alpha, beta = params["alpha"], params["beta"]
        g = (alpha * params["A"] / (beta * params["B"])) ** (1 / (alpha + beta))
        a, b = beta / (alpha + beta), alpha / (alpha + beta)
        return {"N_opt": g * (compute / 6) ** a, "D_opt": (compute / 6) ** b / g, "a": a, "b": b}


def effective_data(theta_attributes: torch.Tensor, log_f: torch.Tensor, data: dict[str, torch.Tensor]) -> torch.Tensor:
    """D_eff = (A·CH + B·RA + C·SIM)·V + F (Ziya2 Eq. 4)."""
    quality = sum(coefficient * data[name] for coefficient, name in zip(theta_attributes, COLUMNS, strict=True))
    return quality * data["V"] + log_f.exp()


def effective_data_term(coefficients: np.ndarray, log_f: np.ndarray, exponent: np.ndarray,
                        data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, Callable]:
    """t = −exponent·log D_eff for a batch, with ∂t/∂(A, B, C, log F, exponent) and its curvature contraction.

    With P_j = ∂log D/∂x_j for x = (A, B, C, log F): ∂²t/∂x_i∂x_j = exponent·(P_i P_j − [i = j = log F]·F/D),
    ∂²t/∂exponent∂x_j = −P_j and ∂²t/∂exponent² = 0.
    """
    per_token = np.stack([data[name] * data["V"] for name in COLUMNS], axis=-1)  # (n, 3)
    scale = np.exp(log_f)[:, None]  # F (B, 1)
    d_eff = np.maximum(coefficients @ per_token.T + scale, 1e-300)  # (B, n)
    log_d = np.log(d_eff)
    slopes = np.concatenate([per_token[None] / d_eff[:, :, None], (scale / d_eff)[:, :, None]], axis=-1)  # P
    e = exponent[:, None]
    term = -e * log_d
    gradients = np.concatenate([-e[:, :, None] * slopes, -log_d[:, :, None]], axis=-1)  # (B, n, 5)

    def curvature(weights: np.ndarray) -> np.ndarray:  # weights (B, n) -> (B, 5, 5)
        result = np.zeros((len(weights), 5, 5))
        weighted = slopes * weights[:, :, None]
        result[:, :4, :4] = exponent[:, None, None] * np.matmul(weighted.transpose(0, 2, 1), slopes)
        result[:, 3, 3] -= exponent * (weighted[:, :, 3]).sum(axis=1)
        result[:, 4, :4] = result[:, :4, 4] = -weighted.sum(axis=1)
        return result

    return term, gradients, curvature


def _place(local: np.ndarray, indices: list[int], params: int) -> np.ndarray:
    """Scatter a term's derivative block over its own parameters into the law's full parameter vector."""
    full = np.zeros((*local.shape[:-1], params))
    full[..., indices] = local
    return full


class Ziya2(Law):
    """L = D_eff^−α + E, D_eff = (A·CH + B·RA + C·SIM)·V + F (Ziya2 Eqs. 3–4), fitted per model size."""

    def __init__(self) -> None:
        super().__init__(
            name="ziya2",
            params=("A", "B", "C", "log_F", "alpha", "log_E"),
            columns=("V", *COLUMNS),
            log_params=("log_F", "log_E"),
            lower_bounds={"A": 0.0, "B": 0.0, "C": 0.0, "alpha": 0.0},
            zero_allowed=("V",),  # D_eff = F at V = 0: the model before the corpus (what pins F)
            exponents=("alpha",),
            named_grids={"paper": {  # the paper's grid (its F values are tokens at 13B scale)
                "alpha": [0.0, 0.67, 1.33, 2.0],
                "log_E": [0.0, 0.67, 1.33, 2.0],  # the paper's "E ∈ {0, .67, 1.33, 2}" read as e = log E
                "A": np.linspace(0, 2, 8),
                "B": np.linspace(0, 2, 8),
                "C": np.linspace(0, 2, 8),
                "log_F": np.log(np.array([1.0, 1.67, 2.33, 3.0]) * 1e12),
            }},
        )

    def data_starts(self, data: dict[str, np.ndarray], loss: np.ndarray) -> np.ndarray:
        floor, alpha, ratio, split = grid.product(grid.floors(loss), EXPONENTS, F_RATIOS, range(len(SPLITS))).T
        coefficients, log_f = grid.effective_data_starts(grid.log_excess(loss, floor), alpha, ratio,
                                                         np.asarray(SPLITS)[split.astype(int)], data, COLUMNS)
        return np.column_stack([coefficients, log_f, alpha, np.log(floor)])

    def terms(self, theta: torch.Tensor, data: dict[str, torch.Tensor]) -> torch.Tensor:
        a, b, c, log_f, alpha, log_e = theta
        d_eff = effective_data(torch.stack([a, b, c]), log_f, data)
        return torch.stack([-alpha * d_eff.clamp_min(1e-300).log(), log_e + torch.zeros_like(d_eff)])

    def term_derivatives(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> TermDerivatives:
        term, local, local_curvature = effective_data_term(theta[:, :3], theta[:, 3], theta[:, 4], data)
        indices = [0, 1, 2, 3, 4]
        constant = np.zeros_like(local)[..., :1].repeat(6, axis=-1)
        constant[..., 5] = 1.0

        def curvature(weights: np.ndarray) -> np.ndarray:
            result = np.zeros((len(theta), 6, 6))
            result[:, :5, :5] = local_curvature(weights[:, 0])
            return result

        terms = np.stack([term, theta[:, 5, None] + np.zeros_like(term)], axis=1)
        return TermDerivatives(terms, np.stack([_place(local, indices, 6), constant], axis=1), curvature)


class Joint(Law):
    """L = E + K/N^α + D_eff^−β over model size and attributes (ours).

    The issue's form E + A_N/N^α + B/D_eff^β has one redundant scale (B against the scale of A, B, C, F in
    D_eff); we fix it by absorbing B into D_eff, as Ziya2's law does, so every parameter is identifiable.
    """

    def __init__(self) -> None:
        super().__init__(
            name="joint",
            params=("log_K", "alpha", "A", "B", "C", "log_F", "beta", "log_E"),
            columns=("N", "V", *COLUMNS),
            log_params=("log_K", "log_F", "log_E"),
            lower_bounds={"A": 0.0, "B": 0.0, "C": 0.0, "alpha": 0.0, "beta": 0.0},
            zero_allowed=("V",),  # D_eff = F at V = 0
            exponents=("alpha", "beta"),
        )

    def data_starts(self, data: dict[str, np.ndarray], loss: np.ndarray) -> np.ndarray:
        floor, alpha, beta, share, ratio, split = grid.product(
            grid.floors(loss), EXPONENTS, EXPONENTS, SHARES, F_RATIOS, range(len(SPLITS))).T
        excess = grid.log_excess(loss, floor)
        coefficients, log_f = grid.effective_data_starts(excess + np.log1p(-share), beta, ratio,
                                                         np.asarray(SPLITS)[split.astype(int)], data, COLUMNS)
        log_k = grid.log_coefficient(excess + np.log(share), alpha, data["N"])
        return np.column_stack([log_k, alpha, coefficients, log_f, beta, np.log(floor)])

    def terms(self, theta: torch.Tensor, data: dict[str, torch.Tensor]) -> torch.Tensor:
        log_k, alpha, a, b, c, log_f, beta, log_e = theta
        d_eff = effective_data(torch.stack([a, b, c]), log_f, data)
        log_n = data["N"].log()
        return torch.stack([log_k - alpha * log_n, -beta * d_eff.clamp_min(1e-300).log(), log_e + torch.zeros_like(log_n)])

    def term_derivatives(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> TermDerivatives:
        term, local, local_curvature = effective_data_term(theta[:, 2:5], theta[:, 5], theta[:, 6], data)
        indices = [2, 3, 4, 5, 6]
        log_n = np.log(data["N"])
        size = np.zeros((*term.shape, 8))
        size[..., 0], size[..., 1] = 1.0, -log_n
        constant = np.zeros((*term.shape, 8))
        constant[..., 7] = 1.0

        def curvature(weights: np.ndarray) -> np.ndarray:
            result = np.zeros((len(theta), 8, 8))
            result[:, 2:7, 2:7] = local_curvature(weights[:, 1])
            return result

        terms = np.stack([theta[:, :1] - theta[:, 1:2] * log_n, term, theta[:, 7, None] + np.zeros_like(term)], axis=1)
        return TermDerivatives(terms, np.stack([size, _place(local, indices, 8), constant], axis=1), curvature)

    def compute_optimal(self, params: dict[str, float], compute: float, quality: float = 1.0) -> dict[str, float]:
        """N*, V* at C = 6NV for a corpus of quality A·CH + B·RA + C·SIM = ``quality`` (F neglected)."""
        alpha, beta = params["alpha"], params["beta"]
        g = (alpha * params["K"] / (beta * quality ** (-beta))) ** (1 / (alpha + beta))
        a, b = beta / (alpha + beta), alpha / (alpha + beta)
        return {"N_opt": g * (compute / 6) ** a, "V_opt": (compute / 6) ** b / g, "a": a, "b": b}


class PowerLaw(Law):
    """L(V) = E + B/V^β: one curve per group (a corpus, a model), for quick comparisons."""

    def __init__(self) -> None:
        super().__init__(
            name="power",
            params=("log_B", "beta", "log_E"),
            columns=("V",),
            log_params=("log_B", "log_E"),
            lower_bounds={"beta": 0.0},
            exponents=("beta",),
        )

    def data_starts(self, data: dict[str, np.ndarray], loss: np.ndarray) -> np.ndarray:
        floor, beta = grid.product(grid.floors(loss), EXPONENTS).T
        return np.column_stack([grid.log_coefficient(grid.log_excess(loss, floor), beta, data["V"]), beta,
                                np.log(floor)])

    def terms(self, theta: torch.Tensor, data: dict[str, torch.Tensor]) -> torch.Tensor:
        log_b, beta, log_e = theta
        log_v = data["V"].log()
        return torch.stack([log_b - beta * log_v, log_e + torch.zeros_like(log_v)])

    def design(self, data: dict[str, np.ndarray]) -> np.ndarray:
        log_v = np.log(data["V"])
        one, zero = np.ones_like(log_v), np.zeros_like(log_v)
        return np.stack([np.stack([one, -log_v, zero], axis=-1), np.stack([zero, zero, one], axis=-1)])


LAWS: dict[str, type[Law]] = {"chinchilla": Chinchilla, "ziya2": Ziya2, "joint": Joint, "power": PowerLaw}


def get_law(name: str) -> Law:
    if name not in LAWS:
        raise KeyError(f"unknown law {name!r}; known: {', '.join(LAWS)}")
    return LAWS[name]()
