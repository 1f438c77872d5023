"""PCA + a committee of MLPs (after Kuntzer et al. 2016; docs/reference.md, Classifiers)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics.classification import N_CLASSES
from ..params import Section, param, positive, require
from .base import Classifier, check_labels, check_stars, class_to_target, target_to_class, timer, validation_split
from .keras_utils import STEPS_PER_EXECUTION, heads_dense_layer, keras, per_head_early_stopping, tqdm_callback

__all__ = ["PCAMLPConfig", "PCAMLPCommittee"]


def _fraction(v) -> bool:
    return 0.0 < v < 1.0


@dataclass(frozen=True)
class PCAMLPConfig(Section):
    """The ``classify.pca_mlp`` params section: PCA components, committee size, the
    members' hidden width, Adam's learning rate, epochs, early-stopping patience,
    mini-batch size and the validation fraction of the training stars."""

    SECTION = "classify.pca_mlp"

    n_components: int = param(24, check=positive, allowed="an integer >= 1")
    n_members: int = param(48, check=positive, allowed="an integer >= 1")
    hidden: int = param(26, check=positive, allowed="an integer >= 1")
    learning_rate: float = param(0.1, check=positive, allowed="a positive number")
    max_epochs: int = param(100, check=positive, allowed="an integer >= 1")
    patience: int = param(20, check=positive, allowed="an integer >= 1")
    batch_size: int = param(256, check=positive, allowed="an integer >= 1",
                            doc="ours (fast); the paper profile uses 32 (Keras' default)")
    val_fraction: float = param(0.1, check=_fraction, allowed="a number in (0, 1)")


class PCAMLPCommittee(Classifier):
    """PCA + committee of MLPs regressing C = 0.5 class + 1.5 (after Kuntzer et al. 2016).

    PCA (``n_components``) is fitted on the training stars' pixels; its
    coefficients are standardised with training-set statistics. ``n_members``
    MLPs ``n_components -> hidden sigmoid -> hidden sigmoid -> 1 linear`` with
    independent random initialisations are trained together as one Keras model
    (parallel heads) on the same mini-batches, MSE loss, Adam(``learning_rate``),
    at most ``max_epochs`` epochs, each member early-stopped on a seeded
    validation split (``val_fraction`` of the training stars) with ``patience``.
    ``predict`` = the committee mean rounded to a class; ``predict_proba`` = the
    histogram of the members' rounded predictions (the committee's spread).
    """

    name = "pca_mlp"

    def __init__(self, config: PCAMLPConfig | None = None, *, seed: int = 0, progress: bool = False):
        self.config = PCAMLPConfig() if config is None else config
        self.seed, self.progress = seed, progress

    def _pcs(self, stars) -> np.ndarray:
        x = check_stars(stars).reshape(len(stars), -1).astype(np.float64)
        return ((self.pca.transform(x) - self.mean_) / self.scale_).astype(np.float32)

    def _build(self):
        k, c = keras(), self.config
        Heads = heads_dense_layer()
        inp = k.Input((c.n_components,))
        h = Heads(c.n_members, c.hidden, "sigmoid", seed=self.seed, name="hidden1")(inp)
        h = Heads(c.n_members, c.hidden, "sigmoid", seed=self.seed + 1, name="hidden2")(h)
        out = Heads(c.n_members, 1, None, seed=self.seed + 2, name="output")(h)
        out = k.layers.Reshape((c.n_members,), name="members")(out)
        return k.Model(inp, out, name="pca_mlp_committee")

    def fit(self, stars, labels, **aux):
        from sklearn.decomposition import PCA

        k, c = keras(), self.config
        t0 = timer()
        stars = check_stars(stars)
        labels = check_labels(labels, len(stars))
        require(c.n_components <= min(len(stars), stars.shape[1] * stars.shape[2]),
                "classify.pca_mlp.n_components", c.n_components, "at most min(n_stars, n_pixels)")
        tr, va = validation_split(len(stars), c.val_fraction, self.seed)
        # covariance + eigh: exact PCA, deterministic, and fast for 1024 pixels x many stars
        self.pca = PCA(c.n_components, svd_solver="covariance_eigh").fit(
            stars[tr].reshape(len(tr), -1).astype(np.float64))
        raw = self.pca.transform(stars[tr].reshape(len(tr), -1).astype(np.float64))
        self.mean_, self.scale_ = raw.mean(axis=0), raw.std(axis=0) + 1e-12
        x, y = self._pcs(stars), class_to_target(labels).astype(np.float32)
        k.utils.set_random_seed(self.seed)
        self.model = self._build()
        self.model.compile(optimizer=k.optimizers.Adam(c.learning_rate), loss="mse",
                           steps_per_execution=STEPS_PER_EXECUTION)
        stopper = per_head_early_stopping(x[va], y[va], c.patience)
        y_tr = np.repeat(y[tr, None], c.n_members, axis=1)
        self.history = self.model.fit(
            x[tr], y_tr, batch_size=c.batch_size, epochs=c.max_epochs, shuffle=True,
            verbose=0, callbacks=[stopper] + tqdm_callback(c.max_epochs, "PCA+MLP", self.progress))
        self.epochs_run = len(self.history.history["loss"])
        self.best_epoch = stopper.best_epoch
        self.fit_seconds = timer() - t0
        return self

    def predict_members(self, stars) -> np.ndarray:
        """Each member's regressed target C, shape (N, n_members)."""
        return np.asarray(self.model.predict(self._pcs(stars), batch_size=4096, verbose=0), np.float64)

    def predict(self, stars, **aux) -> np.ndarray:
        """The committee mean rounded to the nearest class (clipped to 0..12)."""
        return target_to_class(self.predict_members(stars).mean(axis=1))

    def predict_proba(self, stars, **aux) -> np.ndarray:
        """Histogram of the members' rounded predictions (fraction of the committee per class)."""
        cls = target_to_class(self.predict_members(stars))
        counts = np.zeros((len(cls), N_CLASSES))
        np.add.at(counts, (np.repeat(np.arange(len(cls)), cls.shape[1]), cls.ravel()), 1.0)
        return counts / cls.shape[1]

    def reconstruct(self, stars) -> np.ndarray:
        """Stars projected on the PCA components and back (for figure 7)."""
        x = check_stars(stars).reshape(len(stars), -1).astype(np.float64)
        return self.pca.inverse_transform(self.pca.transform(x)).reshape(np.shape(stars))
