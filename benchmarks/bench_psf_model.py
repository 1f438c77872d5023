"""PSF-model training, time to accuracy: today's fast recipe (the baseline) against the new one.

Both recipes train on the same stars of the main exposure, in this one process, on the
same machine, one after the other:

- S6 from S5: each starts from the saved S5 model (``models/psf/S5.h5``) and fits the
  2000 stars of S6;
- cold start: each trains the whole warm-started chain S1..S6 from a random start.

A recipe reaches the accuracy when its error on the test stars is at most
``--tolerance`` (5 %, the acceptance margin) above the baseline's; the time to accuracy
is the wall time of its training. The baseline is the recipe that made the results of
the flat layout (``BASELINE`` below, no even-part reset); the new one is ``params.yaml``'s
``psf_models.fast`` with its ``psf_models.even_reset``.
It also times one forward+backward pass per star of our folded-MFT model against a
zero-padded-FFT model (the WaveDiff method). Ends with

    RESULT time_to_accuracy_ratio=<baseline s / new s, cold start S1..S6> s6_from_s5_ratio=<...> ...

Needs the main exposure and S5 (``dvc repro psf_models`` or ``dvc pull``).
Usage: ``python benchmarks/bench_psf_model.py [--tolerance 0.05] [--skip-fft]``
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from starsed.runtime import configure

#: today's recipe (what made the flat layout's S1..S6), kept runnable as the baseline
BASELINE = {"passes": (100, 80, 80, 60, 30, 12), "dd_passes": (20, 20, 20, 20, 20, 20), "warmup_passes": 20,
            "precond_stars": 300, "precond_pupil_samples": 64, "precond_every": (15, 15, 15, 15, 15, 15), "precond_damping": 1.0e-4,
            "field_prior_um": 0.002, "precond_reuse": False, "zero_even_start": False}


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


def per_star_costs(cfg, repeats: int = 2, n_ours: int = 32, n_fft: int = 8) -> tuple[float, float]:
    """Seconds per star of one forward+backward pass: ours (folded MFT) and the zero-padded FFT."""
    import tensorflow as tf

    from starsed.physics.field import random_field
    from starsed.psf_model import PSFModel
    from starsed.psf_model.data import TrainingData

    telescope, field = cfg.telescope, cfg.field
    config = cfg.psf_models.model_config(field)
    rng = np.random.default_rng(0)
    C, _ = random_field(field, rng)
    model = PSFModel(telescope, config, C_hat=C)

    def stars(n):
        pos = rng.uniform(0, field.size, (n, 2))
        sed = rng.dirichlet(np.ones(telescope.n_bins), n)
        obs = rng.normal(1.0 / telescope.stamp_px ** 2, 1e-3, (n, telescope.stamp_px, telescope.stamp_px))
        return pos, sed, obs, np.ones(n)

    pos, sed, obs, w = stars(n_ours)
    data = TrainingData(pos, obs, sed, w, 1.0)
    feats, m5 = model.monomials(pos), model.dd_monomials(pos)
    call = lambda: model.loss_and_grad("param", C, feats, model.dd_mixing, model.dd_maps_um, m5, data)  # noqa: E731
    call()
    t0 = time.perf_counter()
    for _ in range(repeats):
        call()
    ours = (time.perf_counter() - t0) / (repeats * n_ours)
    P = config.pupil_samples
    n_ffts = [2 * int(np.floor(lam * telescope.focal_length_m * P / (2 * telescope.diameter_m * telescope.sample_um)))
              for lam in telescope.wavelengths_um]
    fn = fft_loss_grad_fn(model, n_ffts)
    pos, sed, obs, w = stars(n_fft)
    f32 = lambda a: tf.constant(np.asarray(a, np.float32))  # noqa: E731
    inputs = (f32(C), f32(model.monomials(pos)), f32(sed), f32(obs), f32(w))
    fn(*inputs)
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn(*inputs)[1].numpy()
    fft = (time.perf_counter() - t0) / (repeats * n_fft)
    return ours, fft


def chain(telescope, train, test, section, schedule, start=None, reset=None):
    """Train the chain of ``section``'s training sets with ``schedule`` (from ``start``'s arrays
    if given: then only the last set), with the even-part ``reset`` (an EvenReset or None) at
    its set as the psf_models stage does; returns {set: (error %, train seconds)} and the seconds."""
    from starsed.psf_model import PSFModel, evaluate, fit, reset_even_part

    s = dataclasses.replace(section, fast=schedule)
    config = s.model
    out, prev, precond, total = {}, start, None, 0.0
    sets = list(enumerate(zip(s.names, s.training_sets)))
    if start is not None:
        sets = sets[-1:]
    for i, (name, n) in sets:
        model = PSFModel(telescope, config)
        if prev is not None:
            model.set_arrays(**prev.arrays())
        data = model.prepare(train["positions"][:n], train["noisy"][:n], train["sed_weights"][:n])
        recipe, t0 = schedule.recipe(i), time.perf_counter()
        if prev is not None and reset is not None and n == reset.at:
            recipe = reset_even_part(model, data, recipe, reset.plain_passes, s.seed + i, progress=False)
        report = fit(model, data, recipe, seed=s.seed + i, init="random" if prev is None else "current",
                     progress=False, preconditioner=precond)
        precond = report.preconditioner
        seconds = time.perf_counter() - t0                # the reset's passes included
        total += seconds
        out[name] = (evaluate(model, test)["rel_rmse_pct"], seconds)
        prev = model
    return out, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=float, default=0.05, help="relative error margin over the baseline")
    parser.add_argument("--skip-fft", action="store_true", help="skip the per-pass MFT vs FFT timing")
    args = parser.parse_args()
    configure(0, tensorflow=True)

    from starsed import paths
    from starsed.io import read_h5
    from starsed.params import load_sections
    from starsed.psf_model import PSFModel
    from starsed.psf_model.evaluate import TEST_KEYS
    from starsed.psf_model.recipes import LBFGSSchedule
    from starsed.stages import psf_models

    cfg = load_sections(psf_models.SECTIONS)
    section = cfg.psf_models
    section = dataclasses.replace(section, model=section.model_config(cfg.field))
    new = section.fast
    baseline = LBFGSSchedule(**BASELINE)
    train = read_h5(paths.MAIN, "train", ["positions", "sed_weights", "noisy"], rows=slice(0, section.training_sets[-1]))
    test = read_h5(paths.MAIN, "test", [k for k in TEST_KEYS if k != "sr"], rows=slice(0, section.n_test))
    s5 = PSFModel.load(paths.psf_model_file(section.names[-2]))

    results = {}
    for label, schedule, reset in (("baseline", baseline, None), ("new", new, section.even_reset)):
        last, t_last = chain(cfg.telescope, train, test, section, schedule, start=s5, reset=reset)
        cold, t_cold = chain(cfg.telescope, train, test, section, schedule, reset=reset)
        results[label] = {"last": (last, t_last), "cold": (cold, t_cold)}
        print(f"{label:8s}: S6 from S5 {t_last:7.1f} s, error {next(iter(last.values()))[0]:.3f} %; cold start "
              f"S1..S6 {t_cold:7.1f} s, errors " + " ".join(f"{k} {v[0]:.3f}" for k, v in cold.items()), flush=True)

    def reached(kind) -> bool:
        base, ours = results["baseline"][kind][0], results["new"][kind][0]
        return all(ours[k][0] <= (1 + args.tolerance) * base[k][0] for k in base)

    ratio_last = results["baseline"]["last"][1] / results["new"]["last"][1]
    ratio_cold = results["baseline"]["cold"][1] / results["new"]["cold"][1]
    ok = reached("last") and reached("cold")
    print(f"every error of the new recipe within {100 * args.tolerance:.0f} % of the baseline's: {ok}")
    line = (f"RESULT time_to_accuracy_ratio={ratio_cold:.2f} s6_from_s5_ratio={ratio_last:.2f} "
            f"baseline_cold_s={results['baseline']['cold'][1]:.1f} new_cold_s={results['new']['cold'][1]:.1f} "
            f"accuracy_reached={ok}")
    if not args.skip_fft:
        ours, fft = per_star_costs(cfg)
        print(f"one forward+backward pass: ours {ours * 1e3:.2f} ms per star, zero-padded FFT {fft * 1e3:.2f} ms")
        line += f" fft_over_ours_per_pass={fft / ours:.2f} s_per_star_pass={ours:.5f}"
    print(line)


if __name__ == "__main__":
    main()
