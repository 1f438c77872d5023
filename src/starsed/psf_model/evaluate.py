"""Errors of a PSF model on noiseless test stars (the metrics of ``docs/reference.md``, section Metrics)."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..metrics.psf import opd_rmse_from_zernikes_um, opd_rmse_um, psf_errors
from ..metrics.shapes import NoConvergedStars, shape_errors
from ..optics.stamps import polychromatic

#: test-star arrays :func:`evaluate` uses (those present): truth stamps and Zernikes
TEST_KEYS = ("positions", "sed_weights", "noiseless", "sr", "mono", "zernikes_um")


def evaluate(model, test: Mapping[str, np.ndarray]) -> dict:
    """Errors of ``model`` on noiseless test stars.

    ``test`` needs positions, sed_weights, noiseless, and optionally mono
    (monochromatic truth), sr (super-resolved truth), zernikes_um (for the
    OPD error) and offsets_px (stars off the stamp's optical axis: the model is
    evaluated at each test star's offset, which is where its PSF is asked for).
    Returns :func:`starsed.metrics.psf.psf_errors` plus 'opd_rmse_nm' (mean over
    stars, piston removed, model pupil sampling) and, with sr, the shape errors of the
    super-resolved polychromatic stamps (:func:`starsed.metrics.shapes.shape_errors`):
    'e1_rmse', 'e2_rmse', 'r2_rmse' (relative, R^2 / <R^2>) over the 'shape_stars' stars
    whose adaptive moments converged on both model and truth (None, 0 where on none).
    """
    pos, sed = test["positions"], test["sed_weights"]
    tilt = None
    if "offsets_px" in test:
        from ..realism.offsets import tilt_um

        tilt = tilt_um(test["offsets_px"], model.telescope, model.config.pupil_samples)
    mono = model.predict(pos, sed, kind="mono", tilt_um=tilt)
    poly = polychromatic(mono, np.asarray(sed, np.float64))
    sr = model.predict(pos, sed, kind="sr", tilt_um=tilt) if "sr" in test else None
    out = psf_errors(poly, test["noiseless"], sr, test.get("sr"), mono, test.get("mono"))
    if sr is not None:
        try:
            shapes = shape_errors(sr, test["sr"])
        except NoConvergedStars:
            shapes = {"e1_rmse": None, "e2_rmse": None, "r2_rmse": None, "n_stars": 0}
        out.update(e1_rmse=shapes["e1_rmse"], e2_rmse=shapes["e2_rmse"], r2_rmse=shapes["r2_rmse"],
                   shape_stars=shapes["n_stars"])
    if "zernikes_um" in test:
        truth_z = np.asarray(test["zernikes_um"])[:, :model.config.n_zernikes]
        if model.config.data_driven:              # the model's OPD is not a Zernike sum: on the pupil grid
            truth = np.einsum("nk,kij->nij", truth_z, model.basis)
            rms = opd_rmse_um(model.opd_um(pos), truth, model.pupil)
        else:                                     # the same number, from the coefficients
            rms = opd_rmse_from_zernikes_um(model.zernikes_um(pos) - truth_z, model.basis, model.pupil)
        out["opd_rmse_nm"] = float(1000.0 * rms.mean())
    return out
