"""Star-SED classifiers (REFERENCE §5), one small class per method, one interface.

Every classifier takes the noisy 32 x 32 stamps and returns class probabilities
over the 13 SED classes (O5 = 0 ... M5 = 12, hot to cool)::

    clf.fit(stars, labels, **aux)          # aux: what the method needs besides pixels
    clf.predict_proba(stars, **aux)        # (N, 13)
    clf.predict(stars, **aux)              # (N,) the method's decision
    clf.predict_within_one(stars, **aux)   # (N,) argmax_c p(c-1) + p(c) + p(c+1)

``aux`` for the PSF-aware methods is the PSF model at each star, either as its
8 monochromatic stamps ``mono`` (N, 8, 32, 32) or as precomputed
:class:`~starsed.features.PSFStats` ``stats`` (same numbers, far less memory).

- :class:`PCAMLPCommittee`: PCA to 24 components + a committee of 48 small MLPs
  (Kuntzer et al. 2016), trained as ONE Keras model with 48 parallel heads and
  per-head early stopping. ``predict`` = the committee mean rounded to a class;
  ``predict_proba`` = the histogram of the 48 members' rounded predictions
  (the committee's spread), so top-2 and calibration are those of the committee.
- :class:`CNNClassifier`: crop to the central 12 x 12, five 3x3 valid conv + one
  2x2 conv (32 filters, ReLU), dense 32 -> 32 -> 13 softmax (43,981 parameters).
- :class:`SVMPSF`: the paper's method, an RBF SVM on the similarity features.
- :class:`LikelihoodClassifier` (beyond the paper): template fit of every class's
  model star with a flat prior; needs no training stars. With the true PSF,
  the true noise sigma and unit flux it is the Bayes classifier.
- :class:`StackedSVM` (beyond the paper): an RBF SVM on the similarity features
  together with the likelihood posterior.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from .config import ConfigError, require
from .features import PSFStats, estimate_sigma, similarity_features
from .metrics.classification import N_CLASSES, within_one_decision

__all__ = ["Classifier", "PCAMLPCommittee", "CNNClassifier", "SVMPSF", "LikelihoodClassifier",
           "StackedSVM", "class_to_target", "target_to_class", "validation_split", "crop_centre",
           "PUBLISHED", "PUBLISHED_GENERALISATION", "PUBLISHED_RECALL", "realisation_splits", "method_keys",
           "make_classifier", "method_aux", "run_classification", "summarise_runs"]


#: Keras runs this many optimiser steps per call (same results, less per-step overhead
#: for these small models)
STEPS_PER_EXECUTION = 16


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


def _check_stars(stars) -> np.ndarray:
    stars = np.asarray(stars)
    require(stars.ndim == 3 and stars.shape[1] == stars.shape[2], "stars shape", stars.shape,
            "(N, n, n)")
    return stars


def _check_labels(labels, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    require(labels.shape == (n,), "labels shape", labels.shape, f"({n},)")
    require(labels.min() >= 0 and labels.max() < N_CLASSES, "labels", (labels.min(), labels.max()),
            f"integers in 0..{N_CLASSES - 1}")
    return labels.astype(np.int64)


def _stats(stars, mono, stats) -> PSFStats:
    require((mono is None) != (stats is None), "mono/stats", "both" if mono is not None else "neither",
            "exactly one of mono=(N, 8, n, n) or stats=PSFStats")
    s = PSFStats.from_mono(mono, stars) if stats is None else stats
    require(len(s) == len(stars), "PSF aux length", len(s), f"one entry per star ({len(stars)})")
    return s


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


# --------------------------------------------------------------------------- Keras pieces
def _keras():
    import keras

    return keras


def heads_dense_layer():
    """A Keras layer of ``heads`` independent dense layers applied in parallel:
    input (B, in) shared by all heads or (B, heads, in) -> (B, heads, units)."""
    keras = _keras()
    from keras import ops

    class HeadsDense(keras.layers.Layer):
        def __init__(self, heads: int, units: int, activation=None, seed: int | None = None, **kw):
            super().__init__(**kw)
            self.heads, self.units, self.seed = heads, units, seed
            self.activation = keras.activations.get(activation)

        def build(self, input_shape):
            fan_in = input_shape[-1]
            limit = float(np.sqrt(6.0 / (fan_in + self.units)))  # Glorot uniform per head
            self.kernel = self.add_weight(
                shape=(self.heads, fan_in, self.units), name="kernel",
                initializer=keras.initializers.RandomUniform(-limit, limit, seed=self.seed))
            self.bias = self.add_weight(shape=(self.heads, self.units), name="bias",
                                        initializer="zeros")

        def call(self, x):
            if len(x.shape) == 2:
                y = ops.einsum("bi,hio->bho", x, self.kernel)
            else:
                y = ops.einsum("bhi,hio->bho", x, self.kernel)
            return self.activation(y + self.bias)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.heads, self.units)

    return HeadsDense


def _per_head_early_stopping(x_val, y_val, patience: int):
    """Callback: each head keeps its best weights (lowest validation MSE) and stops
    improving after ``patience`` epochs without improvement, exactly as if each
    member were trained alone with ``EarlyStopping(restore_best_weights=True)``
    (its later epochs are ignored); training ends when every head has stopped."""
    keras = _keras()

    class PerHead(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.best_loss = None
            self.wait = None
            self.stopped = None
            self.best = None
            self.best_epoch = None

        def on_epoch_end(self, epoch, logs=None):
            pred = np.asarray(self.model(x_val, training=False))
            loss = np.mean((pred - y_val[:, None]) ** 2, axis=0)
            loss = np.where(np.isfinite(loss), loss, np.inf)
            weights = [np.array(w) for w in self.model.get_weights()]
            if self.best is None:
                h = len(loss)
                self.best_loss, self.best = loss.copy(), weights
                self.wait, self.stopped = np.zeros(h, int), np.zeros(h, bool)
                self.best_epoch = np.zeros(h, int)
                return
            better = (loss < self.best_loss) & ~self.stopped
            self.best_loss = np.where(better, loss, self.best_loss)
            self.best_epoch[better] = epoch
            for b, w in zip(self.best, weights):
                b[better] = w[better]
            self.wait = np.where(better, 0, self.wait + 1)
            self.stopped |= self.wait >= patience
            if self.stopped.all():
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.best is not None:
                self.model.set_weights(self.best)

    return PerHead()


def _timer():
    import time

    return time.perf_counter()


# --------------------------------------------------------------------------- PCA + MLP
class PCAMLPCommittee(Classifier):
    """PCA + committee of MLPs regressing C = 0.5 class + 1.5 (after Kuntzer et al. 2016).

    PCA (``n_components``) is fitted on the training stars' pixels; its
    coefficients are standardised with training-set statistics. ``n_members``
    MLPs ``n_components -> hidden sigmoid -> hidden sigmoid -> 1 linear`` with
    independent random initialisations are trained together as one Keras model
    (parallel heads) on the same mini-batches, MSE loss, Adam(``learning_rate``),
    at most ``max_epochs`` epochs, each member early-stopped on a seeded
    validation split (``val_fraction`` of the training stars) with ``patience``.
    """

    name = "pca_mlp"

    def __init__(self, n_components: int = 24, n_members: int = 48, hidden: int = 26,
                 learning_rate: float = 0.1, max_epochs: int = 100, patience: int = 20,
                 batch_size: int = 32, val_fraction: float = 0.1, seed: int = 0,
                 progress: bool = False):
        for name, v in (("n_components", n_components), ("n_members", n_members), ("hidden", hidden),
                        ("max_epochs", max_epochs), ("patience", patience), ("batch_size", batch_size)):
            require(isinstance(v, (int, np.integer)) and v >= 1, f"pca_mlp.{name}", v, "an integer >= 1")
        require(learning_rate > 0, "pca_mlp.learning_rate", learning_rate, "a positive number")
        self.n_components, self.n_members, self.hidden = n_components, n_members, hidden
        self.learning_rate, self.max_epochs, self.patience = learning_rate, max_epochs, patience
        self.batch_size, self.val_fraction, self.seed, self.progress = batch_size, val_fraction, seed, progress

    def _pcs(self, stars) -> np.ndarray:
        x = _check_stars(stars).reshape(len(stars), -1).astype(np.float64)
        return ((self.pca.transform(x) - self.mean_) / self.scale_).astype(np.float32)

    def _build(self):
        keras = _keras()
        Heads = heads_dense_layer()
        inp = keras.Input((self.n_components,))
        h = Heads(self.n_members, self.hidden, "sigmoid", seed=self.seed, name="hidden1")(inp)
        h = Heads(self.n_members, self.hidden, "sigmoid", seed=self.seed + 1, name="hidden2")(h)
        out = Heads(self.n_members, 1, None, seed=self.seed + 2, name="output")(h)
        out = keras.layers.Reshape((self.n_members,), name="members")(out)
        return keras.Model(inp, out, name="pca_mlp_committee")

    def fit(self, stars, labels, **aux):
        from sklearn.decomposition import PCA

        keras = _keras()
        t0 = _timer()
        stars = _check_stars(stars)
        labels = _check_labels(labels, len(stars))
        require(self.n_components <= min(len(stars), stars.shape[1] * stars.shape[2]),
                "pca_mlp.n_components", self.n_components, f"at most min(n_stars, n_pixels)")
        tr, va = validation_split(len(stars), self.val_fraction, self.seed)
        # covariance + eigh: exact PCA, deterministic, and fast for 1024 pixels x many stars
        self.pca = PCA(self.n_components, svd_solver="covariance_eigh").fit(
            stars[tr].reshape(len(tr), -1).astype(np.float64))
        raw = self.pca.transform(stars[tr].reshape(len(tr), -1).astype(np.float64))
        self.mean_, self.scale_ = raw.mean(axis=0), raw.std(axis=0) + 1e-12
        x, y = self._pcs(stars), class_to_target(labels).astype(np.float32)
        keras.utils.set_random_seed(self.seed)
        self.model = self._build()
        self.model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="mse",
                           steps_per_execution=STEPS_PER_EXECUTION)
        stopper = _per_head_early_stopping(x[va], y[va], self.patience)
        y_tr = np.repeat(y[tr, None], self.n_members, axis=1)
        self.history = self.model.fit(
            x[tr], y_tr, batch_size=self.batch_size, epochs=self.max_epochs, shuffle=True,
            verbose=0, callbacks=[stopper] + _tqdm_callback(self.max_epochs, "PCA+MLP", self.progress))
        self.epochs_run = len(self.history.history["loss"])
        self.best_epoch = stopper.best_epoch
        self.fit_seconds = _timer() - t0
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
        x = _check_stars(stars).reshape(len(stars), -1).astype(np.float64)
        return self.pca.inverse_transform(self.pca.transform(x)).reshape(np.shape(stars))


def _tqdm_callback(total: int, desc: str, enabled: bool):
    if not enabled:
        return []
    keras = _keras()

    class Bar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=total, desc=desc, unit="epoch", leave=False)

        def on_epoch_end(self, epoch, logs=None):
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return [Bar()]


# --------------------------------------------------------------------------- CNN
class CNNClassifier(Classifier):
    """CNN + MLP on the central ``crop`` x ``crop`` pixels (REFERENCE §5.2).

    Pixels are standardised per pixel with training-set statistics. Five 3x3
    valid convolutions and one 2x2 convolution (``filters`` each, ReLU) reduce
    12 x 12 to 1 x 1 x 32; dense layers ``dense`` (ReLU) then 13 softmax.
    Adam(``learning_rate``), batch ``batch_size``, cross-entropy, at most
    ``max_epochs`` epochs, early stopping on validation loss (``patience``,
    best weights restored) with a seeded ``val_fraction`` of the training stars.
    """

    name = "cnn_mlp"

    def __init__(self, crop: int = 12, filters: int = 32, n_conv3: int = 5, dense=(32, 32),
                 learning_rate: float = 1e-4, batch_size: int = 512, max_epochs: int = 300,
                 patience: int = 20, val_fraction: float = 0.1, seed: int = 0, progress: bool = False):
        require(crop - 2 * n_conv3 == 2, "cnn.crop", crop,
                f"2 + 2 x n_conv3 = {2 + 2 * n_conv3} (the convolutions reduce it to 1 x 1)")
        require(learning_rate > 0, "cnn.learning_rate", learning_rate, "a positive number")
        for name, v in (("max_epochs", max_epochs), ("patience", patience), ("batch_size", batch_size),
                        ("filters", filters)):
            require(isinstance(v, (int, np.integer)) and v >= 1, f"cnn.{name}", v, "an integer >= 1")
        self.crop, self.filters, self.n_conv3, self.dense = crop, filters, n_conv3, tuple(dense)
        self.learning_rate, self.batch_size, self.max_epochs = learning_rate, batch_size, max_epochs
        self.patience, self.val_fraction, self.seed, self.progress = patience, val_fraction, seed, progress

    def build(self):
        """The Keras model (also used to draw figure 8)."""
        keras = _keras()
        layers = [keras.Input((self.crop, self.crop, 1), name="stamp")]
        for i in range(self.n_conv3):
            layers.append(keras.layers.Conv2D(self.filters, 3, activation="relu", name=f"conv3x3_{i + 1}"))
        layers.append(keras.layers.Conv2D(self.filters, 2, activation="relu", name="conv2x2"))
        layers.append(keras.layers.Flatten(name="features"))
        for i, units in enumerate(self.dense):
            layers.append(keras.layers.Dense(units, activation="relu", name=f"dense_{i + 1}"))
        layers.append(keras.layers.Dense(N_CLASSES, activation="softmax", name="softmax"))
        return keras.Sequential(layers, name="cnn_mlp")

    def _x(self, stars) -> np.ndarray:
        c = crop_centre(_check_stars(stars), self.crop).astype(np.float64)
        return ((c - self.mean_) / self.scale_)[..., None].astype(np.float32)

    def fit(self, stars, labels, **aux):
        keras = _keras()
        t0 = _timer()
        stars = _check_stars(stars)
        labels = _check_labels(labels, len(stars))
        tr, va = validation_split(len(stars), self.val_fraction, self.seed)
        c = crop_centre(stars[tr], self.crop).astype(np.float64)
        self.mean_, self.scale_ = c.mean(axis=0), c.std(axis=0) + 1e-12
        x = self._x(stars)
        keras.utils.set_random_seed(self.seed)
        self.model = self.build()
        self.model.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                           loss="sparse_categorical_crossentropy", steps_per_execution=STEPS_PER_EXECUTION)
        stop = keras.callbacks.EarlyStopping(patience=self.patience, restore_best_weights=True)
        self.history = self.model.fit(
            x[tr], labels[tr], validation_data=(x[va], labels[va]), batch_size=self.batch_size,
            epochs=self.max_epochs, shuffle=True, verbose=0,
            callbacks=[stop] + _tqdm_callback(self.max_epochs, "CNN", self.progress))
        self.epochs_run = len(self.history.history["loss"])
        self.fit_seconds = _timer() - t0
        return self

    def predict_proba(self, stars, **aux) -> np.ndarray:
        return np.asarray(self.model.predict(self._x(stars), batch_size=4096, verbose=0), np.float64)


# --------------------------------------------------------------------------- SVM + PSF
def _fit_quietly(pipeline, x, y):
    """Fit, silencing scikit-learn >= 1.9's FutureWarning about ``SVC(probability=True)``:
    the paper's method is exactly that (Platt scaling, internal 5-fold CV), kept on purpose."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*probability.*", category=FutureWarning)
        return pipeline.fit(x, y)


