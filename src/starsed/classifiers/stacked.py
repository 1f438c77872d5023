"""An RBF SVM on the similarity features and the likelihood posterior (beyond the paper;
docs/reference.md, Classifiers)."""
from __future__ import annotations

import numpy as np

from ..metrics.classification import N_CLASSES
from .base import Classifier, check_labels, check_stars, psf_stats, timer
from .likelihood import LikelihoodClassifier, LikelihoodConfig
from .svm_psf import SVMPSF, SVMConfig, fit_quietly, svm_pipeline

__all__ = ["STACKED_GAMMA", "StackedSVM"]

#: RBF gamma of the stacked SVM: 1 / (its 8 + 13 standardised features)
STACKED_GAMMA = 1.0 / (8 + N_CLASSES)


class StackedSVM(Classifier):
    """StandardScaler + RBF SVC on the 8 similarity features joined with the likelihood
    classifier's 13 log-posteriors (clipped at -50). From ``svm`` it takes ``C``; its
    gamma is :data:`STACKED_GAMMA` (``svm.gamma`` is for the 8 features alone). The
    likelihood is configured by ``likelihood``. Trained like :class:`SVMPSF`."""

    name = "svm_like"

    def __init__(self, sed_weights, svm: SVMConfig | None = None, likelihood: LikelihoodConfig | None = None,
                 *, seed: int = 0):
        svm = SVMConfig() if svm is None else svm
        self.like = LikelihoodClassifier(sed_weights, likelihood)
        self.svm = SVMPSF(SVMConfig(C=svm.C, gamma=STACKED_GAMMA), seed=seed)

    def _features(self, stars, mono, stats, sigma):
        s = psf_stats(check_stars(stars), mono, stats)
        logp = np.log(np.maximum(self.like.predict_proba(stars, stats=s, sigma=sigma), np.exp(-50.0)))
        return np.concatenate([s.similarity(), logp], axis=1)

    def fit(self, stars, labels, mono=None, stats=None, sigma=None):
        t0 = timer()
        f = self._features(stars, mono, stats, sigma)
        labels = check_labels(labels, len(f))
        self.pipeline = svm_pipeline(self.svm.C, self.svm.gamma, self.svm.seed)
        fit_quietly(self.pipeline, f, labels)
        self.svm.pipeline = self.pipeline
        self.fit_seconds = timer() - t0
        return self

    def predict_proba(self, stars, mono=None, stats=None, sigma=None) -> np.ndarray:
        return self.svm._full(self.pipeline.predict_proba(self._features(stars, mono, stats, sigma)))

    def predict(self, stars, mono=None, stats=None, sigma=None) -> np.ndarray:
        return self.pipeline.predict(self._features(stars, mono, stats, sigma)).astype(np.int64)
