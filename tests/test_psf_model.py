"""The TensorFlow PSF model: agreement with the simulator, gradients, training, save/load, errors,
and the psf_models stage (experiment E1).

Small telescopes (P = 32 or 64) and few stars keep the file fast on 2 CPU cores.
"""
import json
from dataclasses import replace

import numpy as np
import pytest

from starsed.runtime import configure

configure(0, tensorflow=True)

from starsed.optics import Optics, polychromatic  # noqa: E402
from starsed.params import ConfigError, from_params  # noqa: E402
from starsed.physics.field import FieldSpec, random_field, zernike_coefficients  # noqa: E402
from starsed.physics.noise import robust_sigma  # noqa: E402
from starsed.physics.telescope import Telescope  # noqa: E402
from starsed.psf_model import (AdamRecipe, LBFGSRecipe, PSFModel, PSFModelConfig, evaluate, fit)  # noqa: E402
from starsed.psf_model.data import star_weights  # noqa: E402
from starsed.psf_model.recipes import LBFGSSchedule  # noqa: E402
from starsed.stages.psf_models import PSFModelsParams, train_training_sets  # noqa: E402
from starsed.stages.simulate import ExposurePlan, simulate_exposure  # noqa: E402

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
    from starsed.physics.pupil import pupil_amplitude

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
    data = m.prepare(tr["positions"], tr["noisy"], tr["sed_weights"], sigma=tr["sigma"])

    def f(C, maps, part="param"):
        return m.loss_and_grad(part, C, feats, m.dd_mixing, maps, m5, data)

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
    report = fit(m, m.prepare(tr["positions"], tr["noisy"], tr["sed_weights"]), LBFGSRecipe(passes=80), seed=1,
                 progress=False)
    return ex, m, report


def test_training_lowers_loss_and_recovers_low_order(trained):
    ex, m, report = trained
    losses = [h["loss"] for h in report.history]
    tr, te = ex["train"], ex["test"]
    truth = PSFModel(TEL32, m.config, C_hat=ex["field"]["C_um"])
    noise_floor = truth.loss(tr["positions"], tr["noisy"], tr["sed_weights"])
    assert min(losses) < 0.2 * losses[0]
    assert min(losses) < 1.01 * noise_floor          # fitted down to the noise
    err = evaluate(m, te)
    assert err["rel_rmse_pct"] < 1.0
    # shapes of the super-resolved stamps: every star measured; the truth's e1, e2 are ~0.02, 0.01 RMS
    # and this fit gets them to ~5e-4, its relative size to ~1e-3
    assert err["shape_stars"] == len(te["positions"])
    assert max(err["e1_rmse"], err["e2_rmse"]) < 0.002 and err["r2_rmse"] < 0.005
    # the Zernike field (Noll 2..10: tip/tilt, defocus, astigmatism, coma, trefoil) at the test positions
    true_z = te["zernikes_um"][:, 1:]
    fit_z = m.zernikes_um(te["positions"])[:, 1:]
    assert np.sqrt(np.mean((fit_z - true_z) ** 2)) < 0.1 * np.sqrt(np.mean(true_z ** 2))


def test_warm_start_starts_from_current_arrays(trained):
    ex, m, _ = trained
    tr, te = ex["train"], ex["test"]
    warm = PSFModel(TEL32, m.config, C_hat=ex["field"]["C_um"])
    report = fit(warm, warm.prepare(tr["positions"], tr["noisy"], tr["sed_weights"]),
                 LBFGSRecipe(passes=2, precond_stars=10, precond_pupil_samples=32), init="current", progress=False)
    truth = PSFModel(TEL32, m.config, C_hat=ex["field"]["C_um"])
    assert report.history[0]["loss"] == pytest.approx(truth.loss(tr["positions"], tr["noisy"], tr["sed_weights"]),
                                                    rel=1e-4)
    assert evaluate(warm, te)["rel_rmse_pct"] < 0.2


