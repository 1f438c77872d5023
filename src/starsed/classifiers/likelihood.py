"""The likelihood (template-fit) classifier and the Bayes limit (beyond the paper;
docs/reference.md, Classifiers)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..metrics.classification import N_CLASSES
from ..params import Section, param, positive, require
from ..physics.noise import BACKGROUND_RADIUS_PX, robust_sigma
from .base import Classifier, check_stars, psf_stats

__all__ = ["LikelihoodConfig", "LikelihoodClassifier"]


@dataclass(frozen=True)
class LikelihoodConfig(Section):
    """The ``classify.likelihood`` params section: ``flux`` 'free' (best-fitting amplitude)
    or 'unit'; the noise sigma, when not given, from the pixels beyond ``outer_radius_px``;
    ``shift``: each class also refines the star's sub-pixel offset (linearised; the PSF
    statistics must carry shift derivatives: stars off the pixel centre)."""

    SECTION = "classify.likelihood"

    flux: Literal["free", "unit"] = "free"
    outer_radius_px: float = param(BACKGROUND_RADIUS_PX, check=positive, allowed="a positive number of pixels")
    shift: bool = False


class LikelihoodClassifier(Classifier):
    """Template fitting: for each class c the model star ``M_c = sum_k w_ck H_k`` from
    the PSF at the star's position, ``log L_c = -||star - a_c M_c||^2 / (2 sigma^2)``
    and a flat prior.

    ``flux='free'``: ``a_c`` is the best-fitting amplitude; ``'unit'``: ``a_c = 1``.
    ``sigma``: passed per star to ``predict_proba`` (e.g. the true noise) or
    estimated robustly from pixels beyond ``outer_radius_px``. Needs no training
    stars (``fit`` only records a zero time). With the true PSF, the true sigma
    and unit flux it is the Bayes classifier (:meth:`bayes_limit`).
    """

    name = "likelihood"

    def __init__(self, sed_weights, config: LikelihoodConfig | None = None):
        w = np.asarray(sed_weights, np.float64)
        require(w.ndim == 2 and w.shape[0] == N_CLASSES, "sed_weights shape", w.shape,
                f"({N_CLASSES}, n_bins)")
        self.sed_weights = w
        self.config = LikelihoodConfig() if config is None else config

    @classmethod
    def bayes_limit(cls, sed_weights, shift: bool = False) -> "LikelihoodClassifier":
        """The Bayes classifier: unit flux; give it the true PSF and the true sigma (``shift``:
        the PSF at an estimated offset, refined per class)."""
        return cls(sed_weights, LikelihoodConfig(flux="unit", shift=shift))

    @property
    def flux(self) -> str:
        return self.config.flux

    @property
    def outer_radius_px(self) -> float:
        return self.config.outer_radius_px

    def fit(self, stars=None, labels=None, **aux):
        self.fit_seconds = 0.0
        return self

    def log_likelihood(self, stars, mono=None, stats=None, sigma=None) -> np.ndarray:
        """``log L_c`` up to a per-star constant, (N, 13)."""
        stars = check_stars(stars)
        s = psf_stats(stars, mono, stats)
        if sigma is None:
            n = stars.shape[-1]
            # centre (n/2, n/2), not the optical axis: as the committed results used it
            sigma = robust_sigma(stars, self.outer_radius_px, (n / 2, n / 2))
        else:
            sigma = np.asarray(sigma, np.float64)
        require(sigma.shape == (len(stars),) and np.all(sigma > 0), "sigma", sigma.shape,
                f"({len(stars)},) positive noise std per star")
        return -s.template_residuals(self.sed_weights, self.flux, self.config.shift) / (2.0 * sigma[:, None] ** 2)

    def predict_proba(self, stars, mono=None, stats=None, sigma=None) -> np.ndarray:
        ll = self.log_likelihood(stars, mono, stats, sigma)
        ll -= ll.max(axis=1, keepdims=True)
        p = np.exp(ll)
        return p / p.sum(axis=1, keepdims=True)
