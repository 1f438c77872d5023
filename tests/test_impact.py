import numpy as np
import pytest

"""The psf_impact stage (experiment E4) and the even-part reset of the PSF model's training."""
from starsed.params import ConfigError, from_params
from starsed.physics.zernike import centrosymmetric_modes
from starsed.psf_model import LBFGSRecipe, reset_even_part
from starsed.stages.psf_impact import PSFImpactParams, augmented_training_set, schedule, summarise_sweep
from starsed.stages.psf_models import PSFModelsParams


@pytest.fixture
def pool():
    rng = np.random.default_rng(0)
    n = 30
    w = rng.uniform(size=(n, 8))
    return {"positions": rng.uniform(0, 1000, (n, 2)), "noisy": rng.normal(size=(n, 32, 32)),
            "sed_weights": w / w.sum(1, keepdims=True), "labels": rng.integers(0, 13, n)}


def test_base_stars_are_untouched_and_extras_appended_in_order(pool):
    extra_rows = np.arange(10, 20)
    extra_w = np.full((10, 8), 1 / 8)
    d = augmented_training_set(pool, 5, extra_rows, extra_w, 4)
    assert np.array_equal(d["rows"], [0, 1, 2, 3, 4, 10, 11, 12, 13])
    assert np.array_equal(d["sed_weights"][:5], pool["sed_weights"][:5])
    assert np.array_equal(d["sed_weights"][5:], extra_w[:4])
    assert np.array_equal(d["noisy"], pool["noisy"][d["rows"]])
    assert np.array_equal(d["positions"][5:], pool["positions"][10:14])
    assert len(augmented_training_set(pool, 5, extra_rows, extra_w, 0)["rows"]) == 5
    with pytest.raises(ConfigError, match="number of added stars"):
        augmented_training_set(pool, 5, extra_rows, extra_w, 11)
    with pytest.raises(ConfigError, match="base = 12"):
        augmented_training_set(pool, 12, extra_rows, extra_w, 2)


# extra_sed_weights and VARIANTS (the predict_seds stage): tests/test_predict_seds.py


def small_psf(**kw) -> PSFModelsParams:
    two = {"paper": {"param_epochs": [[1, 1], [1, 1]], "dd_epochs": [[1, 1], [1, 1]]}}
    return from_params(PSFModelsParams, {"training_sets": [50, 100], **two, **kw})


def test_impact_reuses_the_psf_model_recipes():
    psf = small_psf(recipe="fast", seed=3, fast={"passes": [9, 9], "dd_passes": [1, 1], "precond_every": [15, 15],
                                                 "warmup_passes": 4})
    imp = from_params(PSFImpactParams, {"added": [10, 20, 40], "fast": {"passes": [5, 4, 3], "dd_passes": [0, 0, 0], "precond_every": [0, 0, 0]},
                                        "paper": {"param_epochs": [[1, 1]] * 3, "dd_epochs": [[1, 1]] * 3}})
    r = schedule(psf, imp).recipe(2)
    assert isinstance(r, LBFGSRecipe) and r.passes == 3 and r.dd_passes == 0 and r.warmup_passes == 4
    assert r.precond_stars == imp.fast.precond_stars == 300   # the impact's own, not psf_models.fast's


def test_sweep_summary_over_seeds():
    sweep = {0: {0: {"rel_rmse_pct": 2.0, "train_seconds": 0.0}, 50: {"rel_rmse_pct": 1.0, "train_seconds": 3.0}},
             1: {0: {"rel_rmse_pct": 2.0, "train_seconds": 0.0}, 50: {"rel_rmse_pct": 1.2, "train_seconds": 5.0}}}
    s = summarise_sweep(sweep)
    assert s["50"]["rel_rmse_pct_mean"] == pytest.approx(1.1)
    assert s["50"]["rel_rmse_pct_std"] == pytest.approx(np.std([1.0, 1.2], ddof=1))
    assert s["0"]["rel_rmse_pct_std"] == 0.0 and s["50"]["n_seeds"] == 2


