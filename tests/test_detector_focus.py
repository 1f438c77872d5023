"""The PSF model's per-detector focus term: it writes the simulator's CCD mosaic exactly, a model
holding it reproduces stars on a misaligned mosaic, its fit recovers the detectors' defocus from
noisy stars, and without it nothing changes.

A 2 x 2 mosaic and the model pupil 64 keep the file fast on 2 CPU cores.
"""
from dataclasses import replace

import numpy as np
import pytest

from starsed.runtime import configure

configure(0, tensorflow=True)

from starsed.params import ConfigError, from_params  # noqa: E402
from starsed.physics.field import FieldSpec  # noqa: E402
from starsed.physics.telescope import Telescope  # noqa: E402
from starsed.psf_model import PSFModel, PSFModelConfig  # noqa: E402
from starsed.psf_model.detectors import detector_focus_um, fit_detector_focus, normal_equations  # noqa: E402
from starsed.realism import Realism  # noqa: E402
from starsed.realism import detectors as det  # noqa: E402
from starsed.stages.simulate import ExposurePlan, simulate_exposure  # noqa: E402

TEL64 = replace(Telescope(), pupil_samples=64)
FIELD = FieldSpec()
GRID = (2, 2)
#: heights and tilts of a few hundred um: tens of nm of defocus, well above the noise
MOSAIC = {"grid": list(GRID), "piston_rms_um": 400.0, "tilt_rms_um": 200.0}


def true_coefficients(exposure: dict) -> np.ndarray:
    """The mosaic's (piston, slope x, slope y) in um of Z4: heights times the defocus per height."""
    per_height = det.defocus_per_height(TEL64)
    return per_height * np.concatenate([exposure["detector_piston_um"][:, None], exposure["detector_tilt_um"]],
                                       axis=1)


@pytest.fixture(scope="module")
def misaligned():
    sed = np.random.default_rng(2).dirichlet(np.ones(8), 13)
    realism = from_params(Realism, {"detectors": MOSAIC})
    return simulate_exposure(TEL64, FIELD, sed, ExposurePlan({"train": 24}, 11, (300.0, 300.0)), precision="double",
                             progress=False, realism=realism)


def model_of(ex, detector_focus=None) -> PSFModel:
    return PSFModel(TEL64, PSFModelConfig(pupil_samples=64, batch_stars=8, detector_grid=GRID),
                    C_hat=ex["field"]["C_um"], detector_focus=detector_focus)


def test_the_term_writes_the_simulators_mosaic_exactly():
    rng = np.random.default_rng(0)
    spec = from_params(det.Detectors, {"grid": [6, 6], "piston_rms_um": 40.0, "tilt_rms_um": 20.0})
    mosaic = det.draw_mosaic(spec, rng)
    pos = rng.uniform(0, FIELD.size, (500, 2))
    coeff = det.defocus_per_height(TEL64) * np.concatenate([mosaic["piston_um"][:, None], mosaic["tilt_um"]], axis=1)
    assert np.allclose(detector_focus_um(coeff, (6, 6), pos, FIELD.size),
                       det.defocus_um(spec, mosaic, pos, FIELD.size, TEL64), rtol=0, atol=1e-15)


def test_the_normal_equations_are_one_block_per_detector():
    d = np.array([0, 0, 1, 3])
    phi = np.array([[1.0, 0.5, -0.5], [1.0, -0.2, 0.1], [1.0, 0.0, 0.9], [1.0, 0.3, 0.3]])
    A, b = normal_equations(d, phi, np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, -1.0, 2.0, 0.5]), 4)
    assert np.allclose(A[0], np.outer(phi[0], phi[0]) + 2 * np.outer(phi[1], phi[1]))
    assert np.allclose(A[2], 0.0) and np.allclose(b[2], 0.0)      # no stars: no data, the prior decides
    assert np.allclose(b[3], 0.5 * phi[3])


def test_a_model_with_the_mosaic_reproduces_the_stars_on_it(misaligned):
    tr = misaligned["train"]
    truth = model_of(misaligned, true_coefficients(misaligned["field"]))
    pred = truth.predict(tr["positions"], tr["sed_weights"])
    rms = np.sqrt(np.mean(tr["noiseless"] ** 2))
    assert np.sqrt(np.mean((pred - tr["noiseless"]) ** 2)) / rms < 1e-5
    flat = model_of(misaligned).predict(tr["positions"], tr["sed_weights"])
    assert np.sqrt(np.mean((flat - tr["noiseless"]) ** 2)) / rms > 1e-3      # the mosaic is seen


def test_the_fit_recovers_each_detectors_defocus(misaligned):
    tr = misaligned["train"]
    model = model_of(misaligned)
    data = model.prepare(tr["positions"], tr["noisy"], tr["sed_weights"])
    found = fit_detector_focus(model, data, iterations=3, prior_um=0.1)
    truth = true_coefficients(misaligned["field"])
    z_true = detector_focus_um(truth, GRID, tr["positions"], FIELD.size)
    z_found = model.detector_defocus_um(tr["positions"])
    assert np.array_equal(found, model.detector_focus)
    assert np.sqrt(np.mean((z_found - z_true) ** 2)) < 0.05 * np.sqrt(np.mean(z_true ** 2))
    # the loss sees the fitted term through the training path (per-star offsets of the field part)
    loss = lambda m: m.loss_and_grad("param", m.C_hat, m.monomials(data.positions), m.dd_mixing,  # noqa: E731
                                     m.dd_maps_um, m.dd_monomials(data.positions), data)[0]
    at_truth = loss(model_of(misaligned, truth))                   # the noise floor
    assert loss(model) < 1.02 * at_truth < 1.02 / 1.5 * loss(model_of(misaligned))


