"""The TensorFlow PSF model: agreement with the simulator, gradients, training, save/load, errors.

Small telescopes (P = 32 or 64) and few stars keep the file fast on 2 CPU cores.
"""
from dataclasses import replace

import numpy as np
import pytest

from starsed.runtime import configure

configure(0, tensorflow=True)

from starsed.config import ConfigError, FieldSpec, Telescope  # noqa: E402
from starsed.field import random_field, zernike_coefficients  # noqa: E402
from starsed.optics import Optics, centre_crop, polychromatic  # noqa: E402
from starsed.psf_model import (PSFModel, PSFModelConfig, Recipe, evaluate, noise_sigma_robust,  # noqa: E402
                               recipe_from_params, star_weights, train_training_sets)
from starsed.simulate import ExposurePlan, simulate_exposure  # noqa: E402

TEL64 = replace(Telescope(), pupil_samples=64)
TEL32 = replace(Telescope(), pupil_samples=32)
FIELD = FieldSpec()


@pytest.fixture(scope="module")
def field_C():
    C, _ = random_field(FIELD, np.random.default_rng(7))
    return C


def test_forward_reproduces_simulator(field_C):
    rng = np.random.default_rng(1)
    pos = rng.uniform(0, 1000, (6, 2))
    sed = rng.dirichlet(np.ones(8), 6)
    stamps = Optics(TEL64, 45, "double").stamps(zernike_coefficients(field_C, pos, 4), sr=True)
    model = PSFModel(TEL64, PSFModelConfig(pupil_samples=64, batch_stars=4), C_hat=field_C)
    truths = {"poly": polychromatic(stamps["mono"], sed), "mono": stamps["mono"],
              "sr": polychromatic(stamps["mono_sr"], sed)}
    for kind, truth in truths.items():
        pred = model.predict(pos, sed, kind=kind)
        assert pred.shape == truth.shape
        r = np.sqrt(np.mean((pred - truth) ** 2)) / np.sqrt(np.mean(truth ** 2))
        assert r < 1e-5, kind


def test_model_pupil_is_block_averaged_simulator_mask():
    from starsed.pupil import pupil_amplitude

    m = PSFModel(TEL64, PSFModelConfig(pupil_samples=32, jit=False))
    np.testing.assert_array_equal(m.pupil, pupil_amplitude(32, "euclid", reference_samples=64))


def _small_exposure(n_train, n_test, seed=3, snr=(20.0, 110.0), tel=TEL32):
    sed = np.random.default_rng(seed).dirichlet(np.ones(8), 13)
    return simulate_exposure(tel, FIELD, sed, ExposurePlan({"train": n_train, "test": n_test}, seed, snr),
                             precision="double", progress=False)


def test_gradient_finite_differences(field_C):
    ex = _small_exposure(5, 1)
    tr = ex["train"]
    cfg = PSFModelConfig(pupil_samples=32, precision="double", jit=False, batch_stars=3, data_driven=True)
    m = PSFModel(TEL32, cfg, C_hat=0.5 * field_C)
    rng = np.random.default_rng(2)
    m.dd_maps_um = rng.uniform(-0.01, 0.01, m.dd_maps_um.shape)
    feats, m5 = m.monomials(tr["positions"]), m.dd_monomials(tr["positions"])
    w = star_weights(tr["sigma"])

    def f(C, maps, part="param"):
        return m._full_batch(part, C, feats, m.dd_mixing, maps, m5, tr["sed_weights"], tr["noisy"], w)

    loss, (gC,) = f(m.C_hat, m.dd_maps_um)
    d = rng.standard_normal(gC.shape)
    eps = 1e-6                                  # central differences, double precision
    fd = (f(m.C_hat + eps * d, m.dd_maps_um)[0] - f(m.C_hat - eps * d, m.dd_maps_um)[0]) / (2 * eps)
    assert np.sum(gC * d) == pytest.approx(fd, rel=1e-5)
    _, (gmix, gmaps) = f(m.C_hat, m.dd_maps_um, "dd")
    d = rng.standard_normal(gmaps.shape)
    fd = (f(m.C_hat, m.dd_maps_um + eps * d)[0] - f(m.C_hat, m.dd_maps_um - eps * d)[0]) / (2 * eps)
    assert np.sum(gmaps * d) == pytest.approx(fd, rel=1e-5)


LOW_FIELD = FieldSpec(n_zernikes=10, degree=2)        # a low-order truth: Noll Z1..Z10, 6 monomials


