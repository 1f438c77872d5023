"""Architecture of the PSF model (the ``psf_models.model`` params section)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..params import ConfigError, Section, non_negative, param, positive


@dataclass(frozen=True)
class PSFModelConfig(Section):
    """What is needed to rebuild a model, with its arrays.

    ``pupil_samples``: model pupil sampling P; the simulator's (the telescope's)
    sampling must be a multiple of it (the model pupil is the simulator's mask
    block-averaged). ``degree``: parametric monomial degree (15 monomials for 4).
    ``data_driven``: include the data-driven OPD (``dd_features`` maps mixed by
    the monomials of degree ``dd_degree``; the mixing has an L1 penalty ``dd_l1``).
    ``noise_radius_px``: the noise sigma of a training star comes from its pixels
    beyond this radius. ``field_size``: side of the field, field units (the
    stage takes it from the ``field`` section). ``precision``: 'single'
    (complex64 arithmetic as float32 pairs) or 'double'. ``batch_stars``: stars
    per forward/backward chunk (bounds memory, not results). ``jit``: compile
    the chunk functions with XLA. ``detector_grid`` (n_x, n_y) or None: a per-detector focus
    term on that mosaic of the field (each detector's own defocus, a piston and a slope along
    x and y, :mod:`starsed.psf_model.detectors`): what a CCD out of the focal surface adds,
    jumps at detector edges that no polynomial of the position writes; None: no such term.
    """

    SECTION = "psf_models.model"

    kind: Literal["poly"] = "poly"
    n_zernikes: int = param(45, check=lambda v: v >= 1, allowed="an integer >= 1")
    degree: int = param(4, check=non_negative, allowed="an integer >= 0")
    pupil_samples: int = param(128, check=lambda v: v >= 8 and v % 2 == 0, allowed="an even integer >= 8")
    data_driven: bool = False
    dd_features: int = param(21, check=lambda v: v >= 1, allowed="an integer >= 1")
    dd_degree: int = param(5, check=non_negative, allowed="an integer >= 0")
    dd_l1: float = param(1e-8, check=non_negative, allowed="a number >= 0")
    noise_radius_px: float = param(10.0, check=positive, allowed="a positive number of pixels")
    field_size: float = param(1000.0, check=positive, allowed="a positive number (field units)")
    precision: Literal["single", "double"] = "single"
    batch_stars: int = param(32, check=lambda v: v >= 1, allowed="an integer >= 1")
    jit: bool = True
    detector_grid: tuple[int, int] | None = param(None, check=lambda v: len(v) == 2 and min(v) >= 1,
                                                  allowed="null or [n_x, n_y], positive integers "
                                                          "(Euclid VIS: [6, 6])")

    def check(self, where: str) -> None:
        n5 = (self.dd_degree + 1) * (self.dd_degree + 2) // 2
        if self.dd_features != n5:
            raise ConfigError(f"parameter {where}.dd_features = {self.dd_features!r} is invalid; allowed: the "
                              f"number of monomials of degree <= dd_degree = {n5} (square mixing matrix)")

    @property
    def n_detectors(self) -> int:
        """Detectors of the per-detector focus term (0: none)."""
        return 0 if self.detector_grid is None else self.detector_grid[0] * self.detector_grid[1]

    @property
    def n_monomials(self) -> int:
        return (self.degree + 1) * (self.degree + 2) // 2
