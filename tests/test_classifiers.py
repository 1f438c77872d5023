"""Every classifier on a small simulated set (P = 32 pupil): above chance, determinism."""
import dataclasses

import numpy as np
import pytest

from starsed.classifiers import (CNNClassifier, CNNConfig, LikelihoodClassifier, LikelihoodConfig, PCAMLPCommittee,
                                 PCAMLPConfig, PSFStats, SVMPSF, StackedSVM, SVMConfig, class_to_target, crop_centre,
                                 target_to_class, validation_split)
from starsed.metrics.classification import accuracy, within_one_accuracy
from starsed.params import ConfigError, from_params
from starsed.physics.field import FieldSpec
from starsed.physics.telescope import Telescope
from starsed.stages.classify import ClassifyParams, realisation_splits
from starsed.stages.simulate import ExposurePlan, simulate_exposure
from starsed.stages.psf_models import PSFModelsParams

CHANCE = 1 / 13


def toy_seds() -> np.ndarray:
    """13 smooth 8-bin SEDs, hot (blue-heavy) to cool (red-heavy); rows sum to 1."""
    k = np.arange(8) - 3.5
    w = np.exp(np.linspace(-0.4, 0.4, 13)[:, None] * k)
    return w / w.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data():
    tel = dataclasses.replace(Telescope(), pupil_samples=32)
    plan = ExposurePlan({"train": 600, "test": 200}, seed=7, snr_range=(60.0, 110.0))
    return simulate_exposure(tel, FieldSpec(), toy_seds(), plan, progress=False)


def _score(clf, data, **kw):
    tr, te = data["train"], data["test"]
    aux_tr = {k: v(tr) for k, v in kw.items()}
    aux_te = {k: v(te) for k, v in kw.items()}
    clf.fit(tr["noisy"], tr["labels"], **aux_tr)
    p = clf.predict_proba(te["noisy"], **aux_te)
    assert p.shape == (len(te["labels"]), 13)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    pred = clf.predict(te["noisy"], **aux_te)
    return accuracy(te["labels"], pred), within_one_accuracy(te["labels"], pred), p


def test_svm_psf_above_chance(data):
    acc, w1, _ = _score(SVMPSF(seed=0), data, mono=lambda d: d["mono"])
    assert acc > 3 * CHANCE and w1 > 0.6


def test_likelihood_above_chance_and_perfect_without_noise(data):
    like = LikelihoodClassifier(toy_seds())
    acc, w1, _ = _score(like, data, mono=lambda d: d["mono"])
    assert acc > 3 * CHANCE
    te = data["test"]
    # noise-free stars, true PSF, unit flux and a tiny sigma: the template fit is exact
    exact = LikelihoodClassifier(toy_seds(), LikelihoodConfig(flux="unit"))
    pred = exact.predict(te["noiseless"], mono=te["mono"], sigma=np.full(len(te["labels"]), 1e-6))
    assert accuracy(te["labels"], pred) == 1.0
    free = LikelihoodClassifier(toy_seds(), LikelihoodConfig(flux="free"))
    stats = PSFStats.from_mono(te["mono"], te["noiseless"])
    pred = free.predict(te["noiseless"], stats=stats, sigma=np.full(len(pred), 1e-6))
    assert accuracy(te["labels"], pred) >= 0.99
    with pytest.raises(ConfigError, match="mono/stats"):
        free.predict(te["noiseless"])


def test_stacked_svm_above_chance(data):
    acc, _, _ = _score(StackedSVM(toy_seds(), seed=0), data, mono=lambda d: d["mono"])
    assert acc > 3 * CHANCE


def test_pca_mlp_above_chance(data):
    clf = PCAMLPCommittee(PCAMLPConfig(n_members=4, max_epochs=20, patience=8, batch_size=64), seed=3)
    acc, w1, p = _score(clf, data)
    assert w1 > 0.45 and acc > 1.5 * CHANCE
    assert clf.model.count_params() == 4 * (24 * 26 + 26 + 26 * 26 + 26 + 26 + 1)
    assert clf.epochs_run <= 20 and clf.best_epoch.shape == (4,)
    # probabilities = the committee's histogram of rounded member predictions
    assert set(np.unique(np.round(p * 4, 6))) <= {0.0, 1.0, 2.0, 3.0, 4.0}


