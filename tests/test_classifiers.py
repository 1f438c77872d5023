"""Every classifier on a small simulated set (P = 32 pupil): above chance, determinism."""
import dataclasses

import numpy as np
import pytest

from starsed.classifiers import (CNNClassifier, LikelihoodClassifier, PCAMLPCommittee, SVMPSF,
                                 StackedSVM, class_to_target, crop_centre, realisation_splits,
                                 target_to_class, validation_split)
from starsed.config import ConfigError, FieldSpec, Telescope
from starsed.features import PSFStats
from starsed.metrics.classification import accuracy, within_one_accuracy
from starsed.simulate import ExposurePlan, simulate_exposure

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
    exact = LikelihoodClassifier(toy_seds(), flux="unit")
    pred = exact.predict(te["noiseless"], mono=te["mono"], sigma=np.full(len(te["labels"]), 1e-6))
    assert accuracy(te["labels"], pred) == 1.0
    free = LikelihoodClassifier(toy_seds(), flux="free")
    stats = PSFStats.from_mono(te["mono"], te["noiseless"])
    pred = free.predict(te["noiseless"], stats=stats, sigma=np.full(len(pred), 1e-6))
    assert accuracy(te["labels"], pred) >= 0.99
    with pytest.raises(ConfigError, match="mono/stats"):
        free.predict(te["noiseless"])


def test_stacked_svm_above_chance(data):
    acc, _, _ = _score(StackedSVM(toy_seds(), seed=0), data, mono=lambda d: d["mono"])
    assert acc > 3 * CHANCE


def test_pca_mlp_above_chance(data):
    clf = PCAMLPCommittee(n_members=4, max_epochs=20, patience=8, batch_size=64, seed=3)
    acc, w1, p = _score(clf, data)
    assert w1 > 0.45 and acc > 1.5 * CHANCE
    assert clf.model.count_params() == 4 * (24 * 26 + 26 + 26 * 26 + 26 + 26 + 1)
    assert clf.epochs_run <= 20 and clf.best_epoch.shape == (4,)
    # probabilities = the committee's histogram of rounded member predictions
    assert set(np.unique(np.round(p * 4, 6))) <= {0.0, 1.0, 2.0, 3.0, 4.0}


def test_cnn_above_chance(data):
    clf = CNNClassifier(learning_rate=3e-3, batch_size=64, max_epochs=20, patience=6, seed=5)
    assert clf.build().count_params() == 43981
    acc, w1, _ = _score(clf, data)
    assert acc > 2 * CHANCE and w1 > 0.45


@pytest.mark.parametrize("cls, kw", [(PCAMLPCommittee, dict(n_members=3, max_epochs=3, batch_size=32)),
                                     (CNNClassifier, dict(max_epochs=3, batch_size=32, learning_rate=1e-3))])
def test_keras_classifiers_deterministic(data, cls, kw):
    x, y = data["train"]["noisy"][:150], data["train"]["labels"][:150]
    p1 = cls(seed=11, **kw).fit(x, y).predict_proba(data["test"]["noisy"][:50])
    p2 = cls(seed=11, **kw).fit(x, y).predict_proba(data["test"]["noisy"][:50])
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
        CNNClassifier(crop=10)
    with pytest.raises(ConfigError, match="svm.gamma"):
        SVMPSF(gamma=0)
    with pytest.raises(ConfigError, match="n_train"):
        realisation_splits(50, 100, 10, 3, seed=1)


def test_run_classification_end_to_end(data):
    from starsed.classifiers import (bayes_gap_rows, classification_rows, confusion_total, per_class_mean,
                                     run_classification, snr_curve, summarise_runs)

    tr, te = data["train"], data["test"]
    pool = {k: tr[k][:240] for k in ("noisy", "labels", "snr", "sigma")}
    stats = {"gt": PSFStats.from_mono(tr["mono"][:240], pool["noisy"])}
    second = {k: te[k][:60] for k in ("noisy", "labels", "snr", "sigma")}
    section = {"seed": 1, "realisations": 2, "n_train": 200, "n_test": 40, "stacked": ["gt"],
               "pca_mlp": {"n_members": 2, "max_epochs": 2, "batch_size": 64},
               "cnn": {"max_epochs": 2, "batch_size": 64},
               "svm": {"C": 1.0, "gamma": 0.125}, "likelihood": {"flux": "free", "outer_radius_px": 10.0}}
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
