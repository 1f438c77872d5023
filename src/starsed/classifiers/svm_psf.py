"""The paper's SVM+PSF: an RBF SVM on the similarity features (docs/reference.md, Classifiers)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics.classification import N_CLASSES
from ..params import Section, param, positive
from .base import Classifier, check_labels, check_stars, psf_stats, timer
from .features import similarity_features

__all__ = ["SVMConfig", "SVMPSF", "svm_pipeline", "fit_quietly"]


@dataclass(frozen=True)
class SVMConfig(Section):
    """The ``classify.svm`` params section: the RBF SVC's ``C`` and ``gamma``."""

    SECTION = "classify.svm"

    C: float = param(1.0, check=positive, allowed="a positive number")
    gamma: float = param(0.125, check=positive, allowed="a positive number")


def svm_pipeline(C: float, gamma: float, seed: int):
    """StandardScaler + SVC(rbf, ``C``, ``gamma``, probability=True, random_state=``seed``)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC(kernel="rbf", C=C, gamma=gamma, probability=True,
                                               random_state=seed))


def fit_quietly(pipeline, x, y):
    """Fit, silencing scikit-learn >= 1.9's FutureWarning about ``SVC(probability=True)``:
    the paper's method is exactly that (Platt scaling, internal 5-fold CV), kept on purpose."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*probability.*", category=FutureWarning)
        return pipeline.fit(x, y)


def full_proba(pipeline, p: np.ndarray) -> np.ndarray:
    """Probabilities over all 13 classes (0 for classes absent from the training labels)."""
    out = np.zeros((len(p), N_CLASSES))
    out[:, pipeline.classes_] = p
    return out


class SVMPSF(Classifier):
    """The paper's SVM+PSF: StandardScaler + SVC(rbf, ``C``, ``gamma``, probability=True)
    on the similarity features of a PSF model at each star (aux ``mono`` or ``stats``).
    ``predict`` is the SVC's own decision (one-vs-one votes, as in the paper);
    probabilities are sklearn's Platt-scaled estimates (internal 5-fold CV, seeded)."""

    name = "svm_psf"

    def __init__(self, config: SVMConfig | None = None, *, seed: int = 0):
        self.config = SVMConfig() if config is None else config
        self.seed = seed

    @property
    def C(self) -> float:
        return self.config.C

    @property
    def gamma(self) -> float:
        return self.config.gamma

    def features(self, stars, mono=None, stats=None) -> np.ndarray:
        stars = check_stars(stars)
        if stats is None and mono is not None:
            return similarity_features(mono, stars)
        return psf_stats(stars, mono, stats).similarity()

    def fit(self, stars, labels, mono=None, stats=None):
        t0 = timer()
        f = self.features(stars, mono, stats)
        labels = check_labels(labels, len(f))
        self.pipeline = svm_pipeline(self.C, self.gamma, self.seed)
        fit_quietly(self.pipeline, f, labels)
        self.fit_seconds = timer() - t0
        return self

    def _full(self, p: np.ndarray) -> np.ndarray:
        return full_proba(self.pipeline, p)

    def predict_proba(self, stars, mono=None, stats=None) -> np.ndarray:
        return self._full(self.pipeline.predict_proba(self.features(stars, mono, stats)))

    def predict(self, stars, mono=None, stats=None) -> np.ndarray:
        return self.pipeline.predict(self.features(stars, mono, stats)).astype(np.int64)