class SVMPSF(Classifier):
    """The paper's SVM+PSF: StandardScaler + SVC(rbf, ``C``, ``gamma``, probability=True)
    on the similarity features of a PSF model at each star (aux ``mono`` or ``stats``).
    ``predict`` is the SVC's own decision (one-vs-one votes, as in the paper);
    probabilities are sklearn's Platt-scaled estimates (internal 5-fold CV, seeded)."""

    name = "svm_psf"

    def __init__(self, C: float = 1.0, gamma: float = 0.125, seed: int = 0):
        require(C > 0, "svm.C", C, "a positive number")
        require(gamma > 0, "svm.gamma", gamma, "a positive number")
        self.C, self.gamma, self.seed = C, gamma, seed

    def features(self, stars, mono=None, stats=None) -> np.ndarray:
        stars = _check_stars(stars)
        if stats is None and mono is not None:
            return similarity_features(mono, stars)
        return _stats(stars, mono, stats).similarity()

    def fit(self, stars, labels, mono=None, stats=None):
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        t0 = _timer()
        f = self.features(stars, mono, stats)
        labels = _check_labels(labels, len(f))
        self.pipeline = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=self.C, gamma=self.gamma,
                                                            probability=True, random_state=self.seed))
        _fit_quietly(self.pipeline, f, labels)
        self.fit_seconds = _timer() - t0
        return self

    def _full(self, p: np.ndarray) -> np.ndarray:
        out = np.zeros((len(p), N_CLASSES))
        out[:, self.pipeline.classes_] = p
        return out

    def predict_proba(self, stars, mono=None, stats=None) -> np.ndarray:
        return self._full(self.pipeline.predict_proba(self.features(stars, mono, stats)))

    def predict(self, stars, mono=None, stats=None) -> np.ndarray:
        return self.pipeline.predict(self.features(stars, mono, stats)).astype(np.int64)


