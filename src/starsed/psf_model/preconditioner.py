"""The Gauss-Newton preconditioner of the fast recipe (:mod:`starsed.psf_model.lbfgs`)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..optics.tf_optics import TFOptics
from ..physics.telescope import Telescope
from .data import TrainingData
from .recipes import LBFGSRecipe


@lru_cache(maxsize=4)
def coarse_optics(telescope: Telescope, pupil_samples: int, n_zernikes: int, precision: str,
                  jit: bool) -> TFOptics:
    """The chain on a coarser model pupil, for Jacobians (shared by every model that asks)."""
    return TFOptics(telescope, pupil_samples, n_zernikes, precision, jit)


def gauss_newton_hessian(model, C_orth: np.ndarray, feats: np.ndarray, data: TrainingData,
                         recipe: LBFGSRecipe, seed: int) -> np.ndarray:
    """Gauss-Newton Hessian of the (unscaled) loss w.r.t. C_orth, (nz*nm, nz*nm).

    H = (2 / N) sum_i (w_i / n_pix) (J_i^T J_i) (x) (q_i q_i^T), J_i the
    Zernike Jacobian of star i (:meth:`TFOptics.zernike_jacobian`), q_i its
    position features; estimated on ``recipe.precond_stars`` stars drawn from
    ``seed`` with a model pupil of ``recipe.precond_pupil_samples`` (a
    preconditioner need not be exact). Any basis of the position features works:
    with the plain monomials (``feats`` = m, ``C_orth`` = C_hat) it is the plain
    Hessian that :func:`to_basis` carries to another basis.
    """
    N = len(feats)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(N, size=min(N, recipe.precond_stars), replace=False))
    config = model.config
    coarse = coarse_optics(model.telescope, recipe.precond_pupil_samples, config.n_zernikes,
                           config.precision, config.jit)
    q = feats[idx]
    J = coarse.zernike_jacobian(q @ C_orth.T, data.sed_weights[idx])      # (n, nz, m, m)
    J = J.reshape(len(idx), J.shape[1], -1)
    G = np.einsum("ikp,ilp->ikl", J, J)
    c = 2.0 * data.weights[idx] / (J.shape[-1] * len(idx))
    nz, nm = C_orth.shape
    H = np.einsum("i,ikl,ia,ib->kalb", c, G, q, q, optimize=True)
    return H.reshape(nz * nm, nz * nm)


def to_basis(H_plain: np.ndarray, T: np.ndarray, n_zernikes: int) -> np.ndarray:
    """The Hessian in the basis q = m T of a Hessian in the plain monomials m (vec order
    [Zernike, monomial]): H_q[k a, l b] = sum_cd T[c a] H_m[k c, l d] T[d b]."""
    nm = T.shape[0]
    H = H_plain.reshape(n_zernikes, nm, n_zernikes, nm)
    return np.einsum("ca,kcld,db->kalb", T, H, T, optimize=True).reshape(n_zernikes * nm, n_zernikes * nm)
