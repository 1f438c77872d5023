"""Pupil amplitude of a Euclid-like telescope (docs/reference.md, Pupil).

The pupil is sampled on a P x P grid whose samples span the aperture edge to
edge: physical coordinates ``linspace(-D/2, D/2, P)`` in x (columns) and y
(rows), i.e. the same samples as the unit-disk grid ``linspace(-1, 1, P)`` on
which the Zernikes are defined.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .zernike import unit_disk_grid


@dataclass(frozen=True)
class Spider:
    """A straight strut: centre (mm), angle from +x (deg), width and length (mm)."""

    x_mm: float
    y_mm: float
    angle_deg: float
    width_mm: float = 12.0
    length_mm: float = 700.0

    def covers(self, x_mm: np.ndarray, y_mm: np.ndarray) -> np.ndarray:
        t = np.deg2rad(self.angle_deg)
        dx, dy = x_mm - self.x_mm, y_mm - self.y_mm
        along = dx * np.cos(t) + dy * np.sin(t)
        across = -dx * np.sin(t) + dy * np.cos(t)
        return (np.abs(across) <= self.width_mm / 2) & (np.abs(along) <= self.length_mm / 2)


EUCLID_APERTURE_MM = 1200.0
EUCLID_OBSCURATION = (0.0, 51.0, 395.0)  # centre x, centre y, diameter (mm)
EUCLID_SPIDERS = (
    Spider(260.0, 240.0, 16.78),
    Spider(-330.0, 130.0, -39.89),
    Spider(70.0, -330.0, -100.76),
)


def euclid_obscurations(n_samples: int) -> np.ndarray:
    """Binary transmission of the Euclid-like aperture (1 = open), float64 (P, P)."""
    c = np.linspace(-EUCLID_APERTURE_MM / 2, EUCLID_APERTURE_MM / 2, n_samples)
    x, y = np.meshgrid(c, c)
    mask = np.hypot(x, y) <= EUCLID_APERTURE_MM / 2
    ox, oy, od = EUCLID_OBSCURATION
    mask &= np.hypot(x - ox, y - oy) > od / 2
    for spider in EUCLID_SPIDERS:
        mask &= ~spider.covers(x, y)
    return mask.astype(np.float64)


def tophat_2x2(mask: np.ndarray) -> np.ndarray:
    """Normalised 2 x 2 top-hat smoothing ("anti-aliasing"), same shape.

    out[i, j] is the mean of mask[i-1:i+1, j-1:j+1] (zero outside the array),
    the ``scipy.signal.convolve2d(..., mode='same')`` convention.
    """
    p = np.pad(mask, ((1, 0), (1, 0)))
    return 0.25 * (p[1:, 1:] + p[:-1, 1:] + p[1:, :-1] + p[:-1, :-1])


def block_average(a: np.ndarray, factor: int) -> np.ndarray:
    """Mean over non-overlapping ``factor`` x ``factor`` blocks of a square array."""
    n = a.shape[-1]
    if n % factor:
        raise ValueError(f"array side {n} is not a multiple of the block factor {factor}")
    m = n // factor
    return a.reshape(*a.shape[:-2], m, factor, m, factor).mean(axis=(-3, -1))


def pupil_amplitude(n_samples: int, obscurations: str = "euclid",
                    reference_samples: int | None = None) -> np.ndarray:
    """Pupil amplitude A on the P x P grid, exactly zero outside the unit disk.

    ``obscurations``: 'euclid' (central obscuration + 3 spiders, 2x2 top-hat
    smoothed) or 'none' (clear circular aperture). With ``reference_samples``
    (a multiple of ``n_samples``), the mask is built at that resolution and
    block-averaged down, so a coarse model pupil is the simulator's own mask.
    """
    if obscurations not in ("euclid", "none"):
        raise ValueError(f"obscurations = {obscurations!r}; allowed: 'euclid', 'none'")
    if reference_samples and reference_samples != n_samples:
        if reference_samples % n_samples:
            raise ValueError(f"reference_samples = {reference_samples} must be a multiple of "
                             f"pupil samples {n_samples}")
        fine = pupil_amplitude(reference_samples, obscurations)
        amp = block_average(fine, reference_samples // n_samples)
    elif obscurations == "euclid":
        amp = tophat_2x2(euclid_obscurations(n_samples))
    else:
        amp = np.ones((n_samples, n_samples))
    _, _, inside = unit_disk_grid(n_samples)
    return np.where(inside, amp, 0.0)
