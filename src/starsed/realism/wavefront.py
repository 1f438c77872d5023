"""A wavefront the PSF model cannot write exactly: a smooth random field beside the polynomial one.

The idealised field gives each Zernike coefficient as a degree-4 polynomial of the position,
which is the PSF model's own family. This component adds, to every mode from defocus (Z4) up,
a stationary Gaussian random field of the position with a squared-exponential covariance of
correlation length ``correlation_length`` (field units), drawn as ``n_features`` random
Fourier features (Rahimi and Recht 2007):

    e_k(x) = sqrt(2 / F) sum_f a_kf cos(w_f . x + phi_f),  w_f ~ N(0, I / l^2),
             phi_f ~ U(0, 2 pi), a_kf ~ N(0, 1),

then scaled so that it carries ``share`` of the mean wavefront variance over the field:
mean |e|^2 / (mean |z|^2 + mean |e|^2) = share on a regular 21 x 21 grid, z the idealised
field (whose draws it leaves untouched). A long correlation length is nearly a low-degree
polynomial; a short one is mostly outside the model's family (:func:`outside_family_share`
measures how much).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..params import Section, param, positive
from ..physics.field import monomials, regular_grid, wfe_rms_um

#: first mode (0-based column) of the extra field: defocus; piston, tip and tilt are left alone
FIRST_MODE = 3


@dataclass(frozen=True)
class ExtraWavefront(Section):
    """``realism.wavefront``: the ``share`` (0 <= share < 1) of the mean wavefront variance carried
    by a random field of ``correlation_length`` (field units) outside the polynomial family,
    drawn with ``n_features`` random Fourier features (share 0: the idealised field)."""

    SECTION = "realism.wavefront"

    share: float = param(0.0, check=lambda v: 0.0 <= v < 1.0, allowed="a number in [0, 1)")
    correlation_length: float = param(200.0, check=positive, allowed="a positive length, field units")
    n_features: int = param(64, check=lambda v: v >= 1, allowed="an integer >= 1")

    @property
    def active(self) -> bool:
        return self.share > 0


def draw_features(spec: ExtraWavefront, n_zernikes: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Frequencies ``w`` (F, 2) per field unit, phases ``phi`` (F,), amplitudes ``a`` (n_zernikes, F)
    (zero below :data:`FIRST_MODE`), before scaling."""
    F = spec.n_features
    a = rng.standard_normal((n_zernikes, F))
    a[:FIRST_MODE] = 0.0
    return {"w": rng.normal(0.0, 1.0 / spec.correlation_length, (F, 2)), "phi": rng.uniform(0.0, 2 * np.pi, F),
            "a": a}


def evaluate(features: dict, positions: np.ndarray) -> np.ndarray:
    """The random field's Zernike coefficients (N, n_zernikes), um, at positions (N, 2)."""
    F = len(features["phi"])
    c = np.cos(np.asarray(positions, np.float64) @ features["w"].T + features["phi"])     # (N, F)
    return np.sqrt(2.0 / F) * c @ features["a"].T


def scaled(features: dict, spec: ExtraWavefront, field_zernikes_um, size: float) -> dict:
    """``features`` with amplitudes scaled to carry ``spec.share`` of the mean variance, the
    idealised field given as a function of positions (``field_zernikes_um(positions)``)."""
    grid = regular_grid(21, size)
    ideal = np.mean(wfe_rms_um(field_zernikes_um(grid)) ** 2)
    extra = np.mean(wfe_rms_um(evaluate(features, grid)) ** 2)
    target = spec.share / (1.0 - spec.share) * ideal
    return {**features, "a": features["a"] * np.sqrt(target / extra) if extra > 0 else features["a"]}


def outside_family_share(features: dict, degree: int, size: float, n_grid: int = 41) -> float:
    """Fraction of the field's variance (over an n_grid^2 grid) that no degree-``degree``
    polynomial of the position can write: 1 - R^2 of the least-squares polynomial fit."""
    grid = regular_grid(n_grid, size)
    e = evaluate(features, grid)
    M = monomials(grid, degree, size)
    fit = M @ np.linalg.lstsq(M, e, rcond=None)[0]
    total = np.sum(e ** 2)
    return float(np.sum((e - fit) ** 2) / total) if total > 0 else 0.0
