"""The classifier interface and the helpers every method shares.

Classes are ordered, O5 = 0 ... M5 = 12 (hot to cool). Kuntzer et al.'s
regression target is ``C = 0.5 x class + 1.5`` (:func:`class_to_target`).
"""
from __future__ import annotations

import time

import numpy as np

from ..metrics.classification import N_CLASSES, within_one_decision
from ..params import require
from .features import PSFStats

__all__ = ["Classifier", "class_to_target", "target_to_class", "validation_split", "crop_centre",
           "check_stars", "check_labels", "psf_stats", "timer"]


def class_to_target(labels) -> np.ndarray:
    """Kuntzer's regression target C = 0.5 x class + 1.5."""
    return 0.5 * np.asarray(labels, np.float64) + 1.5


def target_to_class(target, n_classes: int = N_CLASSES) -> np.ndarray:
    """Inverse of :func:`class_to_target`, rounded to the nearest class and clipped to 0..n-1."""
    return np.clip(np.rint((np.asarray(target, np.float64) - 1.5) / 0.5), 0, n_classes - 1).astype(np.int64)


def validation_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random (train, validation) indices of ``n`` stars; ``fraction`` of them validate."""
    require(0.0 < fraction < 1.0, "val_fraction", fraction, "a number in (0, 1)")
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(fraction * n)))
    require(n - n_val >= 1, "val_fraction", fraction, f"a fraction leaving training stars out of {n}")
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def crop_centre(stars: np.ndarray, size: int) -> np.ndarray:
    """The central ``size`` x ``size`` pixels (rows/columns n/2 - size/2 .. n/2 + size/2 - 1)."""
    n = stars.shape[-1]
    require(0 < size <= n, "crop", size, f"1..{n}")
    a = n // 2 - size // 2
    return stars[..., a:a + size, a:a + size]


def check_stars(stars) -> np.ndarray:
    """``stars`` as an array of square stamps (N, n, n)."""
    stars = np.asarray(stars)
    require(stars.ndim == 3 and stars.shape[1] == stars.shape[2], "stars shape", stars.shape,
            "(N, n, n)")
    return stars


def check_labels(labels, n: int) -> np.ndarray:
    """``labels`` as int64 classes 0..12, one per star."""
    labels = np.asarray(labels)
    require(labels.shape == (n,), "labels shape", labels.shape, f"({n},)")
    require(labels.min() >= 0 and labels.max() < N_CLASSES, "labels", (labels.min(), labels.max()),
            f"integers in 0..{N_CLASSES - 1}")
    return labels.astype(np.int64)


def psf_stats(stars, mono, stats) -> PSFStats:
    """The PSF statistics at each star from exactly one of ``mono`` (N, 8, n, n) or ``stats``."""
    require((mono is None) != (stats is None), "mono/stats", "both" if mono is not None else "neither",
            "exactly one of mono=(N, 8, n, n) or stats=PSFStats")
    s = PSFStats.from_mono(mono, stars) if stats is None else stats
    require(len(s) == len(stars), "PSF aux length", len(s), f"one entry per star ({len(stars)})")
    return s


def timer() -> float:
    """Seconds, for ``fit_seconds``."""
    return time.perf_counter()


class Classifier:
    """Common interface; subclasses implement ``fit`` and ``predict_proba``."""

    name = "classifier"
    #: seconds spent in the last ``fit``
    fit_seconds: float = 0.0

    def fit(self, stars, labels, **aux):  # pragma: no cover - interface
        raise NotImplementedError

    def predict_proba(self, stars, **aux) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def predict(self, stars, **aux) -> np.ndarray:
        """The most probable class."""
        return np.argmax(self.predict_proba(stars, **aux), axis=1)

    def predict_within_one(self, stars, **aux) -> np.ndarray:
        """The class maximising the expected within-one accuracy."""
        return within_one_decision(self.predict_proba(stars, **aux))
