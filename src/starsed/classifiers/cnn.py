"""CNN + MLP on the central pixels (docs/reference.md, Classifiers)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics.classification import N_CLASSES
from ..params import Section, all_positive, param, positive
from .base import Classifier, check_labels, check_stars, crop_centre, timer, validation_split
from .keras_utils import STEPS_PER_EXECUTION, keras, tqdm_callback

__all__ = ["N_CONV3", "CNNConfig", "CNNClassifier"]

#: 3x3 valid convolutions; with the final 2x2 one they reduce the crop 2 + 2 x N_CONV3 to 1 x 1
N_CONV3 = 5


def _fraction(v) -> bool:
    return 0.0 < v < 1.0


@dataclass(frozen=True)
class CNNConfig(Section):
    """The ``classify.cnn`` params section: crop side, filters per convolution, dense
    widths, Adam's learning rate, mini-batch size, epochs, early-stopping patience and
    the validation fraction of the training stars."""

    SECTION = "classify.cnn"

    crop: int = param(2 + 2 * N_CONV3, check=lambda v: v == 2 + 2 * N_CONV3,
                      allowed=f"{2 + 2 * N_CONV3} = 2 + 2 x the {N_CONV3} 3x3 convolutions "
                              "(with the 2x2 one they reduce it to 1 x 1)")
    filters: int = param(32, check=positive, allowed="an integer >= 1")
    dense: tuple[int, ...] = param((32, 32), check=all_positive, allowed="a list of positive layer widths")
    learning_rate: float = param(1e-3, check=positive, allowed="a positive number",
                                 doc="ours (fast, same accuracy); the paper profile uses 1e-4")
    batch_size: int = param(512, check=positive, allowed="an integer >= 1")
    max_epochs: int = param(200, check=positive, allowed="an integer >= 1")
    patience: int = param(10, check=positive, allowed="an integer >= 1", doc="the paper profile uses 20")
    val_fraction: float = param(0.1, check=_fraction, allowed="a number in (0, 1)")


class CNNClassifier(Classifier):
    """CNN + MLP on the central ``crop`` x ``crop`` pixels.

    Pixels are standardised per pixel with training-set statistics. Five 3x3
    valid convolutions and one 2x2 convolution (``filters`` each, ReLU) reduce
    12 x 12 to 1 x 1 x 32; dense layers ``dense`` (ReLU) then 13 softmax
    (43,981 parameters). Adam(``learning_rate``), batch ``batch_size``,
    cross-entropy, at most ``max_epochs`` epochs, early stopping on validation
    loss (``patience``, best weights restored) with a seeded ``val_fraction`` of
    the training stars.
    """

    name = "cnn_mlp"

    def __init__(self, config: CNNConfig | None = None, *, seed: int = 0, progress: bool = False):
        self.config = CNNConfig() if config is None else config
        self.seed, self.progress = seed, progress

    def build(self):
        """The Keras model (also used to draw figure 8)."""
        k, c = keras(), self.config
        layers = [k.Input((c.crop, c.crop, 1), name="stamp")]
        for i in range(N_CONV3):
            layers.append(k.layers.Conv2D(c.filters, 3, activation="relu", name=f"conv3x3_{i + 1}"))
        layers.append(k.layers.Conv2D(c.filters, 2, activation="relu", name="conv2x2"))
        layers.append(k.layers.Flatten(name="features"))
        for i, units in enumerate(c.dense):
            layers.append(k.layers.Dense(units, activation="relu", name=f"dense_{i + 1}"))
        layers.append(k.layers.Dense(N_CLASSES, activation="softmax", name="softmax"))
        return k.Sequential(layers, name="cnn_mlp")

    def _x(self, stars) -> np.ndarray:
        c = crop_centre(check_stars(stars), self.config.crop).astype(np.float64)
        return ((c - self.mean_) / self.scale_)[..., None].astype(np.float32)

    def fit(self, stars, labels, **aux):
        k, cfg = keras(), self.config
        t0 = timer()
        stars = check_stars(stars)
        labels = check_labels(labels, len(stars))
        tr, va = validation_split(len(stars), cfg.val_fraction, self.seed)
        c = crop_centre(stars[tr], cfg.crop).astype(np.float64)
        self.mean_, self.scale_ = c.mean(axis=0), c.std(axis=0) + 1e-12
        x = self._x(stars)
        k.utils.set_random_seed(self.seed)
        self.model = self.build()
        self.model.compile(optimizer=k.optimizers.Adam(cfg.learning_rate),
                           loss="sparse_categorical_crossentropy", steps_per_execution=STEPS_PER_EXECUTION)
        stop = k.callbacks.EarlyStopping(patience=cfg.patience, restore_best_weights=True)
        self.history = self.model.fit(
            x[tr], labels[tr], validation_data=(x[va], labels[va]), batch_size=cfg.batch_size,
            epochs=cfg.max_epochs, shuffle=True, verbose=0,
            callbacks=[stop] + tqdm_callback(cfg.max_epochs, "CNN", self.progress))
        self.epochs_run = len(self.history.history["loss"])
        self.fit_seconds = timer() - t0
        return self

    def predict_proba(self, stars, **aux) -> np.ndarray:
        return np.asarray(self.model.predict(self._x(stars), batch_size=4096, verbose=0), np.float64)