def test_field_prior_shrinks_the_field(trained):
    ex, m, _ = trained
    tr = ex["train"]
    strong = PSFModel(TEL32, m.config, C_hat=m.C_hat)
    fit(strong, strong.prepare(tr["positions"], tr["noisy"], tr["sed_weights"]),
        LBFGSRecipe(passes=10, field_prior_um=1e-4), init="current", progress=False)
    grid = np.stack(np.meshgrid(np.linspace(0, 1000, 5), np.linspace(0, 1000, 5)), -1).reshape(-1, 2)
    assert np.linalg.norm(strong.zernikes_um(grid)) < 0.8 * np.linalg.norm(m.zernikes_um(grid))


def test_save_load_round_trip(trained, tmp_path):
    ex, m, _ = trained
    te = ex["test"]
    p1, p2 = m.save(tmp_path / "a.h5"), m.save(tmp_path / "b.h5")
    assert p1.read_bytes() == p2.read_bytes()
    m2 = PSFModel.load(p1)
    assert m2.config == m.config and m2.telescope == m.telescope
    for kind in ("poly", "sr", "mono"):
        np.testing.assert_array_equal(m2.predict(te["positions"][:4], te["sed_weights"][:4], kind),
                                      m.predict(te["positions"][:4], te["sed_weights"][:4], kind))
    np.testing.assert_array_equal(m2.opd_um(te["positions"][:2]), m.opd_um(te["positions"][:2]))


def test_robust_sigma_of_white_noise():
    rng = np.random.default_rng(0)
    stamps = rng.normal(0.0, 0.02, (200, 32, 32))
    s = robust_sigma(stamps, 10.0, TEL32.axis_px)
    assert np.median(s) == pytest.approx(0.02, rel=0.05)
    w = star_weights(s)
    assert np.median(w) == pytest.approx(1.0)


def test_paper_recipe_and_data_driven_run():
    ex = _small_exposure(8, 4)
    tr = ex["train"]
    m = PSFModel(TEL32, PSFModelConfig(pupil_samples=32, data_driven=True, batch_stars=8, jit=False))
    rec = AdamRecipe(cycles=2, param_epochs=(2, 1), dd_epochs=(1, 1), batch=4)
    report = fit(m, m.prepare(tr["positions"], tr["noisy"], tr["sed_weights"]), rec, seed=0, progress=False)
    assert [h["phase"] for h in report.history] == ["param", "param", "dd", "param", "dd"]
    assert np.isfinite(m.C_hat).all()


def test_train_training_sets_warm_start():
    ex = _small_exposure(40, 5)
    s = from_params(PSFModelsParams, {"training_sets": [20, 40], "recipe": "fast", "warm_start": True,
                                      "model": {"pupil_samples": 32, "batch_stars": 20},
                                      "fast": {"passes": [5, 3], "dd_passes": [0, 0], "precond_every": [0, 0]},
                                      "paper": {"param_epochs": [[1, 1], [1, 1]], "dd_epochs": [[1, 1], [1, 1]]},
                                      "seed": 0})
    results, models = train_training_sets(TEL32, ex["train"], ex["test"], s, s.model, progress=False)
    assert list(results) == ["S1", "S2"]
    assert results["S2"]["warm_start_from"] == "S1"
    assert results["S2"]["n_train"] == 40
    assert results["S2"]["cumulative_seconds"] > results["S2"]["train_seconds"]
    assert results["S1"]["per_star"].shape == (5,)


