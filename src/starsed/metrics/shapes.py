"""PSF shape metrics from adaptive moments (docs/reference.md, Metrics).

Each stamp's shape is measured with GalSim's HSM adaptive moments
(``galsim.hsm.FindAdaptiveMom``): an elliptical Gaussian weight is iterated
until it matches the stamp's own second moments M. From the converged moments:

- e1, e2: the reduced-shear ellipticity g = (a - b) / (a + b) of the observed
  shape (a, b the major and minor axes), e1 = g cos 2 phi, e2 = g sin 2 phi;
- R^2 = 2 sigma^2 [pixel^2], sigma = det(M)^(1/4) the round-equivalent size.

Conventions: a stamp is an array ``stamp[y, x]``: x is the LAST axis (columns),
y the one before (rows), as in ``galsim.Image(array)``; phi is measured from
+x towards +y. So e1 > 0 is a PSF elongated along the last axis, e1 < 0 along
the row axis, and e2 > 0 along the diagonal where x and y grow together
(``stamp[i, i]``). Rotating a stamp by 90 degrees (``np.rot90``) flips the sign
of both e1 and e2 (the ellipticity turns by twice the angle); swapping x and y
(a transpose) flips e1 and keeps e2. Sizes are in the pixels of the stamp given:
for the super-resolved stamps that is the oversampled pixel.

GalSim is imported inside the functions (it takes about a second to import).
"""
from __future__ import annotations

import numpy as np

__all__ = ["adaptive_moments", "shape_errors", "NoConvergedStars"]

#: FWHM of a Gaussian in units of its sigma, 2 sqrt(2 ln 2)
_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


class NoConvergedStars(ValueError):
    """:func:`shape_errors` found no star on which HSM converged for both model and truth."""


def _stamps(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 3 or a.shape[1] < 2 or a.shape[2] < 2:
        raise ValueError(f"{name} must be stamps of shape (N, ny, nx), got shape {a.shape}")
    return a


def _guess_sigma(stamp: np.ndarray) -> float:
    """A starting sigma [pixel] for the adaptive weight: from the area above half the peak
    (robust to the wings, unlike unweighted moments), within [0.5, side / 4]."""
    peak = stamp.max()
    if not np.isfinite(peak) or peak <= 0:
        return 2.0
    fwhm = 2.0 * np.sqrt(np.count_nonzero(stamp >= 0.5 * peak) / np.pi)
    return float(np.clip(fwhm / _FWHM_PER_SIGMA, 0.5, min(stamp.shape) / 4.0))


def adaptive_moments(stamps, guess_sigma: float | None = None) -> dict[str, np.ndarray]:
    """HSM adaptive-moment shapes of ``stamps`` (N, ny, nx), ``stamp[y, x]``, pixel units.

    ``guess_sigma``: the weight's starting sigma [pixel]; None estimates it per stamp
    from the area above half its peak (HSM's own defaults otherwise).

    Returns per-star arrays: e1, e2 (reduced-shear ellipticity, from the observed
    shape's g1, g2; x the last axis, see the module's docstring), r2_px2 = 2 sigma^2
    [stamp pixel^2], sigma_px, and ok (bool): False where HSM did not converge (an
    error, a non-zero moments_status, a non-finite result, or a non-finite stamp);
    e1, e2, r2_px2 and sigma_px are NaN there.
    """
    import galsim

    a = _stamps(stamps, "stamps")
    n = len(a)
    out = {k: np.full(n, np.nan) for k in ("e1", "e2", "r2_px2", "sigma_px")}
    ok = np.zeros(n, dtype=bool)
    for i, stamp in enumerate(a):
        if not np.all(np.isfinite(stamp)):
            continue
        sig0 = _guess_sigma(stamp) if guess_sigma is None else float(guess_sigma)
        try:
            res = galsim.hsm.FindAdaptiveMom(galsim.Image(stamp, scale=1.0), guess_sig=sig0,
                                             strict=False)
        except (galsim.GalSimHSMError, galsim.GalSimError, ValueError, RuntimeError):
            continue
        sigma = res.moments_sigma
        e1, e2 = res.observed_shape.g1, res.observed_shape.g2
        if res.moments_status != 0 or not (np.isfinite([sigma, e1, e2]).all() and sigma > 0):
            continue
        out["e1"][i], out["e2"][i] = e1, e2
        out["sigma_px"][i], out["r2_px2"][i] = sigma, 2.0 * sigma * sigma
        ok[i] = True
    out["ok"] = ok
    return out


def shape_errors(model_stamps, truth_stamps, guess_sigma: float | None = None) -> dict:
    """Shape errors of ``model_stamps`` against ``truth_stamps``, both (N, ny, nx) alike.

    Over the stars where HSM converged on both the model and the truth stamp:
    e1_rmse, e2_rmse: RMS of e1_model - e1_truth and of e2_model - e2_truth;
    r2_rmse: RMS of (R^2_model - R^2_truth) / mean(R^2_truth), the relative size
    error (dimensionless; the mean over the same stars); n_stars: how many stars
    were used. Raises ValueError on a shape mismatch, and :class:`NoConvergedStars` (a
    ValueError) if no star converged on both.
    """
    model = _stamps(model_stamps, "model_stamps")
    truth = _stamps(truth_stamps, "truth_stamps")
    if model.shape != truth.shape:
        raise ValueError(f"model_stamps has shape {model.shape} but truth_stamps has shape {truth.shape}; "
                         "they must be (N, ny, nx) stamps of the same shape")
    m = adaptive_moments(model, guess_sigma)
    t = adaptive_moments(truth, guess_sigma)
    keep = m["ok"] & t["ok"]
    if not keep.any():
        raise NoConvergedStars(f"adaptive moments converged on no star of both model_stamps and truth_stamps "
                               f"({int(m['ok'].sum())} of {len(keep)} model, {int(t['ok'].sum())} truth)")

    def rms(d):
        return float(np.sqrt(np.mean(np.square(d))))

    r2_t = t["r2_px2"][keep]
    return {"e1_rmse": rms(m["e1"][keep] - t["e1"][keep]),
            "e2_rmse": rms(m["e2"][keep] - t["e2"][keep]),
            "r2_rmse": rms((m["r2_px2"][keep] - r2_t) / r2_t.mean()),
            "n_stars": int(keep.sum())}
