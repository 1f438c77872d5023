"""Intra-pixel star positions: each star displaced from the stamp's optical axis by its own offset.

A displacement is a wavefront tilt. With the pupil phase exp(+2 pi i OPD / lambda) and the
kernel exp(-2 pi i x u / (lambda f)) (``docs/conventions.md``), a Noll tip Z2 = 2 x / R of c um
(R = D / 2 the pupil radius) tilts the wavefront by 4 c / D and moves the image by
4 c f / D toward +x, at every wavelength; Z3 likewise toward +y. The Zernikes are sampled on
``linspace(-1, 1, P)`` while the kernel's pupil pitch is D / P, so the unit circle sits at a
physical radius (P - 1) D / (2 P) and the shift is 4 c f / D x P / (P - 1). The offsets thus go
through the same optics chain as the wavefront (no resampling of the images).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..params import Section, param
from ..physics.telescope import Telescope

#: Noll indices (0-based columns) of tip (x) and tilt (y)
TIP_TILT = (1, 2)


@dataclass(frozen=True)
class Offsets(Section):
    """``realism.offsets``: each star's sub-pixel offset (dx, dy) ~ U(-max_px, max_px) per axis,
    pixels, from the stamp's optical axis (0: every star on the axis, the idealised data)."""

    SECTION = "realism.offsets"

    max_px: float = param(0.0, check=lambda v: 0.0 <= v <= 0.5, allowed="a number of pixels in [0, 0.5]")

    @property
    def active(self) -> bool:
        return self.max_px > 0


def shift_per_tilt_px(telescope: Telescope, pupil_samples: int | None = None) -> float:
    """Image shift, pixels, of 1 um of Noll tip (or tilt): 4 f / D x P / (P - 1) / pixel."""
    P = telescope.pupil_samples if pupil_samples is None else pupil_samples
    return 4.0 * telescope.focal_length_m / telescope.diameter_m * P / (P - 1) / telescope.pixel_um


def tilt_um(offsets_px: np.ndarray, telescope: Telescope, pupil_samples: int | None = None) -> np.ndarray:
    """Noll (Z2, Z3) coefficients, um, that move images by ``offsets_px`` (N, 2) = (dx, dy) pixels."""
    return np.asarray(offsets_px, np.float64) / shift_per_tilt_px(telescope, pupil_samples)


def offsets_px(spec: Offsets, n_stars: int, rng: np.random.Generator) -> np.ndarray:
    """(n_stars, 2) offsets (dx, dy), pixels, uniform in [-max_px, max_px] per axis."""
    return rng.uniform(-spec.max_px, spec.max_px, (n_stars, 2))
