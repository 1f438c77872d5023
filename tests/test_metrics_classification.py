"""Classification metrics against hand-computed confusion matrices."""
import numpy as np
import pytest

import starsed.metrics as metrics
from starsed.params import ConfigError
from starsed.metrics.classification import (accuracy, accuracy_by_snr, confusion_matrix,
                                            expected_calibration_error, macro_f1, per_class_scores,
                                            reliability_curve, summary, top_k_accuracy,
                                            within_one_accuracy, within_one_decision)

# 3 classes, 6 stars
TRUE = np.array([0, 0, 1, 1, 2, 2])
PRED = np.array([0, 1, 1, 2, 0, 2])


def test_package_reexports():
    for name in metrics.classification.__all__:
        assert getattr(metrics, name) is getattr(metrics.classification, name)


def test_confusion_accuracy_within_one():
    cm = confusion_matrix(TRUE, PRED, 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 1], [1, 0, 1]])
    assert accuracy(TRUE, PRED, 3) == pytest.approx(3 / 6)
    # |d| = 0 1 0 1 2 0 -> 5 of 6 within one
    assert within_one_accuracy(TRUE, PRED, 3) == pytest.approx(5 / 6)


def test_f1_by_hand():
    s = per_class_scores(TRUE, PRED, 3)
    # every class: tp 1, support 2, predicted 2 -> P = R = F1 = 0.5
    np.testing.assert_allclose(s["recall"], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(s["f1"], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(s["within_one"], [1.0, 1.0, 0.5])
    np.testing.assert_array_equal(s["support"], [2, 2, 2])
    assert macro_f1(TRUE, PRED, 3) == pytest.approx(0.5)
    # asymmetric case: class 0 never predicted -> F1 0; class 1: P 2/3? check vs hand
    t = np.array([0, 0, 1, 1, 1])
    p = np.array([1, 1, 1, 1, 0])
    # cm = [[0,2],[1,2]]: class0 P=0 R=0 F1=0; class1 P=2/4 R=2/3 F1=2*(.5*.6667)/(1.1667)=0.5714
    s = per_class_scores(t, p, 2)
    np.testing.assert_allclose(s["f1"], [0.0, 4 / 7])
    assert macro_f1(t, p, 2) == pytest.approx(2 / 7)
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 13, 200), rng.integers(0, 13, 200)
    assert macro_f1(t, p) == pytest.approx(f1_score(t, p, average="macro"))


def test_top_k_and_within_one_decision():
    proba = np.array([[0.5, 0.3, 0.2, 0.0],
                      [0.4, 0.0, 0.3, 0.3],
                      [0.1, 0.2, 0.3, 0.4]])
    t = np.array([1, 1, 0])
    # top-2 sets: {0,1}, {0,2 or 3 -> stable tie: 2}, {3,2}
    assert top_k_accuracy(t, proba, 1, 4) == 0.0
    assert top_k_accuracy(t, proba, 2, 4) == pytest.approx(1 / 3)
    # windows: row 0: [0.8,1.0,0.5,0.2] -> 1 ; row 1: [0.4,0.7,0.6,0.6] -> 1 ; row 2: [.3,.6,.9,.7] -> 2
    np.testing.assert_array_equal(within_one_decision(proba), [1, 1, 2])


def test_snr_bins_and_calibration():
    t = np.array([0, 1, 2, 3])
    p = np.array([0, 2, 2, 0])
    r = accuracy_by_snr(t, p, [25, 50, 60, 110], [20, 40, 80, 110], 4)
    np.testing.assert_array_equal(r["count"], [1, 2, 1])
    np.testing.assert_allclose(r["accuracy"], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(r["within_one"], [1.0, 1.0, 0.0])
    # a perfectly calibrated toy: confidence 0.75 and 3 of 4 right
    proba = np.tile([0.75, 0.25], (4, 1))
    assert expected_calibration_error(np.array([0, 0, 0, 1]), proba, 10, 2) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([1, 1, 1, 1]), proba, 10, 2) == pytest.approx(0.75)
    rc = reliability_curve(np.array([0, 0, 0, 1]), proba, 4, 2)
    np.testing.assert_array_equal(rc["count"], [0, 0, 0, 4])  # 0.75 opens the last bin
    assert rc["confidence"][3] == pytest.approx(0.75) and rc["accuracy"][3] == pytest.approx(0.75)
    out = summary(np.array([0, 0, 0, 1]), proba=proba, n_classes=2)
    assert out["accuracy"] == 0.75 and out["top2"] == 1.0


def test_errors_name_the_parameter():
    with pytest.raises(ConfigError, match="y_true"):
        accuracy([0, 13], [0, 1])
    with pytest.raises(ConfigError, match="y_pred shape"):
        accuracy([0, 1], [0])
    with pytest.raises(ConfigError, match="proba shape"):
        top_k_accuracy([0, 1], np.ones((2, 3)))
