"""The noise model of the simulation and the ONE robust noise estimator.

The simulator adds white Gaussian noise of one sigma per star, set by its SNR:
sigma^2 = sum(star^2) / (SNR x n_pixels) (:func:`sigma_for_snr`), drawn from a
generator seeded by (exposure seed, star index) (:func:`star_noise`), so a
star's noise does not depend on how the stars are chunked.

Trainers and classifiers estimate sigma from the stamp alone with
:func:`robust_sigma`: 1.4826 x the median absolute deviation (about the median)
of the pixels farther than ``radius_px`` from the stamp centre ``centre_px``
(the optical axis, :attr:`starsed.physics.telescope.Telescope.axis_px`).
"""
from __future__ import annotations

import numpy as np

from ..params import require

#: converts a median absolute deviation to a Gaussian standard deviation
MAD_TO_SIGMA = 1.482602218505602
#: pixels farther than this from the stamp centre are taken as background
BACKGROUND_RADIUS_PX = 10.0


def sigma_for_snr(stamps: np.ndarray, snr: np.ndarray) -> np.ndarray:
    """Per-star Gaussian sigma: sigma^2 = sum(star^2) / (SNR x n_pixels)."""
    n_pix = stamps.shape[-1] * stamps.shape[-2]
    power = np.sum(np.square(stamps, dtype=np.float64), axis=(-2, -1))
    return np.sqrt(power / (snr * n_pix))


def star_noise(seed: int, star_index: int, shape: tuple[int, int]) -> np.ndarray:
    """Unit white noise of one star, from (seed, star index): independent of chunking."""
    return np.random.default_rng([seed, star_index]).standard_normal(shape)


def background_mask(n: int, radius_px: float, centre_px: tuple[float, float]) -> np.ndarray:
    """Pixels of an n x n stamp farther than ``radius_px`` from ``centre_px`` (x, y)."""
    cx, cy = centre_px
    yy, xx = np.mgrid[:n, :n]
    return np.hypot(yy - cy, xx - cx) > radius_px


def robust_sigma(stamps: np.ndarray, radius_px: float, centre_px: tuple[float, float],
                 mad_to_sigma: float = MAD_TO_SIGMA) -> np.ndarray:
    """Per-star noise sigma (flux units per pixel) from the background pixels (N,).

    ``mad_to_sigma`` x the median absolute deviation about the median of the
    pixels of :func:`background_mask`. ``stamps`` (N, n, n) or (n, n).
    """
    stamps = np.asarray(stamps, np.float64)
    require(stamps.ndim in (2, 3) and stamps.shape[-1] == stamps.shape[-2], "stamps shape", stamps.shape,
            "(N, n, n) or (n, n)")
    n = stamps.shape[-1]
    outer = background_mask(n, radius_px, centre_px)
    require(outer.sum() >= 16, "noise radius_px", radius_px,
            f"a radius leaving at least 16 pixels of the {n}x{n} stamp outside it")
    px = stamps[..., outer]
    med = np.median(px, axis=-1, keepdims=True)
    return mad_to_sigma * np.median(np.abs(px - med), axis=-1)
