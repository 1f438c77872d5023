"""The fast recipe: full-batch L-BFGS with TensorFlow gradients (:class:`LBFGSRecipe`).

On the parametric part, the position monomials are orthonormalised over the
training positions (q = m T, a preconditioner; the model keeps the plain
monomial basis) and the parameters are whitened by a Gauss-Newton Hessian
(:mod:`.preconditioner`), re-estimated every few passes; an optional Gaussian
prior on the Zernike field; then, if the model has one, the data-driven part.
L-BFGS minimises the loss times median(1 / sigma^2) (a reduced chi^2, order
1), which has the same minimum (plus the field prior, when one is set). The
best point seen is kept.
"""
from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

from ..params import require
from .data import TrainingData
from .preconditioner import gauss_newton_hessian, to_basis
from .recipes import LBFGSRecipe

OPTIONS = {"maxcor": 20, "ftol": 1e-15, "gtol": 1e-12}


def field_prior(model, T: np.ndarray, n_stars: int, n_pixels: int, prior_um: float) -> np.ndarray:
    """Quadratic form Qg of the Gaussian field prior: penalty = tr(C Qg C^T) in the orthonormal basis.

    z_k(x, y) ~ N(0, prior_um^2) on a regular 21 x 21 field grid, weighted as one
    star's worth of pixels per grid average (tames the polynomial's
    extrapolation to field corners without training stars); zero if prior_um = 0.
    """
    g1 = np.linspace(0.0, model.config.field_size, 21)
    grid = np.stack(np.meshgrid(g1, g1), axis=-1).reshape(-1, 2)
    q_grid = model.monomials(grid) @ T
    lam = 0.0
    if prior_um > 0:
        lam = 1.0 / (n_stars * n_pixels * prior_um ** 2)
    return lam * (q_grid.T @ q_grid) / len(grid)


