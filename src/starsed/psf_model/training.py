"""Train a PSF model: one entry point for every recipe, and the even-part reset."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from ..params import require
from ..physics.zernike import centrosymmetric_modes
from .adam import fit_adam
from .data import TrainingData
from .lbfgs import fit_lbfgs
from .recipes import AdamRecipe, LBFGSRecipe

INITS = ("random", "current")


@dataclass
class FitReport:
    """What a training run did: ``history`` (one entry per pass or epoch: phase, loss,
    seconds since the start), its wall time ``seconds`` and, for an L-BFGS recipe with
    ``precond_reuse``, the plain-basis Gauss-Newton Hessian it used (``preconditioner``,
    for the next fit of a warm-started sequence)."""

    history: list[dict]
    seconds: float
    preconditioner: np.ndarray | None = None

    @property
    def passes(self) -> int:
        return len(self.history)

    @property
    def final_loss(self) -> float | None:
        return self.history[-1]["loss"] if self.history else None


def random_start(model, seed: int, zero_even: bool = False) -> None:
    """The paper's initialisation: C_hat ~ U(-0.01, 0.01) um (and, with a data-driven part,
    maps ~ U(-0.001, 0.001) um and mixing = identity), drawn from ``seed``; with
    ``zero_even`` the centrosymmetric Zernike field then set to zero."""
    rng = np.random.default_rng(seed)
    model.C_hat = rng.uniform(-0.01, 0.01, model.C_hat.shape)
    if zero_even:
        model.C_hat[centrosymmetric_modes(len(model.C_hat))] = 0.0
    if model.config.data_driven:
        model.dd_maps_um = rng.uniform(-0.001, 0.001, model.dd_maps_um.shape)
        model.dd_mixing = np.eye(model.config.dd_features)


def fit(model, data: TrainingData, recipe: LBFGSRecipe | AdamRecipe, seed: int = 0, init: str = "random",
        progress: bool = True, callback=None, preconditioner: np.ndarray | None = None) -> FitReport:
    """Train ``model`` in place on ``data`` with ``recipe``.

    ``init``: 'random' (:func:`random_start` from ``seed``) or 'current' (a warm
    start from the model's present arrays). ``seed`` also draws the
    preconditioner's stars (L-BFGS) or orders the mini-batches (Adam).
    ``callback(entry, C_hat_um)``, if given, is called after every pass or epoch.
    ``preconditioner``: a plain-basis Gauss-Newton Hessian from an earlier fit's report, reused
    by an L-BFGS recipe with ``precond_reuse``.
    """
    require(init in INITS, "init", init, f"one of {list(INITS)}")
    require(isinstance(recipe, (LBFGSRecipe, AdamRecipe)), "recipe", type(recipe).__name__,
            "an LBFGSRecipe or an AdamRecipe")
    lbfgs = isinstance(recipe, LBFGSRecipe)
    if init == "random":
        random_start(model, seed, zero_even=lbfgs and recipe.zero_even_start)
    t0 = time.perf_counter()
    if lbfgs:
        history, precond = fit_lbfgs(model, data, recipe, seed, fresh=init == "random", progress=progress,
                                     callback=callback, preconditioner=preconditioner)
    else:
        history, precond = fit_adam(model, data, recipe, seed, progress, callback), None
    return FitReport(history, time.perf_counter() - t0, precond)


def reset_even_part(model, data: TrainingData, recipe, plain_passes: int, seed: int = 0,
                    progress: bool = True):
    """Zero the model's centrosymmetric Zernike field, then let ``plain_passes`` passes of
    plain L-BFGS (no Gauss-Newton preconditioner, whose curvature in these modes is ~0
    there) on ``data`` choose its sign. Returns the recipe with the passes left.

    Images cannot tell a wavefront from its twin (:func:`centrosymmetric_modes`), so a
    model fitted on few stars can have the sign of its even part wrong over much of the
    field, and a warm-started fit stays in that basin; at zero even part the gradient in
    those modes is the pupil asymmetry's signal alone. The paper's Adam is a plain
    gradient method already: for it only the zeroing applies.
    """
    lbfgs = isinstance(recipe, LBFGSRecipe)
    plain, available = (plain_passes, recipe.passes) if lbfgs else (0, 0)
    require(0 <= plain <= available, "psf_impact.even_reset.plain_passes", plain_passes,
            f"0..{available} (the passes of that added count)")
    model.C_hat = np.where(centrosymmetric_modes(len(model.C_hat))[:, None], 0.0, model.C_hat)
    if not plain:
        return recipe
    fit(model, data, replace(recipe, passes=plain, dd_passes=0, precond_stars=0), seed=seed, init="current",
        progress=progress)
    return replace(recipe, passes=recipe.passes - plain)