# --------------------------------------------------------------------------- likelihood
class LikelihoodClassifier(Classifier):
    """Template fitting (beyond the paper): for each class c the model star
    ``M_c = sum_k w_ck H_k`` from the PSF at the star's position,
    ``log L_c = -||star - a_c M_c||^2 / (2 sigma^2)`` and a flat prior.

    ``flux='free'``: ``a_c`` is the best-fitting amplitude; ``'unit'``: ``a_c = 1``.
    ``sigma``: passed per star to ``predict_proba`` (e.g. the true noise) or
    estimated robustly from pixels beyond ``outer_radius_px``. Needs no training
    stars (``fit`` only checks its inputs).
    """

    name = "likelihood"

    def __init__(self, sed_weights, flux: str = "free", outer_radius_px: float = 10.0):
        w = np.asarray(sed_weights, np.float64)
        require(w.ndim == 2 and w.shape[0] == N_CLASSES, "sed_weights shape", w.shape,
                f"({N_CLASSES}, n_bins)")
        require(flux in ("free", "unit"), "likelihood.flux", flux, "'free' or 'unit'")
        self.sed_weights, self.flux, self.outer_radius_px = w, flux, outer_radius_px

    def fit(self, stars=None, labels=None, **aux):
        self.fit_seconds = 0.0
        return self

    def log_likelihood(self, stars, mono=None, stats=None, sigma=None) -> np.ndarray:
        """``log L_c`` up to a per-star constant, (N, 13)."""
        stars = _check_stars(stars)
        s = _stats(stars, mono, stats)
        sigma = estimate_sigma(stars, self.outer_radius_px) if sigma is None else np.asarray(sigma, np.float64)
        require(sigma.shape == (len(stars),) and np.all(sigma > 0), "sigma", sigma.shape,
                f"({len(stars)},) positive noise std per star")
        return -s.template_residuals(self.sed_weights, self.flux) / (2.0 * sigma[:, None] ** 2)

    def predict_proba(self, stars, mono=None, stats=None, sigma=None) -> np.ndarray:
        ll = self.log_likelihood(stars, mono, stats, sigma)
        ll -= ll.max(axis=1, keepdims=True)
        p = np.exp(ll)
        return p / p.sum(axis=1, keepdims=True)