def test_bad_configuration_names_parameter():
    with pytest.raises(ConfigError, match=r"psf_models.model.kind = 'gaussian'.*\['poly'\]"):
        PSFModelConfig(kind="gaussian")
    with pytest.raises(ConfigError, match="psf_models.recipe = 'sgd'"):
        from_params(PSFModelsParams, {"recipe": "sgd"})
    with pytest.raises(ConfigError, match="psf_models.model.pupil_samples"):
        PSFModel(TEL32, PSFModelConfig(pupil_samples=24, jit=False))
    with pytest.raises(ConfigError, match=r"psf_models.fast.passes = \[1\] .*one entry per training set \(2\)"):
        from_params(PSFModelsParams, {"training_sets": [1, 2], "fast": {"passes": [1], "dd_passes": [0, 0]}})
    with pytest.raises(ConfigError, match="psf_models.fast.passes"):
        LBFGSSchedule(passes=(3, -1))
    m = PSFModel(TEL32, PSFModelConfig(pupil_samples=32, jit=False))
    pos = np.array([[100.0, 200.0]])
    with pytest.raises(ConfigError, match="sed_weights"):
        m.predict(pos, np.full((1, 7), 1 / 7))
    with pytest.raises(ConfigError, match="number of training stars"):
        m.prepare(np.zeros((0, 2)), np.zeros((0, 32, 32)), np.zeros((0, 8)))
    with pytest.raises(ConfigError, match="kind"):
        m.predict(pos, np.full((1, 8), 1 / 8), kind="hires")
    s = from_params(PSFModelsParams, {"training_sets": [2, 5], "fast": {"passes": [1, 1], "dd_passes": [0, 0], "precond_every": [0, 0]},
                                      "paper": {"param_epochs": [[1, 1], [1, 1]], "dd_epochs": [[1, 1], [1, 1]]}})
    with pytest.raises(ConfigError, match="psf_models.training_sets"):
        train_training_sets(TEL32, {"positions": np.zeros((3, 2))}, {}, s, s.model)


def test_the_stage_writes_models_and_is_deterministic(tmp_path):
    from starsed.io import read_h5, write_h5
    from starsed.params import Sections
    from starsed.stages import psf_models

    ex = _small_exposure(30, 6)
    data = write_h5(tmp_path / "main.h5", {"train": ex["train"], "test": ex["test"]})
    s = from_params(PSFModelsParams, {
        "training_sets": [15, 30], "n_test": 6, "recipe": "fast", "warm_start": True, "seed": 1,
        "model": {"pupil_samples": 32, "batch_stars": 15},
        "fast": {"passes": [6, 4], "dd_passes": [0, 0], "precond_every": [3, 3], "warmup_passes": 2, "precond_stars": 10,
                 "precond_pupil_samples": 32},
        "paper": {"param_epochs": [[1, 1], [1, 1]], "dd_epochs": [[1, 1], [1, 1]]}})
    cfg = Sections("default", {"telescope": TEL32, "field": FIELD, "psf_models": s})
    digests = []
    for run in ("a", "b"):
        configure(0, tensorflow=True)
        metrics = psf_models.run(cfg, data, tmp_path / run, root=tmp_path / run, progress=False)
        digests.append([(tmp_path / run / f).read_bytes() for f in ("S1.h5", "S2.h5", "test_errors.h5")])
    assert digests[0] == digests[1]
    assert set(metrics) == {"S1", "S2"}
    for key in ("n_train", "rel_rmse_pct", "rel_rmse_std_pct", "sr_rel_rmse_pct", "e1_rmse", "e2_rmse", "r2_rmse"):
        assert key in metrics["S2"]
    # results are the same bytes on a rerun; the timings live apart, in the record
    assert (tmp_path / "a/metrics/psf_models.json").read_bytes() == (tmp_path / "b/metrics/psf_models.json").read_bytes()
    record = json.loads((tmp_path / "a/records/psf_models.json").read_text())
    assert record["S2"]["cumulative_seconds"] > record["S2"]["train_seconds"] > 0
    assert json.loads((tmp_path / "a/metrics/headline/psf_models.json").read_text()) == {
        k: metrics[k]["rel_rmse_pct"] for k in ("S1", "S2")}
    assert read_h5(tmp_path / "a" / "test_errors.h5", "S2")["rel_rmse"].shape == (6,)


# ------------------------------------------------------------------ stars off the pixel centre
def _offset_exposure(n, seed=5, snr=(200.0, 200.0)):
    """Stars of TEL64 with realistic offsets (up to half a pixel), their field and the model pupil 64."""
    from starsed.realism import Realism

    sed = np.random.default_rng(seed).dirichlet(np.ones(8), 13)
    realism = from_params(Realism, {"offsets": {"max_px": 0.5}})
    return simulate_exposure(TEL64, FIELD, sed, ExposurePlan({"train": n}, seed, snr), precision="double",
                             progress=False, realism=realism)


