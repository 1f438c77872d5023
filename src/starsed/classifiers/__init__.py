"""Star-SED classifiers (docs/reference.md, Classifiers): one small class per method, one interface.

Every classifier takes the noisy 32 x 32 stamps and returns class probabilities
over the 13 SED classes (O5 = 0 ... M5 = 12, hot to cool)::

    clf.fit(stars, labels, **aux)          # aux: what the method needs besides pixels
    clf.predict_proba(stars, **aux)        # (N, 13)
    clf.predict(stars, **aux)              # (N,) the method's decision
    clf.predict_within_one(stars, **aux)   # (N,) argmax_c p(c-1) + p(c) + p(c+1)

``aux`` for the PSF-aware methods is the PSF model at each star, either as its
8 monochromatic stamps ``mono`` (N, 8, 32, 32) or as precomputed
:class:`PSFStats` ``stats`` (same numbers, far less memory; from any function
giving the stamps, chunk by chunk: :meth:`PSFStats.from_predictor`).

Each method's hyper-parameters are one params section dataclass (``classify.<method>``),
passed to its constructor with the seed:

- :class:`PCAMLPCommittee` (:class:`PCAMLPConfig`): PCA to 24 components + a committee
  of 48 small MLPs (Kuntzer et al. 2016), trained as ONE Keras model with 48 parallel
  heads and per-head early stopping (:mod:`.pca_mlp`);
- :class:`CNNClassifier` (:class:`CNNConfig`): crop to the central 12 x 12, five 3x3
  valid conv + one 2x2 conv, dense 32 -> 32 -> 13 softmax (:mod:`.cnn`);
- :class:`SVMPSF` (:class:`SVMConfig`): the paper's method, an RBF SVM on the
  similarity features (:mod:`.svm_psf`);
- :class:`LikelihoodClassifier` (:class:`LikelihoodConfig`, beyond the paper): template
  fit of every class's model star with a flat prior; needs no training stars. With the
  true PSF, the true noise sigma and unit flux it is the Bayes classifier
  (:meth:`LikelihoodClassifier.bayes_limit`) (:mod:`.likelihood`);
- :class:`StackedSVM` (beyond the paper): an RBF SVM on the similarity features together
  with the likelihood posterior (:mod:`.stacked`).

The experiments that train and score them are :mod:`starsed.stages.classify`.
Importing this package imports neither Keras nor scikit-learn.
"""
from .base import Classifier, class_to_target, crop_centre, target_to_class, validation_split
from .cnn import CNNClassifier, CNNConfig
from .features import PSFStats, model_stars, similarity_distances, similarity_features, similarity_from_distances
from .likelihood import LikelihoodClassifier, LikelihoodConfig
from .pca_mlp import PCAMLPCommittee, PCAMLPConfig
from .stacked import StackedSVM
from .svm_psf import SVMPSF, SVMConfig

__all__ = ["Classifier", "PCAMLPCommittee", "PCAMLPConfig", "CNNClassifier", "CNNConfig", "SVMPSF", "SVMConfig",
           "LikelihoodClassifier", "LikelihoodConfig", "StackedSVM", "PSFStats", "similarity_distances",
           "similarity_from_distances", "similarity_features", "model_stars", "class_to_target",
           "target_to_class", "validation_split", "crop_centre"]