def test_impact_sweep_trains_from_the_base_model_and_labels_extra_stars(tmp_path):
    """End to end on a tiny telescope: a base model, SVM/likelihood labels, a warm-started sweep."""
    from dataclasses import replace

    from starsed.physics.field import FieldSpec
    from starsed.physics.telescope import Telescope
    from starsed.psf_model import PSFModel, PSFModelConfig, fit
    from starsed.runtime import configure
    from starsed.stages.predict_seds import label_extra_stars
    from starsed.stages.psf_impact import base_model_file, impact_sweep
    from starsed.stages.simulate import ExposurePlan, simulate_exposure

    configure(0, tensorflow=True)
    tel = replace(Telescope(), pupil_samples=32)
    templates = np.random.default_rng(2).dirichlet(np.ones(8), 13)
    d = simulate_exposure(tel, FieldSpec(), templates, ExposurePlan({"train": 60, "test": 8}, 4, (80.0, 110.0)),
                          "double", progress=False)
    pool, test = d["train"], d["test"]
    base = PSFModel(tel, PSFModelConfig(pupil_samples=32, batch_stars=16, jit=False))
    fit(base, base.prepare(pool["positions"][:20], pool["noisy"][:20], pool["sed_weights"][:20]),
        LBFGSRecipe(passes=5, warmup_passes=2, precond_stars=0), progress=False)
    psf = from_params(PSFModelsParams, {"training_sets": [20], "recipe": "fast", "seed": 1, "n_test": 8,
                                        "model": {"pupil_samples": 32, "batch_stars": 16, "jit": False},
                                        "fast": {"passes": [5], "dd_passes": [0], "precond_every": [0], "warmup_passes": 2,
                                                 "precond_stars": 0},
                                        "paper": {"param_epochs": [[1, 1]], "dd_epochs": [[1, 1]]}})
    path = base_model_file(psf, 20, tmp_path)
    base.save(path)
    probas = label_extra_stars(base, pool, templates, np.arange(40, 60), np.arange(20, 40), seed=0, progress=False)
    assert probas["svm"].shape == (20, 13) and np.allclose(probas["likelihood"].sum(1), 1)
    spec = {"added": [5, 20], "seeds": [0, 1], "fast": {"passes": [3, 3], "dd_passes": [0, 0], "precond_every": [0, 0],
                                                       "precond_stars": 0},
            "even_reset": {"at": 5, "plain_passes": 2},
            "paper": {"param_epochs": [[1, 1]] * 2, "dd_epochs": [[1, 1]] * 2}}
    impact = from_params(PSFImpactParams, spec)
    sweep = impact_sweep(path, pool, test, 20, np.arange(20, 40), pool["sed_weights"][20:40], psf, impact,
                         progress=False)
    assert set(sweep) == {0, 1} and set(sweep[0]) == {0, 5, 20}
    assert sweep[0][0]["rel_rmse_pct"] == sweep[1][0]["rel_rmse_pct"]       # E = 0: the base alone
    assert all(np.isfinite(r["rel_rmse_pct"]) for s in sweep.values() for r in s.values())
    assert sweep[0][5]["rel_rmse_pct"] != sweep[1][5]["rel_rmse_pct"]       # seeds start differently
    with pytest.raises(ConfigError, match="base = 50 .*training_sets"):
        base_model_file(psf, 50, tmp_path)
    with pytest.raises(ConfigError, match="psf_impact.even_reset.at = 7"):
        from_params(PSFImpactParams, {**spec, "even_reset": {"at": 7, "plain_passes": 2}})
    with pytest.raises(ConfigError, match=r"psf_impact.even_reset.plain_passes = 4 .*0..3"):
        from_params(PSFImpactParams, {**spec, "even_reset": {"at": 5, "plain_passes": 4}})


def test_centrosymmetric_modes_are_the_even_radial_orders():
    # Noll 1 piston, 4-6 defocus/astigmatism, 11-15 (n = 4): even; 2-3 tip/tilt, 7-10 (n = 3): odd
    assert np.flatnonzero(centrosymmetric_modes(15)).tolist() == [0, 3, 4, 5, 10, 11, 12, 13, 14]


@pytest.mark.parametrize("obscurations", ["none", "euclid"])
def test_images_cannot_tell_a_wavefront_from_its_twin(obscurations):
    """The premise of the even-part reset: negating the even-n Zernikes (phi(r) -> -phi(-r))
    leaves every monochromatic PSF unchanged for a centrosymmetric pupil; only the
    Euclid-like spiders break the tie. Negating the odd part instead changes the PSF more."""
    from dataclasses import replace

    from starsed.physics.telescope import Telescope
    from starsed.psf_model import PSFModel, PSFModelConfig

    tel = replace(Telescope(), pupil_samples=64, obscurations=obscurations)
    z = np.random.default_rng(3).normal(0.0, 0.04, 21)                       # um, ~0.2 um WFE
    even = centrosymmetric_modes(21)
    cfg = PSFModelConfig(n_zernikes=21, degree=0, pupil_samples=64, precision="double", jit=False)
    psf = {name: PSFModel(tel, cfg, C_hat=c[:, None]).predict([[500.0, 500.0]], kind="mono")[0]
           for name, c in {"phi": z, "twin": np.where(even, -z, z), "odd flipped": np.where(even, z, -z)}.items()}
    twin = np.abs(psf["twin"] - psf["phi"]).max() / psf["phi"].max()
    other = np.abs(psf["odd flipped"] - psf["phi"]).max() / psf["phi"].max()
    assert other > 0.05
    if obscurations == "none":
        assert twin < 1e-9
    else:
        assert 0.01 < twin < other / 2


def test_reset_even_part_zeroes_even_modes_and_keeps_the_rest(monkeypatch):
    from starsed.psf_model import training

    fitted = []
    monkeypatch.setattr(training, "fit", lambda model, data, recipe, seed, init, progress:
                        fitted.append((recipe, init)))

    class Stub:
        C_hat = np.arange(1.0, 1.0 + 15 * 3).reshape(15, 3)

    model, before = Stub(), Stub.C_hat.copy()
    left = reset_even_part(model, None, LBFGSRecipe(passes=30, precond_stars=300), 20, progress=False)
    even = centrosymmetric_modes(15)
    assert np.all(model.C_hat[even] == 0) and np.array_equal(model.C_hat[~even], before[~even])
    (plain, init), = fitted
    assert (plain.passes, plain.precond_stars, init) == (20, 0, "current") and left.passes == 10
    untouched = Stub()
    with pytest.raises(ConfigError, match="psf_impact.even_reset.plain_passes"):
        reset_even_part(untouched, None, LBFGSRecipe(passes=10), 20)
    assert np.array_equal(untouched.C_hat, before)                   # refused before any change


def test_headline_is_the_last_point_of_the_smallest_base():
    from starsed.stages.impact_summary import headline

    point = lambda v: {"rel_rmse_pct_mean": v}  # noqa: E731
    summary = {"base100": {"predicted": {"50": point(9.0), "2000": point(8.0)}},
               "base50": {"predicted": {"50": point(1.5), "2000": point(0.5)}, "oracle": {"2000": point(0.4)}},
               "reference_true": {}}
    assert headline(summary) == {"predicted": 0.5, "oracle": 0.4}
