"""PSF-model training speed: our folded-MFT TensorFlow model vs a zero-padded-FFT model.

Both models render the same optics (the default profile's model pupil P,
8 wavelengths, float32/complex64) and are timed on one forward+backward pass
of the noise-weighted loss w.r.t. the Zernike-field coefficients C_hat:

- ours: :class:`starsed.psf_model.PSFModel` (matrix Fourier transform straight
  onto the 96 x 96 needed samples, as folded real products, XLA-compiled);
- FFT (the WaveDiff method): per wavelength, the pupil field zero-padded to
  N = 2 floor(lambda f P / (2 D s)) and one 2-D FFT (``tf.signal.fft2d``),
  shifted, cropped to 96 x 96, binned 3 x 3, unit flux, SED-weighted; each
  wavelength evaluated at the FFT's own wavelength (N D s / (f P)). Same P as
  ours (the benchmark compares the transforms, not the pupil sampling).

It also ESTIMATES the wall time to train S6 with the default recipe from the
measured per-star costs (passes x stars x s/star-epoch + the preconditioner's
Jacobians); it does not train S6. Ends with

    RESULT speedup=<t_FFT / t_ours per star-epoch> s_per_star_epoch=<t_ours>

Usage: ``python benchmarks/bench_psf_model.py [--stars 32] [--stars-fft 8]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from starsed.runtime import configure


def fft_loss_grad_fn(model, n_ffts):
    """tf.function: (C, feats, sed, obs, w) -> (loss, dC) with the zero-padded-FFT forward model."""
    import tensorflow as tf

    t = model.telescope
    P, n, o, m = model.config.pupil_samples, t.grid_samples, t.oversampling, t.stamp_px
    lam_fft = [nf * t.diameter_m * t.sample_um / (t.focal_length_m * P) for nf in n_ffts]
    amp = tf.constant(model.pupil.astype(np.float32))
    basis = tf.constant(model.basis.reshape(len(model.basis), -1).astype(np.float32))

    def forward(C, feats, sed):
        z = tf.matmul(feats, C, transpose_b=True)
        opd = tf.reshape(tf.matmul(z, basis), [-1, P, P])
        monos = []
        for nf, lam in zip(n_ffts, lam_fft):
            phase = opd * (2.0 * np.pi / lam)
            u = tf.complex(amp * tf.cos(phase), amp * tf.sin(phase))
            u = tf.pad(u, [[0, 0], [0, nf - P], [0, nf - P]])
            e = tf.signal.fftshift(tf.signal.fft2d(u), axes=[1, 2])
            a = nf // 2 - n // 2
            inten = tf.abs(e[:, a:a + n, a:a + n]) ** 2
            b = tf.reduce_sum(tf.reshape(inten, [-1, m, o, m, o]), axis=[2, 4])
            monos.append(b / tf.reduce_sum(b, axis=[1, 2], keepdims=True))
        return tf.einsum("blij,bl->bij", tf.stack(monos, axis=1), sed)

    def fn(C, feats, sed, obs, w):
        with tf.GradientTape() as tape:
            tape.watch(C)
            loss = tf.reduce_sum(w * tf.reduce_mean(tf.square(forward(C, feats, sed) - obs), axis=[1, 2]))
        return loss, tape.gradient(loss, C)

    return tf.function(fn, jit_compile=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stars", type=int, default=32, help="stars per timed pass of our model")
    parser.add_argument("--stars-fft", type=int, default=8, help="stars per timed pass of the FFT model")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    configure(0, tensorflow=True)
    import tensorflow as tf

    from starsed.params import load_sections
    from starsed.physics.field import random_field
    from starsed.psf_model import PSFModel
    from starsed.psf_model.data import TrainingData
    from starsed.psf_model.preconditioner import coarse_optics
    from starsed.stages import psf_models

    cfg = load_sections(psf_models.SECTIONS)
    section, telescope, field = cfg.psf_models, cfg.telescope, cfg.field
    config = section.model_config(field)
    rng = np.random.default_rng(0)
    C, _ = random_field(field, rng)
    model = PSFModel(telescope, config, C_hat=C)
    P = config.pupil_samples
    n_ffts = [2 * int(np.floor(lam * telescope.focal_length_m * P / (2 * telescope.diameter_m * telescope.sample_um)))
              for lam in telescope.wavelengths_um]
    print(f"model pupil P = {P}, {telescope.n_bins} wavelengths, batch {config.batch_stars}, "
          f"XLA {config.jit}; FFT sizes {n_ffts}")

    def stars(n):
        pos = rng.uniform(0, field.size, (n, 2))
        sed = rng.dirichlet(np.ones(telescope.n_bins), n)
        obs = rng.normal(1.0 / telescope.stamp_px ** 2, 1e-3, (n, telescope.stamp_px, telescope.stamp_px))
        return pos, sed, obs, np.ones(n)

    # ours: full-batch loss and gradient, as in training
    pos, sed, obs, w = stars(args.stars)
    feats, m5 = model.monomials(pos), model.dd_monomials(pos)
    data = TrainingData(pos, obs, sed, w, 1.0)
    call = lambda: model.loss_and_grad("param", C, feats, model.dd_mixing, model.dd_maps_um, m5, data)  # noqa: E731
    t0 = time.perf_counter()
    call()
    compile_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        call()
    ours = (time.perf_counter() - t0) / (args.repeats * args.stars)

    # FFT model
    fn = fft_loss_grad_fn(model, n_ffts)
    pos, sed, obs, w = stars(args.stars_fft)
    f32 = lambda a: tf.constant(np.asarray(a, np.float32))  # noqa: E731
    inputs = (f32(C), f32(model.monomials(pos)), f32(sed), f32(obs), f32(w))
    t0 = time.perf_counter()
    fn(*inputs)
    compile_fft = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        fn(*inputs)[1].numpy()
    fft = (time.perf_counter() - t0) / (args.repeats * args.stars_fft)

    print(f"ours (MFT, folded real products): {ours * 1e3:.2f} ms per star-epoch (forward+backward; "
          f"compile + first pass {compile_ours:.1f} s)")
    print(f"zero-padded FFT (WaveDiff method): {fft * 1e3:.2f} ms per star-epoch (compile + first pass "
          f"{compile_fft:.1f} s)")
    print(f"ratio FFT / ours = {fft / ours:.2f}")

    # S6 estimate from measured costs (not a measured S6 training)
    n_sets = len(section.training_sets)
    recipe = section.fast.recipe(n_sets - 1)
    n6 = section.training_sets[-1]
    t_jac = 0.0
    if recipe.precond_stars:
        coarse = coarse_optics(telescope, recipe.precond_pupil_samples, config.n_zernikes, config.precision,
                               config.jit)
        zz = model.zernikes_um(pos[:4])
        coarse.zernike_jacobian(zz[:2], sed[:2])
        t0 = time.perf_counter()
        coarse.zernike_jacobian(zz, sed[:4])
        t_jac = (time.perf_counter() - t0) / 4
    refreshes = -(-recipe.passes // recipe.precond_every) if recipe.precond_every else 1
    evals = 1.1 * recipe.passes + refreshes            # L-BFGS line searches: ~10 % extra evaluations
    est = evals * n6 * ours + (refreshes * min(n6, recipe.precond_stars) * t_jac if recipe.precond_stars else 0.0)
    print(f"S6 ({n6} stars, {recipe.passes} L-BFGS passes warm-started from S5, {refreshes} preconditioner "
          f"estimates at {t_jac * 1e3:.0f} ms per star): ESTIMATED training wall time {est:.0f} s "
          f"(from the per-star costs measured above, not a measured S6 run)")
    print(f"RESULT speedup={fft / ours:.2f} s_per_star_epoch={ours:.5f}")


if __name__ == "__main__":
    main()
