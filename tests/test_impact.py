import numpy as np
import pytest

from starsed.config import ConfigError
from starsed.impact import (VARIANTS, augmented_training_set, extra_sed_weights, impact_section,
                            summarise_sweep)


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
    with pytest.raises(ConfigError, match="impact.bases"):
        augmented_training_set(pool, 12, extra_rows, extra_w, 2)


def test_variants_give_the_right_sed_weights():
    rng = np.random.default_rng(1)
    templates = rng.uniform(size=(13, 8))
    templates /= templates.sum(1, keepdims=True)
    proba = rng.dirichlet(np.ones(13), size=6)
    lik = rng.dirichlet(np.ones(13), size=6)
    truth = templates[rng.integers(0, 13, 6)]
    probas = {"svm": proba, "likelihood": lik}
    assert np.array_equal(extra_sed_weights("predicted", probas, templates, truth), templates[proba.argmax(1)])
    assert np.array_equal(extra_sed_weights("likelihood", probas, templates, truth), templates[lik.argmax(1)])
    soft = extra_sed_weights("soft", probas, templates, truth)
    assert np.allclose(soft.sum(1), 1) and np.allclose(soft, proba @ templates)
    # a certain posterior gives the template itself
    onehot = np.eye(13)[[3, 7]]
    assert np.allclose(extra_sed_weights("soft", {"svm": onehot}, templates, truth[:2]), templates[[3, 7]])
    assert np.array_equal(extra_sed_weights("oracle", probas, templates, truth), truth)
    ign = extra_sed_weights("ignorant", probas, templates, truth)
    assert np.allclose(ign, templates.mean(0)) and np.allclose(ign.sum(1), 1)
    with pytest.raises(ConfigError, match="impact variant"):
        extra_sed_weights("best", probas, templates, truth)
    assert set(VARIANTS) >= {"predicted", "soft", "oracle", "ignorant"}


def test_impact_reuses_the_psf_model_recipes():
    psf = {"recipe": "fast", "seed": 3, "training_sets": [50, 100], "fast": {"passes": [9, 9], "dd_passes": [1, 1],
                                                                           "warmup_passes": 4}}
    sec = impact_section(psf, {"added": [10, 20, 40], "fast": {"passes": [5, 4, 3], "dd_passes": [0, 0, 0]}})
    from starsed.psf_model import recipe_from_params

    r = recipe_from_params(sec, 2)
    assert r.passes == 3 and r.dd_passes == 0 and r.warmup_passes == 4 and r.name == "fast"


def test_sweep_summary_over_seeds():
    sweep = {0: {0: {"rel_rmse_pct": 2.0, "train_seconds": 0.0}, 50: {"rel_rmse_pct": 1.0, "train_seconds": 3.0}},
             1: {0: {"rel_rmse_pct": 2.0, "train_seconds": 0.0}, 50: {"rel_rmse_pct": 1.2, "train_seconds": 5.0}}}
    s = summarise_sweep(sweep)
    assert s["50"]["rel_rmse_pct_mean"] == pytest.approx(1.1)
    assert s["50"]["rel_rmse_pct_std"] == pytest.approx(np.std([1.0, 1.2], ddof=1))
    assert s["0"]["rel_rmse_pct_std"] == 0.0 and s["50"]["n_seeds"] == 2
