"""CCD misalignments: the focal plane as a mosaic of detectors, each a little out of the focal surface.

The field [0, size]^2 is divided into ``grid`` = (n_x, n_y) equal detectors (Euclid VIS: a
6 x 6 mosaic of CCDs). Detector d has a height h_d (um, along the beam, positive away from the
optics) and tilts g_x, g_y (um: the height change from its centre to its edge along x, y), so a
star at (x, y) on it sits at

    h = h_d + g_x (x - x_d) / (w_x / 2) + g_y (y - y_d) / (w_y / 2)        [um]

from the focal surface (x_d, y_d its centre, w its width). A focus shift h of a beam of focal
ratio N = f / D adds the wavefront W = h rho^2 / (8 N^2) (rho the normalised pupil radius), whose
Noll defocus coefficient is

    z4 = h / (16 sqrt(3) N^2)                                              [um]

(rho^2 = (Z4 / sqrt(3) + 1) / 2; the piston part is dropped). The defocus is linear on each
detector and jumps at detector edges; heights and tilts are drawn N(0, rms^2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..params import Section, non_negative, param
from ..physics.telescope import Telescope

#: Noll Z4 (defocus), 0-based column
DEFOCUS = 3


@dataclass(frozen=True)
class Detectors(Section):
    """``realism.detectors``: the detector mosaic ``grid`` (n_x, n_y) over the field and the RMS
    of each detector's height (``piston_rms_um``) and centre-to-edge tilt (``tilt_rms_um``) out
    of the focal surface, um (both 0: a flat focal plane, the idealised data)."""

    SECTION = "realism.detectors"

    grid: tuple[int, int] = param((6, 6), check=lambda v: len(v) == 2 and min(v) >= 1,
                                  allowed="[n_x, n_y], positive integers (Euclid VIS: [6, 6])")
    piston_rms_um: float = param(0.0, check=non_negative, allowed="a number of um >= 0")
    tilt_rms_um: float = param(0.0, check=non_negative, allowed="a number of um >= 0")

    @property
    def active(self) -> bool:
        return self.piston_rms_um > 0 or self.tilt_rms_um > 0


def defocus_per_height(telescope: Telescope) -> float:
    """Noll Z4 coefficient (um) per um of focus shift: 1 / (16 sqrt(3) N^2), N = f / D."""
    N = telescope.focal_length_m / telescope.diameter_m
    return 1.0 / (16.0 * np.sqrt(3.0) * N ** 2)


def detector_coordinates(grid: tuple[int, int], positions: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Detector of each position (N, 2) in field units on a ``grid`` = (n_x, n_y) mosaic of the
    field [0, size]^2: its index ix + n_x iy (row-major over y), and the position relative to
    the detector's centre in half-widths, (N, 2), -1..1 across the detector."""
    nx, ny = grid
    p = np.asarray(positions, np.float64)
    w = np.array([size / nx, size / ny])
    ix = np.clip(np.floor(p[:, 0] / w[0]).astype(int), 0, nx - 1)
    iy = np.clip(np.floor(p[:, 1] / w[1]).astype(int), 0, ny - 1)
    centre = (np.stack([ix, iy], axis=1) + 0.5) * w
    return ix + nx * iy, (p - centre) / (w / 2)


def detector_index(spec: Detectors, positions: np.ndarray, size: float) -> np.ndarray:
    """Detector of each position (N, 2) in field units: ix + n_x iy (row-major over y)."""
    return detector_coordinates(spec.grid, positions, size)[0]


def draw_mosaic(spec: Detectors, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each detector's height ``piston_um`` (n_d,) and tilts ``tilt_um`` (n_d, 2), um."""
    n = spec.grid[0] * spec.grid[1]
    return {"piston_um": rng.normal(0.0, spec.piston_rms_um, n), "tilt_um": rng.normal(0.0, spec.tilt_rms_um, (n, 2))}


def heights_um(spec: Detectors, mosaic: dict, positions: np.ndarray, size: float) -> np.ndarray:
    """Height (um) of the focal plane under each position (N, 2), from the detectors' mosaic."""
    d, rel = detector_coordinates(spec.grid, positions, size)
    return mosaic["piston_um"][d] + np.sum(mosaic["tilt_um"][d] * rel, axis=1)


def defocus_um(spec: Detectors, mosaic: dict, positions: np.ndarray, size: float,
               telescope: Telescope) -> np.ndarray:
    """The mosaic's Noll Z4 coefficient (um) at each position."""
    return heights_um(spec, mosaic, positions, size) * defocus_per_height(telescope)
