"""PSF-model error metrics (docs/reference.md, Metrics).

Relative pixel RMSE: for each star, r_i = RMS(model - truth) / RMS(truth) over
the stamp's pixels (the noiseless 32 x 32 stamp at observation resolution, the
64 x 64 super-resolved stamp, or each monochromatic stamp); reported as
100 x mean_i r_i [%] and the standard deviation over stars [%].
"""
from __future__ import annotations

import numpy as np

__all__ = ["relative_rmse", "relative_rmse_summary", "mono_relative_rmse", "opd_rmse_um", "psf_errors"]


def relative_rmse(model: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-star relative RMSE r_i (dimensionless, not %), over the last two axes.

    ``model`` and ``truth``: (N, n, n) stamps (or (N, L, n, n) -> (N, L)).
    """
    model = np.asarray(model, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if model.shape != truth.shape:
        raise ValueError(f"model shape {model.shape} != truth shape {truth.shape}")
    if model.ndim < 2:
        raise ValueError(f"stamps need at least two axes, got shape {model.shape}")
    num = np.sqrt(np.mean(np.square(model - truth), axis=(-2, -1)))
    den = np.sqrt(np.mean(np.square(truth), axis=(-2, -1)))
    if np.any(den == 0):
        raise ValueError("a truth stamp is identically zero; relative RMSE undefined")
    return num / den


def relative_rmse_summary(per_star: np.ndarray) -> dict[str, float]:
    """{'mean_pct', 'std_pct'}: 100 x mean and 100 x std (population) of r_i."""
    r = np.asarray(per_star, dtype=np.float64).ravel()
    if r.size == 0:
        raise ValueError("no stars to summarise")
    return {"mean_pct": float(100.0 * r.mean()), "std_pct": float(100.0 * r.std())}


def mono_relative_rmse(model_mono: np.ndarray, truth_mono: np.ndarray) -> np.ndarray:
    """Per-star, per-wavelength relative RMSE (N, L) of monochromatic stamps (N, L, n, n)."""
    return relative_rmse(model_mono, truth_mono)


def opd_rmse_um(model_opd_um: np.ndarray, truth_opd_um: np.ndarray, pupil: np.ndarray,
                remove_piston: bool = True) -> np.ndarray:
    """Per-star RMS of (model - truth) OPD, um, over the open pupil (amplitude > 0).

    With ``remove_piston`` the mean difference over the open pupil is removed
    first (a constant OPD does not change the PSF).
    """
    inside = np.asarray(pupil) > 0
    if not inside.any():
        raise ValueError("pupil has no open samples")
    d = (np.asarray(model_opd_um, np.float64) - np.asarray(truth_opd_um, np.float64))[..., inside]
    if remove_piston:
        d = d - d.mean(axis=-1, keepdims=True)
    return np.sqrt(np.mean(np.square(d), axis=-1))


def opd_rmse_from_zernikes_um(dz_um: np.ndarray, basis: np.ndarray, pupil: np.ndarray,
                              remove_piston: bool = True) -> np.ndarray:
    """:func:`opd_rmse_um` of OPD differences that are Zernike sums, from their coefficients.

    ``dz_um`` (N, K) coefficient differences on the Zernike ``basis`` (K, P, P): the RMS over the
    open pupil is sqrt(dz^T (G - g g^T) dz), G the basis' Gram matrix over the open samples and
    g its means (the piston removed), which equals the sum over the pupil samples without
    forming the (N, P, P) maps.
    """
    inside = np.asarray(pupil) > 0
    if not inside.any():
        raise ValueError("pupil has no open samples")
    b = np.asarray(basis, np.float64)[:, inside]                     # (K, n_open)
    G = b @ b.T / b.shape[1]
    if remove_piston:
        g = b.mean(axis=1)
        G = G - np.outer(g, g)
    dz = np.asarray(dz_um, np.float64)
    return np.sqrt(np.maximum(np.einsum("nk,kl,nl->n", dz, G, dz), 0.0))


def psf_errors(model_poly: np.ndarray, truth_poly: np.ndarray, model_sr: np.ndarray | None = None,
               truth_sr: np.ndarray | None = None, model_mono: np.ndarray | None = None,
               truth_mono: np.ndarray | None = None) -> dict:
    """All PSF metrics of one model on one test set.

    Returns {'rel_rmse_pct', 'rel_rmse_std_pct', 'rel_rmse_sem_pct' (the standard error of
    the mean over stars), 'per_star' (r_i)} plus, when
    given, 'sr_rel_rmse_pct', 'sr_rel_rmse_std_pct', 'sr_per_star' and
    'mono_rel_rmse_pct' (per wavelength, mean over stars, %).
    """
    r = relative_rmse(model_poly, truth_poly)
    s = relative_rmse_summary(r)
    out = {"rel_rmse_pct": s["mean_pct"], "rel_rmse_std_pct": s["std_pct"],
           "rel_rmse_sem_pct": s["std_pct"] / np.sqrt(r.size), "per_star": r}
    if model_sr is not None and truth_sr is not None:
        r_sr = relative_rmse(model_sr, truth_sr)
        s = relative_rmse_summary(r_sr)
        out.update(sr_rel_rmse_pct=s["mean_pct"], sr_rel_rmse_std_pct=s["std_pct"], sr_per_star=r_sr)
    if model_mono is not None and truth_mono is not None:
        r_m = mono_relative_rmse(model_mono, truth_mono)
        out["mono_rel_rmse_pct"] = (100.0 * r_m.mean(axis=0)).tolist()
    return out