def test_cnn_above_chance(data):
    clf = CNNClassifier(CNNConfig(learning_rate=3e-3, batch_size=64, max_epochs=20, patience=6), seed=5)
    assert clf.build().count_params() == 43981
    acc, w1, _ = _score(clf, data)
    assert acc > 2 * CHANCE and w1 > 0.45


@pytest.mark.parametrize("cls, config", [(PCAMLPCommittee, PCAMLPConfig(n_members=3, max_epochs=3, batch_size=32)),
                                         (CNNClassifier, CNNConfig(max_epochs=3, batch_size=32, learning_rate=1e-3))])
def test_keras_classifiers_deterministic(data, cls, config):
    x, y = data["train"]["noisy"][:150], data["train"]["labels"][:150]
    p1 = cls(config, seed=11).fit(x, y).predict_proba(data["test"]["noisy"][:50])
    p2 = cls(config, seed=11).fit(x, y).predict_proba(data["test"]["noisy"][:50])
    np.testing.assert_array_equal(p1, p2)


def test_helpers():
    np.testing.assert_array_equal(target_to_class(class_to_target(np.arange(13))), np.arange(13))
    np.testing.assert_array_equal(target_to_class([-5.0, 1.74, 1.76, 99.0]), [0, 0, 1, 12])
    tr, va = validation_split(100, 0.1, 0)
    assert len(va) == 10 and len(np.intersect1d(tr, va)) == 0
    tr2, va2 = validation_split(100, 0.1, 0)
    np.testing.assert_array_equal(va, va2)
    assert crop_centre(np.zeros((2, 32, 32)), 12).shape == (2, 12, 12)
    splits = realisation_splits(110, 100, 10, 3, seed=1)
    assert len(splits) == 3
    for tr, te in splits:
        assert len(tr) == 100 and len(te) == 10 and len(np.union1d(tr, te)) == 110
    np.testing.assert_array_equal(realisation_splits(110, 100, 10, 3, seed=1)[2][1], splits[2][1])
    assert not np.array_equal(splits[0][1], splits[1][1])
    with pytest.raises(ConfigError, match="cnn.crop"):
        CNNConfig(crop=10)
    with pytest.raises(ConfigError, match="svm.gamma"):
        SVMConfig(gamma=0)
    with pytest.raises(ConfigError, match="n_train"):
        realisation_splits(50, 100, 10, 3, seed=1)


