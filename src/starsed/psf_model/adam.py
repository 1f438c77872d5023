"""The paper's recipe: Adam on mini-batches, cycles of parametric and data-driven phases
(:class:`AdamRecipe`); the best epoch (lowest epoch-mean training loss) is kept."""
from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

from .data import TrainingData
from .recipes import AdamRecipe


def fit_adam(model, data: TrainingData, recipe: AdamRecipe, seed: int, progress: bool,
             callback=None) -> list[dict]:
    """Fit ``model`` in place; returns the history (one dict per epoch: phase, loss, seconds).
    ``seed`` orders the mini-batches."""
    import keras

    tf = model.tf
    optics = model.optics
    positions, noisy, sed, w = data.positions, data.noisy, data.sed_weights, data.weights
    history: list[dict] = []
    N = len(positions)
    # stars off the stamp's axis (their (Z2, Z3) offsets) and the per-detector focus term join the
    # wavefront as per-star offsets (a graph of its own)
    dz = model.star_offsets_um(data)
    feats, m5 = model.monomials(positions), model.dd_monomials(positions)
    cst = optics.constant
    C = tf.Variable(model.C_hat.astype(model.real))
    mix = tf.Variable(model.dd_mixing.astype(model.real))
    maps = tf.Variable(model.dd_maps_um.astype(model.real))
    rng = np.random.default_rng(seed)
    B = recipe.batch
    l1 = model.config.dd_l1
    use_dd = model.config.data_driven
    best = {"loss": np.inf, "C": model.C_hat.copy(), "mix": model.dd_mixing.copy(),
            "maps": model.dd_maps_um.copy()}
    t_start = time.perf_counter()

    def make_step(part, opt, dd_on):
        vars_ = [C] if part == "param" else [mix, maps]

        def step(feats_b, m5_b, sed_b, obs_b, w_b, dz_b=None):
            with tf.GradientTape() as tape:
                z = tf.matmul(feats_b, C, transpose_b=True)
                if dz_b is not None:
                    z = z + dz_b
                dd_w = tf.matmul(m5_b, mix) if dd_on else None
                stars = optics.poly(z, dd_w, maps, sed_b)
                loss = tf.reduce_mean(w_b * tf.reduce_mean(tf.square(stars - obs_b), axis=[1, 2]))
                if dd_on:
                    loss = loss + l1 * tf.reduce_sum(tf.abs(mix))
            grads = tape.gradient(loss, vars_)
            opt.apply_gradients(zip(grads, vars_))
            return loss
        return optics.function(step)

    phases = []
    for cycle in range(recipe.cycles):
        phases.append(("param", recipe.param_epochs[cycle], recipe.lr_param, use_dd and cycle > 0))
        if use_dd:
            phases.append(("dd", recipe.dd_epochs[cycle], recipe.lr_dd, True))
    total = sum(p[1] for p in phases)
    bar = tqdm(total=total, desc=f"Adam ({N} stars)", disable=not progress, unit="epoch")
    for part, epochs, lr, dd_on in phases:
        opt = keras.optimizers.Adam(learning_rate=lr)
        step = make_step(part, opt, dd_on)
        for _ in range(epochs):
            order = rng.permutation(N)
            losses = []
            for a in range(0, N, B):
                idx = order[a:a + B]
                extra = () if dz is None else (cst(dz[idx]),)
                losses.append(float(step(cst(feats[idx]), cst(m5[idx]), cst(sed[idx]),
                                         cst(noisy[idx]), cst(w[idx]), *extra).numpy()) * len(idx))
            loss = sum(losses) / N
            history.append({"phase": part, "loss": loss, "seconds": time.perf_counter() - t_start})
            if callback is not None:
                callback(history[-1], C.numpy().astype(np.float64))
            if np.isfinite(loss) and loss < best["loss"]:
                best.update(loss=loss, C=C.numpy().astype(np.float64), mix=mix.numpy().astype(np.float64),
                            maps=maps.numpy().astype(np.float64))
            bar.update(1)
    bar.close()
    model.set_arrays(best["C"], best["mix"], best["maps"])
    return history
