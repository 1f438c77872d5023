"""Classification metrics (docs/reference.md, Metrics).

Classes are ordered (O5 = 0 ... M5 = 12). ``accuracy`` counts the exact class;
``within_one_accuracy`` counts ``|predicted - true| <= 1`` (the paper's
"top-two", Kuntzer's "success rate"); ``top_k_accuracy`` is the usual top-k
(the true class among the k most probable). F1 is per class from the confusion
matrix (0 for a class that is never predicted nor present), macro-averaged.
"""
from __future__ import annotations

import numpy as np

from ..params import require

__all__ = [
    "N_CLASSES", "confusion_matrix", "accuracy", "within_one_accuracy", "top_k_accuracy",
    "per_class_scores", "macro_f1", "accuracy_by_snr", "reliability_curve",
    "expected_calibration_error", "within_one_decision", "summary",
]

N_CLASSES = 13


def _labels(y, name: str, n_classes: int) -> np.ndarray:
    y = np.asarray(y)
    require(y.ndim == 1, f"{name} shape", y.shape, "(N,)")
    require(np.issubdtype(y.dtype, np.integer) or np.all(np.mod(y, 1) == 0), name, y[:5],
            "integer class labels")
    y = y.astype(np.int64)
    require(y.size == 0 or (y.min() >= 0 and y.max() < n_classes), name,
            (int(y.min()), int(y.max())) if y.size else (), f"labels in 0..{n_classes - 1}")
    return y


def _pair(y_true, y_pred, n_classes: int):
    t, p = _labels(y_true, "y_true", n_classes), _labels(y_pred, "y_pred", n_classes)
    require(t.shape == p.shape, "y_pred shape", p.shape, f"the shape of y_true {t.shape}")
    require(t.size > 0, "y_true", "empty", "at least one star")
    return t, p


def _proba(proba, n: int, n_classes: int) -> np.ndarray:
    p = np.asarray(proba, np.float64)
    require(p.shape == (n, n_classes), "proba shape", p.shape, f"({n}, {n_classes})")
    return p


def confusion_matrix(y_true, y_pred, n_classes: int = N_CLASSES) -> np.ndarray:
    """Counts ``cm[true, predicted]``, shape (n_classes, n_classes), int64."""
    t, p = _pair(y_true, y_pred, n_classes)
    return np.bincount(t * n_classes + p, minlength=n_classes ** 2).reshape(n_classes, n_classes)


def accuracy(y_true, y_pred, n_classes: int = N_CLASSES) -> float:
    """Fraction of stars with the exact class."""
    t, p = _pair(y_true, y_pred, n_classes)
    return float(np.mean(t == p))


def within_one_accuracy(y_true, y_pred, n_classes: int = N_CLASSES) -> float:
    """Fraction with ``|predicted - true| <= 1`` (the paper's "top-two")."""
    t, p = _pair(y_true, y_pred, n_classes)
    return float(np.mean(np.abs(t - p) <= 1))


def top_k_accuracy(y_true, proba, k: int = 2, n_classes: int = N_CLASSES) -> float:
    """Fraction whose true class is among the ``k`` most probable (ties broken by class order)."""
    t = _labels(y_true, "y_true", n_classes)
    p = _proba(proba, len(t), n_classes)
    require(1 <= k <= n_classes, "k", k, f"1..{n_classes}")
    top = np.argsort(-p, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == t[:, None], axis=1)))


def per_class_scores(y_true, y_pred, n_classes: int = N_CLASSES) -> dict[str, np.ndarray]:
    """Per true class: ``recall`` (= per-class accuracy), ``precision``, ``f1``,
    ``within_one`` and ``support``; each an array of length ``n_classes``.
    Undefined ratios (no star of / predicted as a class) are 0."""
    t, p = _pair(y_true, y_pred, n_classes)
    cm = confusion_matrix(t, p, n_classes).astype(np.float64)
    tp = np.diag(cm)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, tp / support, 0.0)
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    near = np.abs(np.arange(n_classes)[:, None] - np.arange(n_classes)[None, :]) <= 1
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(support > 0, (cm * near).sum(axis=1) / support, 0.0)
    return {"recall": recall, "precision": precision, "f1": f1, "within_one": within,
            "support": support.astype(np.int64)}


def macro_f1(y_true, y_pred, n_classes: int = N_CLASSES) -> float:
    """Per-class F1 averaged over the classes present in ``y_true`` or ``y_pred``."""
    t, p = _pair(y_true, y_pred, n_classes)
    f1 = per_class_scores(t, p, n_classes)["f1"]
    present = np.zeros(n_classes, bool)
    present[t] = True
    present[p] = True
    return float(f1[present].mean())