class StackedSVM(Classifier):
    """Beyond the paper: StandardScaler + RBF SVC on the 8 similarity features
    joined with the likelihood classifier's 13 log-posteriors (clipped at -50),
    ``gamma`` = 1 / 21 by default. Trained like :class:`SVMPSF`."""

    name = "svm_like"

    def __init__(self, sed_weights, C: float = 1.0, gamma: float | None = None, seed: int = 0,
                 flux: str = "free", outer_radius_px: float = 10.0):
        self.like = LikelihoodClassifier(sed_weights, flux, outer_radius_px)
        self.svm = SVMPSF(C, gamma or 1.0 / (8 + N_CLASSES), seed)

    def _features(self, stars, mono, stats, sigma):
        s = _stats(_check_stars(stars), mono, stats)
        logp = np.log(np.maximum(self.like.predict_proba(stars, stats=s, sigma=sigma), np.exp(-50.0)))
        return np.concatenate([s.similarity(), logp], axis=1)

    def fit(self, stars, labels, mono=None, stats=None, sigma=None):
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        t0 = _timer()
        f = self._features(stars, mono, stats, sigma)
        labels = _check_labels(labels, len(f))
        self.pipeline = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=self.svm.C, gamma=self.svm.gamma,
                                                            probability=True, random_state=self.svm.seed))
        _fit_quietly(self.pipeline, f, labels)
        self.svm.pipeline = self.pipeline
        self.fit_seconds = _timer() - t0
        return self

    def predict_proba(self, stars, mono=None, stats=None, sigma=None) -> np.ndarray:
        return self.svm._full(self.pipeline.predict_proba(self._features(stars, mono, stats, sigma)))

    def predict(self, stars, mono=None, stats=None, sigma=None) -> np.ndarray:
        return self.pipeline.predict(self._features(stars, mono, stats, sigma)).astype(np.int64)