def test_run_classification_end_to_end(data):
    from starsed.stages.classify import (bayes_gap_rows, classification_rows, confusion_total, per_class_mean,
                                         run_classification, snr_curve, summarise_runs)

    tr, te = data["train"], data["test"]
    pool = {k: tr[k][:240] for k in ("noisy", "labels", "snr", "sigma")}
    stats = {"gt": PSFStats.from_mono(tr["mono"][:240], pool["noisy"])}
    second = {k: te[k][:60] for k in ("noisy", "labels", "snr", "sigma")}
    section = from_params(ClassifyParams, {
        "seed": 1, "realisations": 2, "n_train": 200, "n_test": 40, "stacked": ["gt"],
        "pca_mlp": {"n_members": 2, "max_epochs": 2, "batch_size": 64},
        "cnn": {"max_epochs": 2, "batch_size": 64},
        "svm": {"C": 1.0, "gamma": 0.125}, "likelihood": {"flux": "free", "outer_radius_px": 10.0}})
    res = run_classification(pool, stats, toy_seds(), section, second,
                             {"gt": PSFStats.from_mono(te["mono"][:60], second["noisy"])}, progress=False)
    assert res["keys"] == ["pca_mlp", "cnn_mlp", "svm_psf_gt", "likelihood_gt", "svm_like_gt", "bayes_gt"]
    assert res["predictions"]["svm_psf_gt"]["proba"].shape == (2, 40, 13)
    summ = summarise_runs(res["runs"])
    assert summ["bayes_gt"]["accuracy_mean"] > 2 * CHANCE and summ["pca_mlp"]["realisations"] == 2
    assert set(res["generalisation_runs"]) == set(res["keys"])
    res.update(labels=pool["labels"], snr=pool["snr"], second_labels=second["labels"])
    assert confusion_total(res, "likelihood_gt").sum() == 80
    assert confusion_total(res, "cnn_mlp", "second_predictions").sum() == 120
    assert per_class_mean(res, "svm_psf_gt")["f1"].shape == (13,)
    assert snr_curve(res, "bayes_gt", [60, 80, 110])["count"].sum() == 80
    rows = classification_rows(summ)
    assert rows[0]["method"] == "PCA+MLP" and rows[0]["paper_accuracy"] == "0.370 ± 0.015"
    assert len(bayes_gap_rows(summ)) == 5
    assert res["pca"].components_.shape == (24, 32 * 32)
    # every fit is single-threaded in its own process: one worker gives the same numbers as two
    one = run_classification(pool, stats, toy_seds(), dataclasses.replace(section, workers=1), second,
                             {"gt": PSFStats.from_mono(te["mono"][:60], second["noisy"])}, progress=False)
    for key in res["keys"]:
        for name in ("pred", "proba"):
            np.testing.assert_array_equal(one["predictions"][key][name], res["predictions"][key][name], err_msg=key)


# --------------------------------------------------------------------------- the classify stage's parameters
def _message(fn) -> str:
    with pytest.raises(ConfigError) as err:
        fn()
    return str(err.value)


@pytest.mark.parametrize("override, name, value", [
    ({"realisations": 0}, "classify.realisations", "0"),
    ({"classifier_stars": [5, 5]}, "classify.classifier_stars", "[5, 5]"),
    ({"classifier_stars": [-1, 5]}, "classify.classifier_stars", "[-1, 5]"),
    ({"n_train": 0}, "classify.n_train", "0"),
    ({"n_test": -1}, "classify.n_test", "-1"),
    ({"psf_models": ["S1", "S1"]}, "classify.psf_models", "['S1', 'S1']"),
    ({"stacked": ["s9"]}, "classify.stacked", "['s9']"),
    ({"psf_models": ["S1"], "stacked": ["gt", "s2"]}, "classify.stacked", "['gt', 's2']"),
    ({"snr_edges": [20, 10]}, "classify.snr_edges", "[20, 10]"),
    ({"snr_edges": [20]}, "classify.snr_edges", "[20]"),
    ({"seed": 1.5}, "classify.seed", "1.5"),
    ({"pca_mlp": {"n_components": 0}}, "classify.pca_mlp.n_components", "0"),
    ({"pca_mlp": {"n_components": 500}, "n_train": 300}, "classify.pca_mlp.n_components", "500"),
    ({"pca_mlp": {"n_members": 0}}, "classify.pca_mlp.n_members", "0"),
    ({"pca_mlp": {"hidden": 2.5}}, "classify.pca_mlp.hidden", "2.5"),
    ({"pca_mlp": {"learning_rate": 0}}, "classify.pca_mlp.learning_rate", "0"),
    ({"pca_mlp": {"max_epochs": 0}}, "classify.pca_mlp.max_epochs", "0"),
    ({"pca_mlp": {"patience": 0}}, "classify.pca_mlp.patience", "0"),
    ({"pca_mlp": {"batch_size": 0}}, "classify.pca_mlp.batch_size", "0"),
    ({"pca_mlp": {"val_fraction": 1.0}}, "classify.pca_mlp.val_fraction", "1.0"),
    ({"cnn": {"crop": 10}}, "classify.cnn.crop", "10"),
    ({"cnn": {"filters": 0}}, "classify.cnn.filters", "0"),
    ({"cnn": {"dense": [32, 0]}}, "classify.cnn.dense", "[32, 0]"),
    ({"cnn": {"learning_rate": -1.0}}, "classify.cnn.learning_rate", "-1.0"),
    ({"cnn": {"batch_size": 0}}, "classify.cnn.batch_size", "0"),
    ({"cnn": {"max_epochs": 0}}, "classify.cnn.max_epochs", "0"),
    ({"cnn": {"patience": 0}}, "classify.cnn.patience", "0"),
    ({"cnn": {"val_fraction": 0.0}}, "classify.cnn.val_fraction", "0.0"),
    ({"svm": {"C": 0}}, "classify.svm.C", "0"),
    ({"svm": {"gamma": -0.5}}, "classify.svm.gamma", "-0.5"),
    ({"svm": {"kernel": "linear"}}, "classify.svm.kernel", "'linear'"),
    ({"likelihood": {"flux": "fixed"}}, "classify.likelihood.flux", "'fixed'"),
    ({"likelihood": {"outer_radius_px": 0}}, "classify.likelihood.outer_radius_px", "0"),
])
def test_classify_params_refuse_bad_values(override, name, value):
    msg = _message(lambda: from_params(ClassifyParams, override, "classify"))
    assert name in msg and value in msg and "allowed" in msg, msg