def accuracy_by_snr(y_true, y_pred, snr, edges, n_classes: int = N_CLASSES) -> dict[str, np.ndarray]:
    """Accuracy and within-one accuracy in SNR bins ``[edges[i], edges[i+1])``
    (the last bin closed). Empty bins give NaN. Returns ``edges``, ``centres``,
    ``count``, ``accuracy``, ``within_one``."""
    t, p = _pair(y_true, y_pred, n_classes)
    snr = np.asarray(snr, np.float64)
    edges = np.asarray(edges, np.float64)
    require(snr.shape == t.shape, "snr shape", snr.shape, f"{t.shape}")
    require(edges.ndim == 1 and len(edges) >= 2 and np.all(np.diff(edges) > 0), "snr edges",
            edges.tolist(), "an increasing list of at least 2 values")
    idx = np.clip(np.searchsorted(edges, snr, side="right") - 1, 0, len(edges) - 2)
    inside = (snr >= edges[0]) & (snr <= edges[-1])
    nb = len(edges) - 1
    count = np.bincount(idx[inside], minlength=nb)
    hit = np.bincount(idx[inside], weights=(t == p)[inside], minlength=nb)
    near = np.bincount(idx[inside], weights=(np.abs(t - p) <= 1)[inside], minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"edges": edges, "centres": 0.5 * (edges[1:] + edges[:-1]), "count": count,
                "accuracy": np.where(count > 0, hit / count, np.nan),
                "within_one": np.where(count > 0, near / count, np.nan)}


def reliability_curve(y_true, proba, n_bins: int = 10, n_classes: int = N_CLASSES) -> dict[str, np.ndarray]:
    """Reliability-diagram data for the top-1 prediction, in ``n_bins`` equal
    confidence bins over [0, 1]: ``edges``, ``count``, ``confidence`` (mean top
    probability), ``accuracy`` (fraction correct); NaN in empty bins."""
    t = _labels(y_true, "y_true", n_classes)
    p = _proba(proba, len(t), n_classes)
    require(isinstance(n_bins, (int, np.integer)) and n_bins >= 1, "n_bins", n_bins, "an integer >= 1")
    conf = p.max(axis=1)
    correct = (np.argmax(p, axis=1) == t).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"edges": edges, "count": count,
                "confidence": np.where(count > 0, np.bincount(idx, conf, n_bins) / count, np.nan),
                "accuracy": np.where(count > 0, np.bincount(idx, correct, n_bins) / count, np.nan)}


def expected_calibration_error(y_true, proba, n_bins: int = 10, n_classes: int = N_CLASSES) -> float:
    """ECE of the top-1 prediction: sum over bins of (n_bin / N) |accuracy - confidence|."""
    r = reliability_curve(y_true, proba, n_bins, n_classes)
    w = r["count"] / r["count"].sum()
    gap = np.nan_to_num(np.abs(r["accuracy"] - r["confidence"]))
    return float(np.sum(w * gap))


def within_one_decision(proba) -> np.ndarray:
    """The class maximising ``p(c-1) + p(c) + p(c+1)`` (ends: missing neighbour = 0),
    i.e. the decision that maximises the expected within-one accuracy."""
    p = np.asarray(proba, np.float64)
    require(p.ndim == 2, "proba shape", p.shape, "(N, n_classes)")
    padded = np.pad(p, ((0, 0), (1, 1)))
    window = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]
    return np.argmax(window, axis=1)


def summary(y_true, y_pred=None, proba=None, n_classes: int = N_CLASSES) -> dict[str, float]:
    """accuracy, within_one, f1 (macro) of ``y_pred`` (default: argmax of ``proba``);
    with ``proba`` also top2, ECE and ``within_one_opt`` (within-one accuracy of
    :func:`within_one_decision`)."""
    require(y_pred is not None or proba is not None, "y_pred/proba", None, "at least one of them")
    if y_pred is None:
        y_pred = np.argmax(np.asarray(proba), axis=1)
    out = {"accuracy": accuracy(y_true, y_pred, n_classes),
           "within_one": within_one_accuracy(y_true, y_pred, n_classes),
           "f1": macro_f1(y_true, y_pred, n_classes)}
    if proba is not None:
        out["top2"] = top_k_accuracy(y_true, proba, 2, n_classes)
        out["ece"] = expected_calibration_error(y_true, proba, 10, n_classes)
        out["within_one_opt"] = within_one_accuracy(y_true, within_one_decision(proba), n_classes)
    return out