@pytest.fixture(scope="module")
def trained():
    sed = np.random.default_rng(3).dirichlet(np.ones(8), 13)
    ex = simulate_exposure(TEL32, LOW_FIELD, sed, ExposurePlan({"train": 40, "test": 20}, 3, (100.0, 200.0)),
                           precision="double", progress=False)
    tr = ex["train"]
    m = PSFModel(TEL32, PSFModelConfig(pupil_samples=32, n_zernikes=10, degree=2, batch_stars=20))
    m.fit(tr["positions"], tr["noisy"], tr["sed_weights"], Recipe("fast", passes=80, seed=1), progress=False)
    return ex, m


def test_training_lowers_loss_and_recovers_low_order(trained):
    ex, m = trained
    losses = [h["loss"] for h in m.history]
    tr, te = ex["train"], ex["test"]
    truth = PSFModel(TEL32, m.config, C_hat=ex["field"]["C_um"])
    noise_floor = truth.loss(tr["positions"], tr["noisy"], tr["sed_weights"])
    assert min(losses) < 0.2 * losses[0]
    assert min(losses) < 1.01 * noise_floor          # fitted down to the noise
    err = evaluate(m, te)
    assert err["rel_rmse_pct"] < 1.0
    # the Zernike field (Noll 2..10: tip/tilt, defocus, astigmatism, coma, trefoil) at the test positions
    true_z = te["zernikes_um"][:, 1:]
    fit_z = m.zernikes_um(te["positions"])[:, 1:]
    assert np.sqrt(np.mean((fit_z - true_z) ** 2)) < 0.1 * np.sqrt(np.mean(true_z ** 2))


def test_warm_start_starts_from_current_arrays(trained):
    ex, m = trained
    tr, te = ex["train"], ex["test"]
    warm = PSFModel(TEL32, m.config, C_hat=ex["field"]["C_um"])
    warm.fit(tr["positions"], tr["noisy"], tr["sed_weights"], Recipe("fast", passes=2, precond_stars=10,
                                                                       precond_pupil_samples=32), init="current",
             progress=False)
    truth = PSFModel(TEL32, m.config, C_hat=ex["field"]["C_um"])
    assert warm.history[0]["loss"] == pytest.approx(truth.loss(tr["positions"], tr["noisy"], tr["sed_weights"]),
                                                    rel=1e-4)
    assert evaluate(warm, te)["rel_rmse_pct"] < 0.2


def test_field_prior_shrinks_the_field(trained):
    ex, m = trained
    tr = ex["train"]
    strong = PSFModel(TEL32, m.config, C_hat=m.C_hat)
    strong.fit(tr["positions"], tr["noisy"], tr["sed_weights"], Recipe("fast", passes=10, field_prior_um=1e-4),
               init="current", progress=False)
    grid = np.stack(np.meshgrid(np.linspace(0, 1000, 5), np.linspace(0, 1000, 5)), -1).reshape(-1, 2)
    assert np.linalg.norm(strong.zernikes_um(grid)) < 0.8 * np.linalg.norm(m.zernikes_um(grid))


def test_save_load_round_trip(trained, tmp_path):
    ex, m = trained
    te = ex["test"]
    p1, p2 = m.save(tmp_path / "a.h5"), m.save(tmp_path / "b.h5")
    assert p1.read_bytes() == p2.read_bytes()
    m2 = PSFModel.load(p1)
    assert m2.config == m.config and m2.telescope == m.telescope
    for kind in ("poly", "sr", "mono"):
        np.testing.assert_array_equal(m2.predict(te["positions"][:4], te["sed_weights"][:4], kind),
                                      m.predict(te["positions"][:4], te["sed_weights"][:4], kind))
    np.testing.assert_array_equal(m2.opd_um(te["positions"][:2]), m.opd_um(te["positions"][:2]))


def test_noise_sigma_robust():
    rng = np.random.default_rng(0)
    stamps = rng.normal(0.0, 0.02, (200, 32, 32))
    s = noise_sigma_robust(stamps, 10.0)
    assert np.median(s) == pytest.approx(0.02, rel=0.05)
    w = star_weights(s)
    assert np.median(w) == pytest.approx(1.0)


