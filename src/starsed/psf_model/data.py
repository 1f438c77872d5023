"""Training data of a PSF model: noisy stars with known SEDs and their loss weights."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..params import require
from ..physics.noise import robust_sigma

#: where the trainer's background annulus is centred, (x, y) pixels, and its MAD-to-sigma
#: factor, as the committed results were made (the one convention is the optical axis:
#: see :attr:`starsed.physics.telescope.Telescope.axis_px`)
_CENTRE_PX = (15.5, 15.5)
_MAD_TO_SIGMA = 1.4826


def star_weights(sigma: np.ndarray) -> np.ndarray:
    """Loss weights (1 / sigma^2) / median(1 / sigma^2)."""
    inv = 1.0 / np.square(np.asarray(sigma, dtype=np.float64))
    require(np.all(np.isfinite(inv)), "sigma", "zero or non-finite values", "positive noise sigmas")
    return inv / np.median(inv)


def check_stars(positions, sed_weights, n_bins: int, what: str = "stars"):
    """Positions (N, 2) and SED weights (N, n_bins) as float64 arrays, shapes checked."""
    positions = np.atleast_2d(np.asarray(positions, dtype=np.float64))
    require(positions.ndim == 2 and positions.shape[1] == 2, f"{what} positions", positions.shape,
            "an array (N, 2) of field positions")
    require(len(positions) > 0, f"number of {what}", 0, "at least one star")
    if sed_weights is not None:
        sed_weights = np.atleast_2d(np.asarray(sed_weights, dtype=np.float64))
        require(sed_weights.shape == (len(positions), n_bins), f"{what} sed_weights",
                sed_weights.shape, f"(N, n_bins) = ({len(positions)}, {n_bins}): one weight per wavelength bin")
    return positions, sed_weights


@dataclass(frozen=True)
class TrainingData:
    """Stars a PSF model is fitted to.

    ``positions`` (N, 2), field units; ``noisy`` (N, m, m) stamps; ``sed_weights``
    (N, n_bins), rows summing to 1; ``weights`` (N,): loss weights
    (1 / sigma^2) / median(1 / sigma^2); ``scale``: median(1 / sigma^2), which
    turns the weighted mean squared error into a reduced chi^2 (order 1);
    ``tilt_um`` (N, 2) or None: each star's Noll (Z2, Z3) offset from the stamp's optical
    axis, um (:func:`starsed.realism.offsets.tilt_um`; None: every star on the axis).
    """

    positions: np.ndarray
    noisy: np.ndarray
    sed_weights: np.ndarray
    weights: np.ndarray
    scale: float
    tilt_um: np.ndarray | None = None

    def with_tilts(self, tilt_um: np.ndarray | None) -> "TrainingData":
        """The same stars with per-star tip/tilt offsets ``tilt_um`` (N, 2), um (None: none)."""
        from dataclasses import replace

        if tilt_um is not None:
            tilt_um = np.asarray(tilt_um, np.float64)
            require(tilt_um.shape == (len(self), 2), "tilt_um", tilt_um.shape, f"({len(self)}, 2): (Z2, Z3) per star")
        return replace(self, tilt_um=tilt_um)

    @classmethod
    def from_stars(cls, positions, noisy, sed_weights, stamp_px: int, n_bins: int,
                   noise_radius_px: float, sigma: np.ndarray | None = None) -> "TrainingData":
        """Check the arrays and weight the stars; ``sigma`` (N,) per-star noise, by default
        estimated from each stamp's pixels beyond ``noise_radius_px``."""
        positions, sed_weights = check_stars(positions, sed_weights, n_bins, "training stars")
        noisy = np.asarray(noisy, dtype=np.float64)
        require(noisy.shape == (len(positions), stamp_px, stamp_px), "training stars noisy", noisy.shape,
                f"(N, {stamp_px}, {stamp_px}) matching the positions")
        if sigma is None:
            sigma = robust_sigma(noisy, noise_radius_px, _CENTRE_PX, _MAD_TO_SIGMA)
        return cls(positions, noisy, sed_weights, star_weights(sigma),
                   float(np.median(1.0 / np.square(sigma))))

    def __len__(self) -> int:
        return len(self.positions)