@pytest.mark.parametrize("override, name, value", [
    ({"psf_models": ["S1", "S7"]}, "classify.psf_models", "['S1', 'S7']"),
    ({"classifier_stars": [2000, 12001]}, "classify.classifier_stars", "[2000, 12001]"),
    ({"n_train": 10001}, "classify.n_train", "10001"),
    ({"pca_mlp": {"n_components": 1025}}, "classify.pca_mlp.n_components", "1025"),
    ({"likelihood": {"outer_radius_px": 40.0}}, "classify.likelihood.outer_radius_px", "40.0"),
])
def test_classify_params_refuse_values_beyond_the_other_sections(override, name, value):
    from starsed.stages.classify import check_against_params

    c, psf = from_params(ClassifyParams, override, "classify"), PSFModelsParams()
    assert psf.names == ["S1", "S2", "S3", "S4", "S5", "S6"]
    check_against_params(from_params(ClassifyParams, {}, "classify"), psf, Telescope(), 12000, 1000)
    msg = _message(lambda: check_against_params(c, psf, Telescope(), 12000, 1000))
    assert name in msg and value in msg and "allowed" in msg, msg


def test_method_configs_are_the_params_sections():
    c = from_params(ClassifyParams, {"svm": {"C": 2}, "cnn": {"dense": [16]}}, "classify")
    assert c.svm == SVMConfig(C=2.0) and isinstance(c.svm.C, float) and c.cnn.dense == (16,)
    assert c.pca_mlp == PCAMLPConfig() and c.likelihood == LikelihoodConfig()
    from starsed.stages.classify import make_classifier

    w = toy_seds()
    assert make_classifier("svm_psf_s1", c, w, seed=4).config is c.svm
    stacked = make_classifier("svm_like_gt", c, w, seed=4)
    assert (stacked.svm.C, stacked.svm.gamma, stacked.svm.seed) == (2.0, 1.0 / 21, 4)
    bayes = make_classifier("bayes_gt", c, w, seed=4)
    assert bayes.flux == "unit" and make_classifier("likelihood_gt", c, w, seed=4).config is c.likelihood
    with pytest.raises(ConfigError, match="unknown classifier method"):
        make_classifier("knn", c, w, seed=0)


def _stage_cfg(**classify):
    from starsed.params import Sections

    return Sections("default", {"telescope": Telescope(), "psf_models": PSFModelsParams(),
                                "classify": from_params(ClassifyParams, classify, "classify")})


def _no_work(monkeypatch):
    """Make every expensive step of the classify stage fail loudly."""
    from starsed.stages import classify

    def boom(*args, **kw):
        raise AssertionError("the stage started working before checking its parameters")

    for name in ("load_pool", "psf_model_stats", "run_classification"):
        monkeypatch.setattr(classify, name, boom)
    monkeypatch.setattr(classify.PSFStats, "from_mono", boom)