def test_the_prior_keeps_an_empty_detector_at_zero(misaligned):
    tr = misaligned["train"]
    keep = det.detector_coordinates(GRID, tr["positions"], FIELD.size)[0] != 0     # no star on detector 0
    model = model_of(misaligned)
    data = model.prepare(tr["positions"][keep], tr["noisy"][keep], tr["sed_weights"][keep])
    found = fit_detector_focus(model, data, iterations=1, prior_um=0.1)
    assert np.array_equal(found[0], np.zeros(3)) and np.abs(found[1:]).max() > 0


def test_save_load_keeps_the_term(misaligned, tmp_path):
    model = model_of(misaligned, true_coefficients(misaligned["field"]))
    back = PSFModel.load(model.save(tmp_path / "m.h5"))
    assert back.config.detector_grid == GRID
    assert np.array_equal(back.detector_focus, model.detector_focus)
    pos = misaligned["train"]["positions"]
    assert np.array_equal(back.zernikes_um(pos), model.zernikes_um(pos))


def test_without_a_grid_the_model_is_the_idealised_one(misaligned):
    tr = misaligned["train"]
    plain = PSFModel(TEL64, PSFModelConfig(pupil_samples=64, batch_stars=8), C_hat=misaligned["field"]["C_um"])
    data = plain.prepare(tr["positions"], tr["noisy"], tr["sed_weights"])
    assert plain.detector_focus.shape == (0, 3) and plain.star_offsets_um(data) is None
    assert np.array_equal(plain.zernikes_um(tr["positions"]), plain.monomials(tr["positions"]) @ plain.C_hat.T)
    with pytest.raises(ValueError, match="detector_grid is null"):
        fit_detector_focus(plain, data)


def test_bad_values_name_the_parameter():
    from starsed.stages.psf_models import PSFModelsParams

    for bad in ([6], [0, 6], "6x6"):
        with pytest.raises(ConfigError, match=r"psf_models\.model\.detector_grid.*allowed"):
            from_params(PSFModelsParams, {"model": {"detector_grid": bad}, "offsets": {}})
    with pytest.raises(ConfigError, match=r"psf_models\.offsets.*detector_grid"):
        from_params(PSFModelsParams, {"model": {"detector_grid": [6, 6]}})
    with pytest.raises(ConfigError, match=r"psf_models\.offsets\.detector_prior_um.*allowed"):
        from_params(PSFModelsParams, {"offsets": {"detector_prior_um": 0.0}})


def test_training_with_offsets_fits_the_term_and_the_data_driven_part():
    """The realistic stage's fitted model: offsets, the detector term and the data-driven part in
    one alternation, from the true field (a warm start): each part moves, the loss falls, and a
    second run is bitwise the same."""
    from starsed.psf_model import LBFGSRecipe
    from starsed.psf_model.offsets import fit_with_offsets

    sed = np.random.default_rng(4).dirichlet(np.ones(8), 13)
    realism = from_params(Realism, {"detectors": MOSAIC, "offsets": {"max_px": 0.5}})
    ex = simulate_exposure(TEL64, FIELD, sed, ExposurePlan({"train": 20}, 12, (300.0, 300.0)), precision="double",
                           progress=False, realism=realism)
    tr = ex["train"]
    runs = []
    for _ in range(2):
        model = PSFModel(TEL64, PSFModelConfig(pupil_samples=64, batch_stars=10, detector_grid=GRID, data_driven=True),
                         C_hat=ex["field"]["C_um"])
        data = model.prepare(tr["positions"], tr["noisy"], tr["sed_weights"])
        start = model.loss(tr["positions"], tr["noisy"], tr["sed_weights"])
        report, tilts = fit_with_offsets(model, data, LBFGSRecipe(passes=4, dd_passes=2), rounds=2, iterations=2,
                                         init="current", progress=False, detector_prior_um=0.1)
        runs.append((model.arrays(), tilts))
        assert np.abs(model.detector_focus).max() > 0 and np.abs(model.dd_maps_um).max() > 0
        assert model.loss_and_grad("param", model.C_hat, model.monomials(data.positions), model.dd_mixing,
                                   model.dd_maps_um, model.dd_monomials(data.positions),
                                   data.with_tilts(tilts))[0] < 0.1 * start
    for k in runs[0][0]:
        assert np.array_equal(runs[0][0][k], runs[1][0][k]), k
    assert np.array_equal(runs[0][1], runs[1][1])


def test_the_realistic_stage_fits_the_term_only_in_the_model_that_knows_the_data():
    from pathlib import Path
    from types import SimpleNamespace

    from starsed.params import load_sections
    from starsed.stages import realistic

    cfg = load_sections(realistic.SECTIONS, "default", Path(__file__).resolve().parents[1] / "params.yaml")
    fitted, ignored = realistic.psf_settings(cfg, True), realistic.psf_settings(cfg, False)
    assert fitted.model.detector_grid == cfg.realistic.effects.detectors.grid and fitted.model.data_driven
    assert fitted.offsets == cfg.realistic.offsets
    assert ignored.model == cfg.psf_models.model and ignored.offsets is None
    off = SimpleNamespace(psf_models=cfg.psf_models,
                          realistic=replace(cfg.realistic, detector_focus=False, data_driven=False))
    assert realistic.psf_settings(off, True).model == cfg.psf_models.model
