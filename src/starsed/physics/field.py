"""Field dependence of the wavefront: position monomials and the random field.

Positions are in field units [0, size]^2 (size = 1000), scaled to [-1, 1]^2.
The Zernike coefficients of a star at (x, y) are z = C m(x, y), with m the
monomials of total degree <= ``degree`` (docs/reference.md, Wavefront field).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..params import ConfigError, Section, non_negative, param, positive


@dataclass(frozen=True)
class FieldSpec(Section):
    """Random polynomial wavefront field (the ``field`` params section)."""

    SECTION = "field"

    n_zernikes: int = param(45, check=lambda v: v >= 1, allowed="an integer >= 1",
                            doc="Noll Z1..Zn (45: radial orders n <= 8)")
    degree: int = param(4, check=non_negative, allowed="an integer >= 0",
                        doc="total degree of the position monomials")
    size: float = param(1000.0, check=positive, allowed="a positive number", doc="field side, field units")
    anchors_per_side: int = param(5, check=lambda v: v >= 1, allowed="an integer >= 1")
    mode_norm_um: float = param(0.05, check=non_negative, allowed="a number >= 0",
                                doc="L2 norm of each mode over the anchors, um")
    wfe_fraction: float = param(0.8, check=non_negative, allowed="a number >= 0",
                                doc="mean WFE over the regular grid = fraction x mode_norm_um")

    def check(self, where: str) -> None:
        n_mono = (self.degree + 1) * (self.degree + 2) // 2
        if self.anchors_per_side ** 2 < n_mono:
            raise ConfigError(f"parameter {where}.anchors_per_side = {self.anchors_per_side!r} is invalid; "
                              f"allowed: at least sqrt({n_mono}) anchors per side for degree {self.degree}")


def monomial_powers(degree: int) -> list[tuple[int, int]]:
    """(px, py) of the monomials x^px y^py, ordered by total degree, then by py."""
    return [(d - k, k) for d in range(degree + 1) for k in range(d + 1)]


def scale_positions(positions: np.ndarray, size: float) -> np.ndarray:
    """Field units [0, size] -> [-1, 1]."""
    return 2.0 * np.asarray(positions, dtype=np.float64) / size - 1.0


def monomials(positions: np.ndarray, degree: int, size: float = 1000.0) -> np.ndarray:
    """Monomials m(x, y) of total degree <= ``degree`` at ``positions`` (N, 2).

    Returns (N, (degree+1)(degree+2)/2), float64.
    """
    p = np.atleast_2d(positions)
    if p.shape[-1] != 2:
        raise ValueError(f"positions must have shape (N, 2), got {p.shape}")
    xs = scale_positions(p, size)
    x, y = xs[:, 0], xs[:, 1]
    return np.stack([x**px * y**py for px, py in monomial_powers(degree)], axis=1)


def zernike_coefficients(C: np.ndarray, positions: np.ndarray, degree: int,
                         size: float = 1000.0) -> np.ndarray:
    """Zernike coefficients (N, n_zernikes), um, of the field ``C`` at ``positions``."""
    return monomials(positions, degree, size) @ C.T


def wfe_rms_um(zernikes: np.ndarray) -> np.ndarray:
    """RMS wavefront error over the pupil disk, um (Noll-normalised: L2 norm)."""
    return np.sqrt(np.sum(np.square(zernikes), axis=-1))


def regular_grid(n_per_side: int, size: float) -> np.ndarray:
    """n x n grid of positions, linspace(0, size, n) on both axes, shape (n*n, 2)."""
    c = np.linspace(0.0, size, n_per_side)
    x, y = np.meshgrid(c, c)
    return np.stack([x.ravel(), y.ravel()], axis=1)


def random_field(spec: FieldSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw a random wavefront field C (n_zernikes, n_monomials), um.

    Anchors: a regular grid jittered uniformly by +- half a step (step =
    size / anchors_per_side) and clipped to the field; N(0, 1) Zernike values at
    the anchors, each mode's row scaled to L2 norm ``mode_norm_um``; C fitted by
    least squares; then C scaled so that the mean WFE over the regular grid is
    ``wfe_fraction x mode_norm_um``. Returns (C, anchor positions).
    """
    n = spec.anchors_per_side
    step = spec.size / n
    regular = regular_grid(n, spec.size)
    anchors = np.clip(regular + rng.uniform(-step / 2, step / 2, regular.shape), 0.0, spec.size)
    values = rng.standard_normal((spec.n_zernikes, n * n))
    norms = np.linalg.norm(values, axis=1, keepdims=True)
    values *= spec.mode_norm_um / norms
    M = monomials(anchors, spec.degree, spec.size)          # (n*n, n_mono)
    C = values @ np.linalg.pinv(M.T)                         # (nz, n_mono)
    mean_wfe = wfe_rms_um(zernike_coefficients(C, regular, spec.degree, spec.size)).mean()
    target = spec.wfe_fraction * spec.mode_norm_um
    if mean_wfe > 0:
        C *= target / mean_wfe
    return C, anchors