def test_a_model_with_the_stars_offsets_reproduces_the_offset_stars():
    from starsed.realism.offsets import tilt_um

    ex = _offset_exposure(6)
    tr = ex["train"]
    model = PSFModel(TEL64, PSFModelConfig(pupil_samples=64, batch_stars=4), C_hat=ex["field"]["C_um"])
    pred = model.predict(tr["positions"], tr["sed_weights"], tilt_um=tilt_um(tr["offsets_px"], TEL64))
    r = np.sqrt(np.mean((pred - tr["noiseless"]) ** 2)) / np.sqrt(np.mean(tr["noiseless"] ** 2))
    assert r < 1e-5
    centred = model.predict(tr["positions"], tr["sed_weights"])
    assert np.sqrt(np.mean((centred - tr["noiseless"]) ** 2)) / np.sqrt(np.mean(tr["noiseless"] ** 2)) > 0.1
    # the loss sees the offsets: lower with them than without
    data = model.prepare(tr["positions"], tr["noisy"], tr["sed_weights"])
    assert model.loss_and_grad("param", model.C_hat, model.monomials(tr["positions"]), model.dd_mixing,
                               model.dd_maps_um, model.dd_monomials(tr["positions"]),
                               data.with_tilts(tilt_um(tr["offsets_px"], TEL64)))[0] < \
        0.1 * model.loss_and_grad("param", model.C_hat, model.monomials(tr["positions"]), model.dd_mixing,
                                  model.dd_maps_um, model.dd_monomials(tr["positions"]), data)[0]


def test_offsets_are_recovered_from_the_noisy_stamps():
    from starsed.psf_model.offsets import model_tilts
    from starsed.realism.offsets import shift_per_tilt_px

    ex = _offset_exposure(12, snr=(100.0, 100.0))
    tr = ex["train"]
    model = PSFModel(TEL64, PSFModelConfig(pupil_samples=64, batch_stars=4), C_hat=ex["field"]["C_um"])
    t = model_tilts(model, tr["positions"], tr["sed_weights"], tr["noisy"])
    found_px = t * shift_per_tilt_px(TEL64, 64)
    assert np.max(np.abs(found_px - tr["offsets_px"])) < 0.03, np.abs(found_px - tr["offsets_px"]).max()


def test_the_offsets_leave_the_field_its_tilt():
    from starsed.physics.field import monomials
    from starsed.psf_model.offsets import without_field_part

    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 1000, (200, 2))
    M = monomials(pos, 4)
    smooth = M @ rng.normal(0, 0.01, (15, 2))                 # a tilt field: the model's own Z2, Z3 terms
    own = rng.uniform(-0.05, 0.05, (200, 2))
    out = without_field_part(smooth + own, M)
    assert np.allclose(M.T @ out, 0.0, atol=1e-10)            # nothing left that the field can write
    assert np.allclose(out, without_field_part(own, M))       # the smooth part is gone entirely
    assert np.corrcoef(out[:, 0], own[:, 0])[0, 1] > 0.9      # the stars' own offsets stay


def test_the_paper_recipe_takes_the_stars_offsets_too():
    from starsed.realism.offsets import tilt_um

    ex = _offset_exposure(8)
    tr = ex["train"]
    recipe = AdamRecipe(cycles=1, param_epochs=(3,), dd_epochs=(0,), batch=4, lr_param=1e-3)
    losses = {}
    for name, tilts in (("with", tilt_um(tr["offsets_px"], TEL64, 64)), ("without", None)):
        model = PSFModel(TEL64, PSFModelConfig(pupil_samples=64, batch_stars=4), C_hat=ex["field"]["C_um"])
        data = model.prepare(tr["positions"], tr["noisy"], tr["sed_weights"]).with_tilts(tilts)
        losses[name] = fit(model, data, recipe, init="current", progress=False).history[0]["loss"]
    assert losses["with"] < 0.1 * losses["without"]            # the true field fits only at the offsets