def fit_lbfgs(model, data: TrainingData, recipe: LBFGSRecipe, seed: int, fresh: bool, progress: bool,
              callback=None, preconditioner: np.ndarray | None = None) -> tuple[list[dict], np.ndarray | None]:
    """Fit ``model`` in place; returns the history (one dict per evaluation: phase, loss,
    seconds) and, with ``recipe.precond_reuse``, the plain-basis Gauss-Newton Hessian used
    (to hand to the next fit as ``preconditioner``; else None).

    ``fresh``: the start is random (then ``recipe.warmup_passes`` plain passes come
    before the first preconditioner); ``seed`` draws the preconditioner's stars.
    """
    from scipy.linalg import solve_triangular
    from scipy.optimize import minimize

    history: list[dict] = []
    positions, noisy, scale = data.positions, data.noisy, data.scale
    M = model.monomials(positions)
    # orthonormalise the monomials over the training positions: q = m T
    q, r = np.linalg.qr(M)
    require(np.min(np.abs(np.diag(r))) > 1e-10 * np.max(np.abs(np.diag(r))), "training stars",
            len(positions), f"enough spread-out stars to fit {M.shape[1]} position monomials")
    T = np.linalg.inv(r) * np.sqrt(len(M))
    feats = M @ T
    m5 = model.dd_monomials(positions)
    nz, nm = model.C_hat.shape
    mix, maps = model.dd_mixing.copy(), model.dd_maps_um.copy()
    best = {"loss": np.inf}
    bar = tqdm(total=recipe.passes + (recipe.dd_passes if model.config.data_driven else 0),
               desc=f"L-BFGS ({len(positions)} stars)", disable=not progress, unit="iter")

    def record(phase, loss, C_orth, mix_, maps_):
        history.append({"phase": phase, "loss": loss / scale, "seconds": time.perf_counter() - t_start})
        if callback is not None:
            callback(history[-1], C_orth @ T.T)
        if loss < best["loss"]:
            best.update(loss=loss, C=C_orth @ T.T, mix=mix_.copy(), maps=maps_.copy())

    t_start = time.perf_counter()
    state = {"C": np.linalg.solve(T, model.C_hat.T).T}     # C_orth = C_hat T^-T
    Qg = field_prior(model, T, len(positions), noisy[0].size, recipe.field_prior_um)

    def f_param(x):
        C = x.reshape(nz, nm)
        loss, (g,) = model.loss_and_grad("param", C, feats, mix, maps, m5, data)
        loss = loss * scale + float(np.sum((C @ Qg) * C))
        g = g * scale + 2.0 * C @ Qg
        record("param", loss, C, mix, maps)
        return loss, g.ravel()

    passes = recipe.passes
    if passes and recipe.precond_stars:
        # Gauss-Newton preconditioner: whiten the parameters with the (damped)
        # Gauss-Newton Hessian H = L L^T at the start point, x = L^-T y; L-BFGS
        # then sees a Hessian near the identity. From a random start the
        # curvature of the even modes is ~0, so a few plain passes come first.
        warm = min(recipe.warmup_passes, passes) if fresh else 0
        if warm:
            minimize(f_param, state["C"].ravel(), jac=True, method="L-BFGS-B",
                     callback=lambda x: bar.update(1), options={"maxiter": warm, **OPTIONS})
            state["C"] = best["C"] @ np.linalg.inv(T.T)
            passes -= warm
        every = recipe.precond_every or passes
        while passes > 0:
            if recipe.precond_reuse:
                if preconditioner is None:           # estimated once, in the plain basis, then reused
                    preconditioner = gauss_newton_hessian(model, state["C"] @ T.T, M, data, recipe, seed)
                H_fit = to_basis(preconditioner, T, nz)
            else:
                H_fit = gauss_newton_hessian(model, state["C"], feats, data, recipe, seed)
            H = scale * H_fit + 2.0 * np.kron(np.eye(nz), Qg)
            H[np.diag_indices_from(H)] += recipe.precond_damping * np.mean(np.diag(H))
            Lc = np.linalg.cholesky(H)

            # scale the whitened variables so that L-BFGS's first trial step (unit
            # length) is the Gauss-Newton step: y = s L^T x, s = 1 / |L^-1 g0|
            x0 = state["C"].ravel()
            first = f_param(x0)
            s_ = 1.0 / max(np.linalg.norm(solve_triangular(Lc, first[1], lower=True)), 1e-300)
            cache = {"x": x0, "value": first}

            def f_y(y, Lc=Lc, s_=s_, cache=cache):
                x = solve_triangular(Lc.T, y / s_, lower=False)
                if cache["x"] is not None and np.array_equal(x, cache["x"]):
                    loss, g = cache["value"]
                else:
                    loss, g = f_param(x)
                cache["x"] = None
                return loss, solve_triangular(Lc, g, lower=True) / s_

            minimize(f_y, s_ * (Lc.T @ x0), jac=True, method="L-BFGS-B",
                     callback=lambda x: bar.update(1), options={"maxiter": min(every, passes), **OPTIONS})
            state["C"] = best["C"] @ np.linalg.inv(T.T)
            passes -= min(every, passes)
    elif passes:
        minimize(f_param, state["C"].ravel(), jac=True, method="L-BFGS-B",
                 callback=lambda x: bar.update(1), options={"maxiter": passes, **OPTIONS})
        state["C"] = best["C"] @ np.linalg.inv(T.T)
    if model.config.data_driven and recipe.dd_passes:
        C_fix = best["C"] @ np.linalg.inv(T.T) if "C" in best else state["C"]
        nf, P = model.config.dd_features, model.config.pupil_samples
        l1 = model.config.dd_l1

        def f_dd(x):
            mix_ = x[: nf * nf].reshape(nf, nf)
            maps_ = x[nf * nf:].reshape(nf, P, P)
            loss, (gm, gs) = model.loss_and_grad("dd", C_fix, feats, mix_, maps_, m5, data)
            loss = scale * (loss + l1 * np.abs(mix_).sum())
            gm = scale * (gm + l1 * np.sign(mix_))
            record("dd", loss, C_fix, mix_, maps_)
            return loss, np.concatenate([gm.ravel(), scale * gs.ravel()])

        x0 = np.concatenate([mix.ravel(), maps.ravel()])
        minimize(f_dd, x0, jac=True, method="L-BFGS-B", callback=lambda x: bar.update(1),
                 options={"maxiter": recipe.dd_passes, **OPTIONS})
    bar.close()
    if "C" in best:
        model.set_arrays(best["C"], best["mix"], best["maps"])
    return history, (preconditioner if recipe.precond_reuse else None)
