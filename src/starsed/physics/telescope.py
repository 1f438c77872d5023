"""The instrument and its sampling conventions (the ``telescope`` params section).

Conventions, pinned by tests (``docs/conventions.md`` lists them):

- Pixel coordinates are 0-based pixel centres: pixel (i, j) is row i (y),
  column j (x); arrays are indexed ``[..., y, x]``.
- The monochromatic intensity is computed on a grid ``oversampling`` times
  finer than the pixel (``grid_samples`` = stamp_px x oversampling samples);
  each ``oversampling`` x ``oversampling`` block sums into one pixel.
- The optical axis falls on oversampled sample ``grid_samples // 2`` (48 of 96
  for Euclid; the zero-padded-FFT convention), i.e. at pixel coordinate
  (16 - 1/3, 16 - 1/3) of a 32-pixel stamp (:attr:`Telescope.axis_px`),
  shifted by ``axis_offset_px``. Every "stamp centre" in the code (the noise
  estimator's background annulus, the centroid checks) is this point.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..params import Section, param, positive


@dataclass(frozen=True)
class Telescope(Section):
    """Instrument and sampling. Lengths carry their unit in the name."""

    SECTION = "telescope"

    diameter_m: float = param(1.2, check=positive, allowed="a positive number of metres",
                              doc="aperture diameter, edge to edge, m")
    focal_length_m: float = param(24.5, check=positive, allowed="a positive number of metres")
    pixel_um: float = param(12.0, check=positive, allowed="a positive number of um")
    stamp_px: int = param(32, check=positive, allowed="a positive integer", doc="stamp side, pixels")
    oversampling: int = param(3, check=positive, allowed="a positive integer",
                              doc="optical samples per pixel side")
    sr_stamp: int = param(64, check=positive, allowed="a positive integer",
                          doc="super-resolved stamp side, oversampled samples")
    pupil_samples: int = param(256, check=lambda v: v > 0 and v % 2 == 0, allowed="a positive even integer",
                               doc="P, pupil samples across the aperture")
    band_nm: tuple[float, float] = param((550.0, 900.0), check=lambda v: 0 < v[0] < v[1],
                                         allowed="[low, high] with 0 < low < high, nm")
    n_bins: int = param(8, check=positive, allowed="a positive integer", doc="equal wavelength bins")
    axis_offset_px: tuple[float, float] = param((0.0, 0.0), doc="optical-axis shift (x, y), pixels")
    obscurations: Literal["euclid", "none"] = "euclid"

    def check(self, where: str) -> None:
        if self.sr_stamp > self.grid_samples:
            from ..params import ConfigError

            raise ConfigError(f"parameter {where}.sr_stamp = {self.sr_stamp!r} is invalid; allowed: at most "
                              f"stamp_px x oversampling = {self.grid_samples}")

    @property
    def grid_samples(self) -> int:
        """Side of the oversampled optical grid (stamp_px x oversampling)."""
        return self.stamp_px * self.oversampling

    @property
    def sample_um(self) -> float:
        """Focal-plane sample of the oversampled grid, um (4 um for Euclid)."""
        return self.pixel_um / self.oversampling

    @property
    def bin_edges_nm(self) -> np.ndarray:
        """Edges of the ``n_bins`` equal wavelength bins, nm."""
        return np.linspace(*self.band_nm, self.n_bins + 1)

    @property
    def wavelengths_um(self) -> np.ndarray:
        """Bin centres, um (571.875 + 43.75 k nm for Euclid VIS)."""
        e = self.bin_edges_nm
        return 0.5 * (e[:-1] + e[1:]) / 1000.0

    @property
    def axis_samples(self) -> tuple[float, float]:
        """Optical-axis position (x, y) on the oversampled grid, in samples (0-based)."""
        centre = self.grid_samples // 2
        ox, oy = self.axis_offset_px
        return centre + ox * self.oversampling, centre + oy * self.oversampling

    @property
    def axis_px(self) -> tuple[float, float]:
        """Where the optical axis falls in the stamp, (x, y) in 0-based pixel coordinates
        (16 - 1/3 for Euclid): the one stamp centre of the code."""
        q = self.oversampling
        ax, ay = self.axis_samples
        return (ax - (q - 1) / 2) / q, (ay - (q - 1) / 2) / q


def centroid_px(image: np.ndarray) -> np.ndarray:
    """Intensity centroid (x, y) of the last two axes, 0-based pixel-centre coordinates."""
    n_y, n_x = image.shape[-2:]
    total = image.sum(axis=(-2, -1))
    x = np.tensordot(image.sum(axis=-2), np.arange(n_x), axes=(-1, 0)) / total
    y = np.tensordot(image.sum(axis=-1), np.arange(n_y), axes=(-1, 0)) / total
    return np.stack([x, y], axis=-1)
