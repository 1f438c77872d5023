"""The predict_seds stage: SED weights per variant, labelling the extra stars, its parameters."""
import numpy as np
import pytest

from starsed.params import ConfigError, Sections, from_params
from starsed.stages.predict_seds import (VARIANTS, PredictSEDsParams, check_against_params, extra_sed_weights,
                                         label_extra_stars)
from starsed.stages.psf_models import PSFModelsParams


def _message(fn) -> str:
    with pytest.raises(ConfigError) as err:
        fn()
    return str(err.value)


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


class _TruePSF:
    """A stand-in base model whose monochromatic PSFs are the simulation's own."""

    def __init__(self, d):
        self.rows = {float(x): i for i, x in enumerate(d["positions"][:, 0])}
        self.mono, self.kinds = d["mono"], []

    def predict(self, positions, kind="poly", progress=False):
        self.kinds.append(kind)
        return self.mono[[self.rows[float(x)] for x in positions[:, 0]]].astype(np.float64)


def test_label_extra_stars_with_the_base_models_psf(small_telescope, field_spec):
    from starsed.classifiers import LikelihoodClassifier
    from starsed.stages.simulate import ExposurePlan, simulate_exposure

    templates = np.random.default_rng(2).dirichlet(np.ones(8), 13)
    pool = simulate_exposure(small_telescope, field_spec, templates, ExposurePlan({"train": 60}, 4, (80.0, 110.0)),
                             progress=False)["train"]
    model = _TruePSF(pool)
    probas = label_extra_stars(model, pool, templates, np.arange(30, 60), np.arange(10, 30), seed=0, progress=False)
    assert model.kinds == ["mono"]
    assert probas["svm"].shape == (20, 13) and np.allclose(probas["svm"].sum(1), 1)
    assert np.allclose(probas["likelihood"].sum(1), 1)
    direct = LikelihoodClassifier(templates).predict_proba(pool["noisy"][10:30], mono=model.mono[10:30])
    np.testing.assert_allclose(probas["likelihood"], direct, rtol=1e-12, atol=1e-300)
    again = label_extra_stars(model, pool, templates, np.arange(30, 60), np.arange(10, 30), seed=0, progress=False)
    np.testing.assert_array_equal(again["svm"], probas["svm"])                # seeded


@pytest.mark.parametrize("override, name, value", [
    ({"bases": []}, "predict_seds.bases", "[]"),
    ({"bases": [0, 50]}, "predict_seds.bases", "[0, 50]"),
    ({"bases": [50, 3000]}, "predict_seds.bases", "[50, 3000]"),          # after the extra stars' start
    ({"seed": "777"}, "predict_seds.seed", "'777'"),
    ({"labeller_rows": [5, 5]}, "predict_seds.labeller_rows", "[5, 5]"),
    ({"labeller_rows": [4000]}, "predict_seds.labeller_rows", "[4000]"),
    ({"extra_rows": [-1, 3]}, "predict_seds.extra_rows", "[-1, 3]"),
    ({"labeller_rows": [3000, 12000]}, "predict_seds.labeller_rows", "[3000, 12000]"),   # overlaps extra_rows
    ({"labeller_rows": [0, 2001], "extra_rows": [2000, 4000], "bases": [50]}, "predict_seds.labeller_rows",
     "[0, 2001]"),
    ({"extra": [1, 2]}, "predict_seds.extra", "[1, 2]"),
])
def test_predict_seds_params_refuse_bad_values(override, name, value):
    msg = _message(lambda: from_params(PredictSEDsParams, override, "predict_seds"))
    assert name in msg and value in msg and "allowed" in msg, msg


@pytest.mark.parametrize("override, name, value", [
    ({"bases": [50, 75]}, "predict_seds.bases", "[50, 75]"),
    ({"labeller_rows": [4000, 12001]}, "predict_seds.labeller_rows", "[4000, 12001]"),
    ({"labeller_rows": [0, 1000], "extra_rows": [11000, 12500]}, "predict_seds.extra_rows", "[11000, 12500]"),
])
def test_predict_seds_params_refuse_values_beyond_the_other_sections(override, name, value):
    psf = PSFModelsParams()
    check_against_params(from_params(PredictSEDsParams, {}, "predict_seds"), psf, 12000)
    msg = _message(lambda: check_against_params(from_params(PredictSEDsParams, override, "predict_seds"), psf, 12000))
    assert name in msg and value in msg and "allowed" in msg, msg


def test_stage_refuses_a_missing_base_model_before_any_work(tmp_path, monkeypatch):
    from starsed.stages import predict_seds

    def boom(*args, **kw):
        raise AssertionError("the stage started working before checking its parameters")

    monkeypatch.setattr(predict_seds, "label_extra_stars", boom)
    (tmp_path / "S1.h5").write_bytes(b"")                 # base 50's model is there, base 100's (S2) is not
    cfg = Sections("default", {"psf_models": PSFModelsParams(), "predict_seds": PredictSEDsParams()})
    kw = dict(main_path=tmp_path / "main.h5", seds_path=tmp_path / "seds.h5", models_dir=tmp_path,
              out_dir=tmp_path / "out", root=tmp_path, progress=False)
    msg = _message(lambda: predict_seds.run(cfg, **kw))
    assert "S2" in msg and "predict_seds.bases" in msg and str(tmp_path / "S2.h5") in msg
    assert not (tmp_path / "out").exists() and not (tmp_path / "metrics").exists()