# --------------------------------------------------------------------------- experiments E2, E3
#: Published numbers (Centofanti et al. 2025, REFERENCE §8) -- NOT our results; the one
#: copy lives in :mod:`starsed.published`. Accuracy / within-one ("top-two"): 10-split
#: means, std from the paper's figure bands; generalisation: single run; per-class recall O5..M5.
from .published import CLASSIFICATION as PUBLISHED  # noqa: E402
from .published import GENERALISATION as PUBLISHED_GENERALISATION  # noqa: E402
from .published import RECALL as PUBLISHED_RECALL  # noqa: E402


def realisation_splits(n_total: int, n_train: int, n_test: int, n_realisations: int,
                       seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """E2's realisations: ``n_total`` pooled stars reshuffled (seed ``[seed, r]``) and
    re-split into ``n_train`` / ``n_test`` sorted indices, for r = 0..n_realisations-1."""
    require(isinstance(n_realisations, (int, np.integer)) and n_realisations >= 1, "train.realisations",
            n_realisations, "an integer >= 1")
    require(n_train >= 1 and n_test >= 1 and n_train + n_test <= n_total, "train.n_train + train.n_test",
            (n_train, n_test), f"positive, at most the {n_total} pooled stars")
    out = []
    for r in range(n_realisations):
        perm = np.random.default_rng([seed, r]).permutation(n_total)
        out.append((np.sort(perm[:n_train]), np.sort(perm[n_train:n_train + n_test])))
    return out


def method_keys(psf_names, stacked=()) -> list[str]:
    """Method keys for a list of PSF names ('gt', 's1', ...): pixel-only methods, SVM+PSF and
    likelihood per PSF, the stacked SVM for the PSFs in ``stacked``, and the Bayes limit."""
    keys = ["pca_mlp", "cnn_mlp"]
    keys += [f"svm_psf_{m}" for m in psf_names]
    keys += [f"likelihood_{m}" for m in psf_names]
    keys += [f"svm_like_{m}" for m in psf_names if m in stacked]
    return keys + ["bayes_gt"]


def make_classifier(key: str, section, sed_weights, seed: int, progress: bool = False) -> Classifier:
    """A fresh classifier for a method key, configured by the ``train`` params section."""
    if key == "pca_mlp":
        return PCAMLPCommittee(**section["pca_mlp"], seed=seed, progress=progress)
    if key == "cnn_mlp":
        return CNNClassifier(**section["cnn"], seed=seed, progress=progress)
    if key.startswith("svm_psf_"):
        return SVMPSF(**section["svm"], seed=seed)
    if key.startswith("svm_like_"):
        return StackedSVM(sed_weights, C=section["svm"]["C"], seed=seed,
                          flux=section["likelihood"]["flux"],
                          outer_radius_px=section["likelihood"]["outer_radius_px"])
    if key.startswith("likelihood_"):
        return LikelihoodClassifier(sed_weights, section["likelihood"]["flux"],
                                    section["likelihood"]["outer_radius_px"])
    if key == "bayes_gt":
        return LikelihoodClassifier(sed_weights, "unit")
    raise ConfigError(f"unknown classifier method {key!r}; allowed: pca_mlp, cnn_mlp, svm_psf_<psf>, "
                      f"likelihood_<psf>, svm_like_<psf>, bayes_gt")


def method_aux(key: str, stats, sigma) -> dict:
    """What a method needs besides pixels: the PSF statistics of its PSF, and sigma
    (the true one for the Bayes limit; None = estimated from the stamp otherwise)."""
    if key in ("pca_mlp", "cnn_mlp"):
        return {}
    psf = key.rsplit("_", 1)[1]
    aux = {"stats": stats[psf]}
    if key == "bayes_gt":
        aux["sigma"] = sigma
    return aux


def _take(aux: dict, rows) -> dict:
    return {k: (v.take(rows) if isinstance(v, PSFStats) else np.asarray(v)[rows]) for k, v in aux.items()}


def _scores(labels, pred, proba) -> dict:
    from .metrics.classification import summary

    out = summary(labels, pred, proba)
    return {k: float(v) for k, v in out.items()}


def run_classification(pool: dict, stats: dict, sed_weights, section, second: dict | None = None,
                       second_stats: dict | None = None, progress: bool = True) -> dict:
    """Experiments E2 (realisations) and E3 (generalisation).

    ``pool``: the pooled classifier stars (training + test), arrays ``noisy``
    (N, n, n), ``labels``, ``snr``, ``sigma``; ``stats``: {psf name: PSFStats over
    the pool} ('gt' = the true PSF, 's1'..: PSF models). ``second``/``second_stats``:
    the second exposure's stars and its true-PSF statistics {'gt': PSFStats}; every
    trained classifier also predicts them (PSF-aware methods with the second
    exposure's true PSF; likelihood_s* are left out there: with the true PSF they
    equal likelihood_gt).

    Returns ``keys``, ``splits`` (train/test indices per realisation), ``runs``
    {key: [scores per realisation]}, ``generalisation_runs``, ``predictions``
    {key: {'pred', 'proba', 'pred_w1'} arrays (R, n_test[, 13])},
    ``second_predictions`` likewise, ``last_models`` {pca_mlp, cnn_mlp: fitted on
    the last realisation}.
    """
    psf_names = list(stats)
    require("gt" in stats, "stats", psf_names, "a dict with at least 'gt' (the true PSF)")
    require(second is None or (second_stats is not None and "gt" in second_stats), "second_stats",
            second_stats, "{'gt': PSFStats of the second exposure} when second is given")
    keys = method_keys(psf_names, [m.lower() for m in section.get("stacked", [])])
    n_total = len(pool["labels"])
    splits = realisation_splits(n_total, section["n_train"], section["n_test"], section["realisations"],
                                section["seed"])
    runs = {k: [] for k in keys}
    gen_keys = [k for k in keys if not (k.startswith("likelihood_") and k != "likelihood_gt")]
    gen_runs = {k: [] for k in gen_keys} if second is not None else {}
    preds = {k: {"pred": [], "proba": [], "pred_w1": []} for k in keys}
    preds2 = {k: {"pred": [], "proba": [], "pred_w1": []} for k in gen_keys} if second is not None else {}
    last = {}
    bar = tqdm(total=len(splits) * len(keys), desc="train classifiers", unit="fit", disable=not progress)
    for r, (tr, te) in enumerate(splits):
        for key in keys:
            bar.set_postfix_str(f"realisation {r}: {key}")
            clf = make_classifier(key, section, sed_weights, seed=int(section["seed"]) + r)
            aux = method_aux(key, stats, pool["sigma"])
            t0 = _timer()
            clf.fit(pool["noisy"][tr], pool["labels"][tr], **_take(aux, tr))
            t1 = _timer()
            aux_te = _take(aux, te)
            proba = clf.predict_proba(pool["noisy"][te], **aux_te)
            pred = clf.predict(pool["noisy"][te], **aux_te)
            t2 = _timer()
            s = _scores(pool["labels"][te], pred, proba)
            s.update(fit_seconds=t1 - t0, predict_seconds=t2 - t1)
            if hasattr(clf, "epochs_run"):  # Keras methods: epochs until early stopping
                s["epochs"] = float(clf.epochs_run)
            runs[key].append(s)
            for name, v in (("pred", pred), ("proba", proba), ("pred_w1", within_one_decision(proba))):
                preds[key][name].append(v)
            if key in gen_runs:
                aux2 = {}
                if aux:  # PSF-aware: the second exposure's true PSF
                    aux2["stats"] = second_stats["gt"]
                    if "sigma" in aux:
                        aux2["sigma"] = second["sigma"]
                t3 = _timer()
                p2 = clf.predict_proba(second["noisy"], **aux2)
                y2 = clf.predict(second["noisy"], **aux2)
                g = _scores(second["labels"], y2, p2)
                g.update(fit_seconds=0.0, predict_seconds=_timer() - t3)  # prediction only
                gen_runs[key].append(g)
                for name, v in (("pred", y2), ("proba", p2), ("pred_w1", within_one_decision(p2))):
                    preds2[key][name].append(v)
            if key in ("pca_mlp", "cnn_mlp"):
                last[key] = clf
            bar.update(1)
    bar.close()
    stack = lambda d: {k: {n: np.stack(v) for n, v in m.items()} for k, m in d.items()}  # noqa: E731
    return {"keys": keys, "splits": splits, "runs": runs, "generalisation_runs": gen_runs,
            "predictions": stack(preds), "second_predictions": stack(preds2), "last_models": last}


def summarise_runs(runs: dict) -> dict:
    """Mean and std over realisations for every method: accuracy, within_one, f1, top2,
    ece, within_one_opt (the within-one decision's within-one accuracy) and ``seconds``
    (mean fit + predict time per realisation; for generalisation runs, prediction only)."""
    out = {}
    for key, rs in runs.items():
        d = {}
        for field in ("accuracy", "within_one", "f1", "top2", "ece", "within_one_opt", "epochs"):
            vals = np.array([r[field] for r in rs if field in r])
            if len(vals):
                d[f"{field}_mean"] = float(vals.mean())
                d[f"{field}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        if rs and "fit_seconds" in rs[0]:
            d["seconds"] = float(np.mean([r["fit_seconds"] + r["predict_seconds"] for r in rs]))
            d["fit_seconds"] = float(np.mean([r["fit_seconds"] for r in rs]))
        d["realisations"] = len(rs)
        out[key] = d
    return out


# --------------------------------------------------------------------------- the `train` stage
POOL_KEYS = ("noisy", "labels", "snr", "sigma", "positions", "mono", "noiseless", "sed_weights")
SECOND_KEYS = ("noisy", "labels", "snr", "sigma", "mono")


def load_pool(main_path, section) -> dict:
    """The pooled classifier stars: main-pool rows ``classifier_stars`` [start, stop) then the
    main test stars (first ``n_test_pool`` = all). Arrays of :data:`POOL_KEYS` plus ``is_test``."""
    from .io import read_h5

    start, stop = (int(v) for v in section["classifier_stars"])
    require(0 <= start < stop, "train.classifier_stars", [start, stop], "[start, stop) with 0 <= start < stop")
    a = read_h5(main_path, "train", list(POOL_KEYS), rows=slice(start, stop))
    require(len(a["labels"]) == stop - start, "train.classifier_stars", [start, stop],
            f"rows inside the main pool ({len(a['labels'])} read)")
    b = read_h5(main_path, "test", list(POOL_KEYS))
    pool = {k: np.concatenate([a[k], b[k]]) for k in POOL_KEYS}
    pool["is_test"] = np.r_[np.zeros(len(a["labels"]), bool), np.ones(len(b["labels"]), bool)]
    return pool


def psf_model_files(section, models_dir="models/psf") -> dict:
    """{'s1': path, ...} for the models named in ``train.psf_models`` whose files exist."""
    from pathlib import Path

    out = {}
    for name in section.get("psf_models", []):
        path = Path(models_dir) / f"{name}.h5"
        if path.is_file():
            out[name.lower()] = path
    return out


def run_stage(params, main_path="data/simulate/main.h5", second_path="data/simulate/second.h5",
              seds_path="data/seds/seds.h5", models_dir="models/psf", progress: bool = True) -> dict:
    """The ``train`` step: E2 and E3 for every method, on the true PSF and the PSF models present.

    Returns :func:`run_classification`'s dict plus ``summary`` / ``generalisation``
    (:func:`summarise_runs`), ``psf_errors`` {'s1': mean relative pixel RMSE in % on the
    main test stars}, ``psf_seconds`` {name: s to evaluate the model on the pool},
    ``missing_models`` (named but absent), ``labels``/``snr`` of the pool,
    ``similarity_gt`` (pool features, for figure 5), ``sed_weights`` and ``n_pool``.
    """
    from .io import read_h5

    section = params["train"]
    sed_weights = read_h5(seds_path, "seds", ["weights"])["weights"]
    pool = load_pool(main_path, section)
    second = read_h5(second_path, "test", list(SECOND_KEYS))
    stats = {"gt": PSFStats.from_mono(pool.pop("mono"), pool["noisy"])}
    second_stats = {"gt": PSFStats.from_mono(second.pop("mono"), second["noisy"])}
    files = psf_model_files(section, models_dir)
    psf_errors, psf_seconds = {}, {}
    for name, path in files.items():
        t0 = _timer()
        from .features import psf_model_stats

        stats[name], err = psf_model_stats(path, pool["positions"], pool["noisy"], progress=progress,
                                           noiseless=pool["noiseless"], sed_weights=pool["sed_weights"])
        psf_errors[name] = float(100.0 * err[pool["is_test"]].mean())
        psf_seconds[name] = _timer() - t0
    out = run_classification(pool, stats, sed_weights, section, second, second_stats, progress)
    out.update(summary=summarise_runs(out["runs"]), generalisation=summarise_runs(out["generalisation_runs"]),
               psf_errors=psf_errors, psf_seconds=psf_seconds,
               missing_models=[m for m in section.get("psf_models", []) if m.lower() not in files],
               labels=pool["labels"], snr=pool["snr"], second_labels=second["labels"],
               second_snr=second["snr"], similarity_gt=stats["gt"].similarity(), sed_weights=sed_weights,
               n_pool=len(pool["labels"]), example_stars=pool["noisy"][pool["is_test"]][:4])
    return out


def stage_metrics(result) -> dict:
    """``metrics/classification.json``: per method the E2 means/stds and seconds, the
    ``generalisation`` block (E3), PSF-model errors and the Bayes-limit gaps."""
    keep = ("accuracy_mean", "accuracy_std", "within_one_mean", "within_one_std", "f1_mean", "f1_std",
            "top2_mean", "top2_std", "ece_mean", "within_one_opt_mean", "within_one_opt_std",
            "seconds", "fit_seconds", "realisations", "epochs_mean")
    out = {k: {f: v[f] for f in keep if f in v} for k, v in result["summary"].items()}
    out["generalisation"] = {k: {f: v[f] for f in keep if f in v} for k, v in result["generalisation"].items()}
    out["psf_model_error_pct"] = result["psf_errors"]
    out["psf_model_seconds"] = result["psf_seconds"]
    out["psf_models_missing"] = result["missing_models"]
    out["bayes_gap"] = {r["method"]: {"accuracy": r["accuracy_gap"], "within_one": r["within_one_gap"]}
                        for r in bayes_gap_rows(result["summary"])}
    out["total_seconds"] = float(sum(v.get("seconds", 0.0) for v in result["summary"].values())
                                 * max(1, len(result["splits"])) + sum(result["psf_seconds"].values()))
    return out


LABELS = {"pca_mlp": "PCA+MLP", "cnn_mlp": "CNN+MLP", "bayes_gt": "Bayes limit (true PSF, known sigma, unit flux)"}


def method_label(key: str) -> str:
    """Human-readable method name: 'svm_psf_s3' -> 'SVM+PSF S3'."""
    if key in LABELS:
        return LABELS[key]
    for prefix, name in (("svm_psf_", "SVM+PSF"), ("likelihood_", "likelihood"), ("svm_like_", "SVM+PSF+likelihood")):
        if key.startswith(prefix):
            return f"{name} {key[len(prefix):].upper()}"
    return key


def _order(keys) -> list[str]:
    def rank(k):
        psf = k.rsplit("_", 1)[-1]
        p = int(psf[1:]) if psf[1:].isdigit() else 99  # S1..S6, then GT (as in the paper's table)
        fam = next((i for i, f in enumerate(("pca", "cnn", "svm_psf", "likelihood", "svm_like", "bayes"))
                    if k.startswith(f)), 9)
        return (fam, p)
    return sorted(keys, key=rank)


def _pm(d: dict, name: str):
    if name not in d:
        return None
    return f"{d[name]:.3f}" + (f" ± {d[name + '_std']:.3f}" if name + "_std" in d else "")


def classification_rows(summary: dict, published: dict = PUBLISHED) -> list[dict]:
    """Rows of the classification table: ours (mean +- std over realisations) beside the
    paper's published numbers (None where the paper has none)."""
    rows = []
    for key in _order(summary):
        s, p = summary[key], published.get(key, {})
        rows.append({
            "method": method_label(key),
            "f1": s.get("f1_mean"), "accuracy": f"{s['accuracy_mean']:.3f} ± {s.get('accuracy_std', 0):.3f}",
            "within_one": f"{s['within_one_mean']:.3f} ± {s.get('within_one_std', 0):.3f}",
            "top2": s.get("top2_mean"), "within_one_opt": s.get("within_one_opt_mean"),
            "paper_f1": p.get("f1"),
            "paper_accuracy": _pm(p, "accuracy"), "paper_within_one": _pm(p, "within_one"),
            "seconds": s.get("seconds"),
        })
    return rows


CLASSIFICATION_COLUMNS = [("method", "method"), ("f1", "F1"), ("accuracy", "accuracy"),
                          ("within_one", "within-one"), ("top2", "top-2"),
                          ("within_one_opt", "within-one (w1 decision)"), ("paper_f1", "paper F1"),
                          ("paper_accuracy", "paper accuracy"), ("paper_within_one", "paper within-one"),
                          ("seconds", "time per realisation [s]")]
CLASSIFICATION_FORMATS = {"f1": ".3f", "top2": ".3f", "within_one_opt": ".3f", "paper_f1": ".3f", "seconds": ".1f"}


def bayes_gap_rows(summary: dict) -> list[dict]:
    """Each method's gap to the Bayes limit (``bayes_gt``): limit minus method, for accuracy
    (argmax decisions) and within-one accuracy (the limit with the within-one decision)."""
    if "bayes_gt" not in summary:
        return []
    b = summary["bayes_gt"]
    acc_lim = b["accuracy_mean"]
    w1_lim = b.get("within_one_opt_mean", b["within_one_mean"])
    rows = []
    for key in _order(summary):
        if key == "bayes_gt":
            continue
        s = summary[key]
        rows.append({"method": method_label(key), "accuracy": s["accuracy_mean"],
                     "accuracy_gap": acc_lim - s["accuracy_mean"], "within_one": s["within_one_mean"],
                     "within_one_gap": w1_lim - s["within_one_mean"],
                     "within_one_opt_gap": (w1_lim - s["within_one_opt_mean"]) if "within_one_opt_mean" in s else None})
    return rows


BAYES_COLUMNS = [("method", "method"), ("accuracy", "accuracy"), ("accuracy_gap", "gap to Bayes (accuracy)"),
                 ("within_one", "within-one"), ("within_one_gap", "gap to Bayes (within-one)"),
                 ("within_one_opt_gap", "gap, w1 decision")]


def per_class_mean(result: dict, key: str, which: str = "predictions") -> dict:
    """Per-class recall, F1 and within-one of a method, averaged over realisations."""
    from .metrics.classification import per_class_scores

    preds = result[which][key]["pred"]
    labels = [result["labels"][te] for _, te in result["splits"]] if which == "predictions" \
        else [result["second_labels"]] * len(preds)
    scores = [per_class_scores(y, p) for y, p in zip(labels, preds)]
    return {m: np.mean([s[m] for s in scores], axis=0) for m in ("recall", "f1", "within_one")}


def confusion_total(result: dict, key: str, which: str = "predictions") -> np.ndarray:
    """Confusion matrix of a method summed over realisations."""
    from .metrics.classification import confusion_matrix

    preds = result[which][key]["pred"]
    labels = [result["labels"][te] for _, te in result["splits"]] if which == "predictions" \
        else [result["second_labels"]] * len(preds)
    return sum(confusion_matrix(y, p) for y, p in zip(labels, preds))


def snr_curve(result: dict, key: str, edges) -> dict:
    """Accuracy / within-one in SNR bins, stars of all realisations' test sets pooled."""
    from .metrics.classification import accuracy_by_snr

    y = np.concatenate([result["labels"][te] for _, te in result["splits"]])
    snr = np.concatenate([result["snr"][te] for _, te in result["splits"]])
    return accuracy_by_snr(y, np.concatenate(result["predictions"][key]["pred"]), snr, edges)


def reliability_data(result: dict, key: str, n_bins: int = 10) -> tuple[dict, float]:
    """Reliability curve and ECE of a method, test stars of all realisations pooled."""
    from .metrics.classification import expected_calibration_error, reliability_curve

    y = np.concatenate([result["labels"][te] for _, te in result["splits"]])
    p = np.concatenate(result["predictions"][key]["proba"])
    return reliability_curve(y, p, n_bins), expected_calibration_error(y, p, n_bins)