def test_stage_refuses_a_missing_psf_model_before_any_work(tmp_path, monkeypatch):
    from starsed.stages import classify

    _no_work(monkeypatch)
    (tmp_path / "S1.h5").write_bytes(b"")                 # S1 is there, S2 is not
    kw = dict(main_path=tmp_path / "main.h5", second_path=tmp_path / "second.h5", seds_path=tmp_path / "seds.h5",
              models_dir=tmp_path, root=tmp_path, progress=False)
    msg = _message(lambda: classify.run(_stage_cfg(psf_models=["S1", "S2"]), **kw))
    assert "S2" in msg and "classify.psf_models" in msg and str(tmp_path / "S2.h5") in msg
    msg = _message(lambda: classify.run(_stage_cfg(psf_models=["S1", "S9"]), **kw))
    assert "classify.psf_models" in msg and "['S1', 'S9']" in msg and "allowed" in msg
    assert not (tmp_path / "metrics").exists()


def test_stage_refuses_rows_outside_the_pool_before_any_work(tmp_path, monkeypatch):
    from starsed.io import write_h5
    from starsed.stages import classify

    _no_work(monkeypatch)
    (tmp_path / "S1.h5").write_bytes(b"")
    write_h5(tmp_path / "main.h5", {"train": {"labels": np.zeros(300, int)}, "test": {"labels": np.zeros(100, int)}})
    write_h5(tmp_path / "second.h5", {"test": {"labels": np.zeros(100, int)}})
    kw = dict(main_path=tmp_path / "main.h5", second_path=tmp_path / "second.h5", seds_path=tmp_path / "seds.h5",
              models_dir=tmp_path, root=tmp_path, progress=False)
    msg = _message(lambda: classify.run(_stage_cfg(psf_models=["S1"]), **kw))
    assert "classify.classifier_stars" in msg and "[2000, 12000]" in msg and "300 stars" in msg
    msg = _message(lambda: classify.run(_stage_cfg(psf_models=["S1"], classifier_stars=[100, 300], n_train=250,
                                                   n_test=60), **kw))
    assert "classify.n_train" in msg and "250" in msg and "allowed: at most 240" in msg


def test_the_template_fit_refines_a_wrong_offset_per_class():
    """A star at offset t, PSFs rendered at t + 0.05 px: with the shift derivatives the fit of the
    true class is nearly exact again, without them it is not."""
    import dataclasses

    from starsed.classifiers.features import PSFStats
    from starsed.optics import Optics
    from starsed.physics.telescope import Telescope
    from starsed.realism.offsets import tilt_um

    tel = dataclasses.replace(Telescope(), pupil_samples=64)
    optics = Optics(tel, 10, "double")
    rng = np.random.default_rng(2)
    z = np.zeros((3, 10))
    z[:, 3:] = rng.normal(0, 0.03, (3, 7))
    true_px = rng.uniform(-0.4, 0.4, (3, 2))
    wrong_px = true_px + 0.05

    def mono(off):
        zz = z.copy()
        zz[:, 1:3] += tilt_um(off, tel)
        return optics.stamps(zz)["mono"]

    w = rng.dirichlet(np.ones(8), 13)
    labels = np.array([2, 7, 11])
    stars = np.einsum("nk,nkij->nij", w[labels], mono(true_px))
    h = 0.01
    dm = np.stack([(mono(wrong_px + e) - mono(wrong_px - e)) / (2 * h) for e in h * np.eye(2)], axis=2)
    plain = PSFStats.from_mono(mono(wrong_px), stars)
    refined = PSFStats.from_mono(mono(wrong_px), stars, dmono=dm)
    assert np.allclose(refined.take([0, 2]).xh, plain.take([0, 2]).xh)
    for flux in ("free", "unit"):
        r0 = plain.template_residuals(w, flux)[np.arange(3), labels]
        r1 = refined.template_residuals(w, flux, shift=True)[np.arange(3), labels]
        assert np.all(r1 < 0.01 * r0), (flux, r0, r1)
        assert np.all(np.argmin(refined.template_residuals(w, flux, shift=True), axis=1) == labels)
