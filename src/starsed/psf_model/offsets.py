"""Per-star offsets from the stamp's optical axis, estimated from the noisy stamps.

A star off the pixel centre is its PSF with a wavefront tip/tilt (:mod:`starsed.realism.offsets`).
Given a PSF (a model, or the true wavefront), each star's (Z2, Z3) offset is fitted by
Gauss-Newton on its own two parameters: r = obs - f(t), J = df/dt by central differences of
``step_um``, t <- t + (J^T J)^-1 J^T r (each star's noise weight is a constant factor, so it
drops out), each step clipped to ``max_step_px``. The images are unit-flux, so no amplitude is
fitted. :func:`fit_with_offsets` alternates these estimates with the PSF model's own training,
as wf-psf alternates its centroid correction with the model fit; a model with a per-detector
focus term (:mod:`.detectors`) has that term re-fitted in the same alternation.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..params import Section, param, positive, require
from ..realism.offsets import shift_per_tilt_px


@dataclass(frozen=True)
class OffsetFit(Section):
    """``psf_models.offsets``: fit each training star's offset from the stamp's optical axis while
    training (:func:`fit_with_offsets`): ``rounds`` alternations of offset estimates and training,
    ``iterations`` Gauss-Newton steps per estimate; for a model with a per-detector focus term,
    ``detector_iterations`` Gauss-Newton steps on it per round, under a Gaussian prior of sd
    ``detector_prior_um`` (um of Z4) on each of its coefficients."""

    SECTION = "psf_models.offsets"

    rounds: int = param(3, check=positive, allowed="an integer >= 1")
    iterations: int = param(4, check=positive, allowed="an integer >= 1")
    detector_iterations: int = param(2, check=positive, allowed="an integer >= 1")
    detector_prior_um: float = param(0.005, check=positive, allowed="a positive number of um")


def gauss_newton_tilts(render: Callable[[np.ndarray], np.ndarray], noisy: np.ndarray, tilt0_um: np.ndarray,
                       iterations: int = 4, step_um: float = 2e-3, max_step_um: float | None = None) -> np.ndarray:
    """Each star's (Z2, Z3) offset (N, 2), um, fitting ``render(tilt_um) -> stamps (N, m, m)`` to
    ``noisy`` (N, m, m) from ``tilt0_um``; ``iterations`` Gauss-Newton steps."""
    t = np.array(tilt0_um, np.float64)
    obs = np.asarray(noisy, np.float64).reshape(len(t), -1)
    for _ in range(iterations):
        f0 = render(t).reshape(len(t), -1)
        J = np.empty((len(t), obs.shape[1], 2))
        for k in range(2):
            e = np.zeros_like(t)
            e[:, k] = step_um
            J[:, :, k] = (render(t + e).reshape(len(t), -1) - render(t - e).reshape(len(t), -1)) / (2 * step_um)
        JtJ = np.einsum("npk,npl->nkl", J, J)
        Jtr = np.einsum("npk,np->nk", J, obs - f0)
        step = np.linalg.solve(JtJ + 1e-12 * np.trace(JtJ, axis1=1, axis2=2)[:, None, None] * np.eye(2),
                               Jtr[..., None])[..., 0]
        if max_step_um is not None:
            step = np.clip(step, -max_step_um, max_step_um)
        t = t + step
    return t


def model_tilts(model, positions: np.ndarray, sed_weights: np.ndarray, noisy: np.ndarray,
                tilt0_um: np.ndarray | None = None, iterations: int = 4) -> np.ndarray:
    """Offsets (Z2, Z3), um, of stars under a PSF model (its tilt units: its own pupil sampling)."""
    t0 = np.zeros((len(positions), 2)) if tilt0_um is None else tilt0_um
    max_step = 0.5 / shift_per_tilt_px(model.telescope, model.config.pupil_samples)
    return gauss_newton_tilts(lambda t: model.predict(positions, sed_weights, tilt_um=t), noisy, t0, iterations,
                              max_step_um=max_step)


def without_field_part(tilts_um: np.ndarray, monomials: np.ndarray) -> np.ndarray:
    """Per-star offsets minus their least-squares fit by the position monomials (N, n_monomials).

    A tip/tilt that varies smoothly over the field is the wavefront field's own Z2, Z3 terms;
    per-star offsets could absorb it, and the model's field would then lose it (test stars,
    evaluated at their true offsets, would be displaced by the field's tilt). Offsets are the
    part no polynomial of the position writes."""
    return tilts_um - monomials @ np.linalg.lstsq(monomials, tilts_um, rcond=None)[0]


def fit_with_offsets(model, data, recipe, rounds: int, iterations: int = 4, seed: int = 0, init: str = "random",
                     progress: bool = True, detector_iterations: int = 2, detector_prior_um: float = 0.005):
    """Train ``model`` on ``data`` (:class:`~starsed.psf_model.data.TrainingData`) while fitting each
    star's offset: ``rounds`` times, estimate the offsets under the current model
    (:func:`model_tilts`, from the last estimate; their field part removed,
    :func:`without_field_part`), then train on the stars with those offsets for 1 / rounds of the
    recipe's passes (the first round from ``init``, later ones warm). Returns the last
    :class:`~starsed.psf_model.training.FitReport` and the offsets (N, 2), um. A model with a
    per-detector focus term gets it re-fitted (:func:`~.detectors.fit_detector_focus`) after each
    offset estimate and once more at the end."""
    from .detectors import fit_detector_focus
    from .training import fit

    M = model.monomials(data.positions)

    def estimate(tilts):
        """The offsets under the current model, then (with the term) the per-detector focus at them."""
        tilts = without_field_part(model_tilts(model, data.positions, data.sed_weights, data.noisy, tilts,
                                               iterations), M)
        if model.config.detector_grid is not None:
            fit_detector_focus(model, data, tilts, detector_iterations, detector_prior_um)
        return tilts

    require(rounds >= 1, "offsets rounds", rounds, "an integer >= 1")
    share = max(1, recipe.passes // rounds) if hasattr(recipe, "passes") else None
    tilts, report = data.tilt_um, None
    for r in range(rounds):
        if r or init == "current":
            tilts = estimate(tilts)
        part = replace(recipe, passes=share) if share is not None else recipe
        report = fit(model, data.with_tilts(tilts), part, seed=seed + r, init=init if r == 0 else "current",
                     progress=progress)
    return report, estimate(tilts)
