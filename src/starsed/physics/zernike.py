"""Zernike polynomials in Noll's ordering and normalisation (Noll 1976).

Our own implementation (the common Python package is GPL). Noll's convention:
index j = 1, 2, ... ; within a radial order n the azimuthal order |m| grows
with j; even j carry cos(m theta), odd j carry sin(m theta); every polynomial
has unit variance over the unit disk (RMS = 1), so the RMS of an optical path
difference sum_k z_k Z_k over the disk is sqrt(sum_k z_k^2) (piston included).
"""
from __future__ import annotations

from math import factorial

import numpy as np


def noll_to_nm(j: int) -> tuple[int, int]:
    """Radial and signed azimuthal order (n, m) of Noll index ``j`` (>= 1).

    m > 0 means cos(m theta), m < 0 sin(|m| theta), m = 0 rotationally
    symmetric. Examples: j=2 -> (1, 1) (tip, x), j=3 -> (1, -1) (tilt, y),
    j=4 -> (2, 0) (defocus).
    """
    if j < 1:
        raise ValueError(f"Noll index j must be >= 1, got {j}")
    n = 0
    while (n + 1) * (n + 2) // 2 < j:
        n += 1
    # |m| values of order n in Noll order: n%2, n%2+2 (twice each except 0) ...
    first_j = n * (n + 1) // 2 + 1
    k = j - first_j  # position within the order, 0-based
    ms = []
    for m_abs in range(n % 2, n + 1, 2):
        ms.extend([m_abs] if m_abs == 0 else [m_abs, m_abs])
    m_abs = ms[k]
    if m_abs == 0:
        return n, 0
    return n, (m_abs if j % 2 == 0 else -m_abs)


def radial(n: int, m_abs: int, rho: np.ndarray) -> np.ndarray:
    """Zernike radial polynomial R_n^|m|(rho) (unnormalised, R(1) = 1)."""
    out = np.zeros_like(rho, dtype=np.float64)
    for s in range((n - m_abs) // 2 + 1):
        coef = (-1) ** s * factorial(n - s) / (
            factorial(s) * factorial((n + m_abs) // 2 - s) * factorial((n - m_abs) // 2 - s)
        )
        out += coef * rho ** (n - 2 * s)
    return out


def zernike(j: int, rho: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Noll-normalised Zernike Z_j at polar coordinates (no masking)."""
    n, m = noll_to_nm(j)
    r = radial(n, abs(m), rho)
    if m == 0:
        return np.sqrt(n + 1) * r
    ang = np.cos(m * theta) if m > 0 else np.sin(-m * theta)
    return np.sqrt(2 * (n + 1)) * r * ang


def unit_disk_grid(n_samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, inside) on the ``linspace(-1, 1, n_samples)`` grid.

    x varies along columns, y along rows; ``inside`` is rho <= 1.
    """
    c = np.linspace(-1.0, 1.0, n_samples)
    x, y = np.meshgrid(c, c)
    return x, y, x**2 + y**2 <= 1.0


def zernike_basis(n_zernikes: int, n_samples: int) -> np.ndarray:
    """Noll Zernikes Z_1..Z_n on the ``linspace(-1, 1, n_samples)`` grid.

    Returns an array (n_zernikes, n_samples, n_samples), float64, exactly zero
    outside the unit disk.
    """
    if n_zernikes < 1:
        raise ValueError(f"n_zernikes must be >= 1, got {n_zernikes}")
    x, y, inside = unit_disk_grid(n_samples)
    rho, theta = np.hypot(x, y), np.arctan2(y, x)
    basis = np.stack([zernike(j, rho, theta) for j in range(1, n_zernikes + 1)])
    basis[:, ~inside] = 0.0
    return basis


def centrosymmetric_modes(n_zernikes: int) -> np.ndarray:
    """Boolean mask (n_zernikes,) of the Noll modes with even radial order n, for which
    Z(-r) = Z(r): piston, defocus, astigmatism, spherical, ...

    For a pupil symmetric under r -> -r the PSF of a wavefront phi(r) equals that of
    its twin -phi(-r), which negates exactly these coefficients and keeps the others,
    at every wavelength (so no SED breaks the tie). Only the pupil's asymmetry (the
    Euclid-like spiders) tells the two apart.
    """
    return np.array([noll_to_nm(j)[0] % 2 == 0 for j in range(1, n_zernikes + 1)])