def test_paper_recipe_and_data_driven_run():
    ex = _small_exposure(8, 4)
    tr = ex["train"]
    m = PSFModel(TEL32, PSFModelConfig(pupil_samples=32, data_driven=True, batch_stars=8, jit=False))
    rec = Recipe("paper", cycles=2, param_epochs=(2, 1), dd_epochs=(1, 1), batch=4, seed=0)
    hist = m.fit(tr["positions"], tr["noisy"], tr["sed_weights"], rec, progress=False)
    assert [h["phase"] for h in hist] == ["param", "param", "dd", "param", "dd"]
    assert np.isfinite(m.C_hat).all()


def test_train_training_sets_warm_start():
    ex = _small_exposure(40, 5)
    section = {"training_sets": [20, 40], "recipe": "fast", "warm_start": True, "model_pupil_samples": 32,
               "batch_stars": 20, "fast": {"passes": [5, 3], "dd_passes": [0, 0]}, "seed": 0}
    results, models = train_training_sets(TEL32, ex["train"], ex["test"], section, progress=False)
    assert list(results) == ["S1", "S2"]
    assert results["S2"]["warm_start_from"] == "S1"
    assert results["S2"]["n_train"] == 40
    assert results["S2"]["cumulative_seconds"] > results["S2"]["train_seconds"]
    assert results["S1"]["per_star"].shape == (5,)


def test_bad_configuration_names_parameter():
    with pytest.raises(ConfigError, match="psf_model.model"):
        PSFModelConfig(model="gaussian")
    with pytest.raises(ConfigError, match="psf_model.recipe"):
        Recipe(name="sgd")
    with pytest.raises(ConfigError, match="psf_model.pupil_samples"):
        PSFModel(TEL32, PSFModelConfig(pupil_samples=24, jit=False))
    with pytest.raises(ConfigError, match="psf_model.fast.passes"):
        recipe_from_params({"training_sets": [1, 2], "fast": {"passes": [1], "dd_passes": [0, 0]}}, 0)
    m = PSFModel(TEL32, PSFModelConfig(pupil_samples=32, jit=False))
    pos = np.array([[100.0, 200.0]])
    with pytest.raises(ConfigError, match="sed_weights"):
        m.predict(pos, np.full((1, 7), 1 / 7))
    with pytest.raises(ConfigError, match="number of training stars"):
        m.fit(np.zeros((0, 2)), np.zeros((0, 32, 32)), np.zeros((0, 8)))
    with pytest.raises(ConfigError, match="kind"):
        m.predict(pos, np.full((1, 8), 1 / 8), kind="hires")
    with pytest.raises(ConfigError, match="psf_model.training_sets"):
        train_training_sets(TEL32, {"positions": np.zeros((3, 2))}, {}, {"training_sets": [2, 5]})


def test_run_stage_writes_models_and_is_deterministic(tmp_path):
    from starsed.config import load_params
    from starsed.io import read_h5, write_h5

    ex = _small_exposure(30, 6)
    data = write_h5(tmp_path / "main.h5", {"train": ex["train"], "test": ex["test"]})
    params = {"telescope": {"pupil_samples": 32}, "psf_model": {
        "training_sets": [15, 30], "n_test": 6, "recipe": "fast", "warm_start": True, "model_pupil_samples": 32,
        "batch_stars": 15, "seed": 1, "fast": {"passes": [6, 4], "dd_passes": [0, 0], "warmup_passes": 2,
                                              "precond_stars": 10, "precond_pupil_samples": 32, "precond_every": 3}}}
    params["telescope"] = {**{k: v for k, v in TEL32.__dict__.items()}, "band_nm": list(TEL32.band_nm),
                           "axis_offset_px": list(TEL32.axis_offset_px)}
    params["field"] = load_params()["field"]        # resolved params always hold every section
    digests = []
    for run in ("a", "b"):
        configure(0, tensorflow=True)
        metrics = __import__("starsed.psf_model", fromlist=["run_stage"]).run_stage(
            params, data, tmp_path / run, progress=False)
        digests.append([(tmp_path / run / f).read_bytes() for f in ("S1.h5", "S2.h5", "test_errors.h5")])
    assert digests[0] == digests[1]
    assert set(metrics) == {"S1", "S2", "total_train_seconds"}
    for key in ("n_train", "rel_rmse_pct", "rel_rmse_std_pct", "sr_rel_rmse_pct", "train_seconds"):
        assert key in metrics["S2"]
    assert read_h5(tmp_path / "a" / "test_errors.h5", "S2")["rel_rmse"].shape == (6,)
