"""Keras pieces of the pixel classifiers: parallel dense heads, per-head early stopping,
a tqdm epoch bar. Keras is imported only when one of these is built."""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

__all__ = ["STEPS_PER_EXECUTION", "keras", "heads_dense_layer", "per_head_early_stopping", "tqdm_callback"]

#: Keras runs this many optimiser steps per call (same results, less per-step overhead
#: for these small models)
STEPS_PER_EXECUTION = 16


def keras():
    """The ``keras`` module (imported on first use)."""
    import keras as _keras

    return _keras


def heads_dense_layer():
    """The ``HeadsDense`` Keras layer class: ``heads`` independent dense layers applied in
    parallel, input (B, in) shared by all heads or (B, heads, in) -> (B, heads, units)."""
    k = keras()
    from keras import ops

    class HeadsDense(k.layers.Layer):
        def __init__(self, heads: int, units: int, activation=None, seed: int | None = None, **kw):
            super().__init__(**kw)
            self.heads, self.units, self.seed = heads, units, seed
            self.activation = k.activations.get(activation)

        def build(self, input_shape):
            fan_in = input_shape[-1]
            limit = float(np.sqrt(6.0 / (fan_in + self.units)))  # Glorot uniform per head
            self.kernel = self.add_weight(
                shape=(self.heads, fan_in, self.units), name="kernel",
                initializer=k.initializers.RandomUniform(-limit, limit, seed=self.seed))
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


def per_head_early_stopping(x_val, y_val, patience: int):
    """Callback: each head keeps its best weights (lowest validation MSE) and stops
    improving after ``patience`` epochs without improvement, exactly as if each
    member were trained alone with ``EarlyStopping(restore_best_weights=True)``
    (its later epochs are ignored); training ends when every head has stopped."""
    k = keras()

    class PerHead(k.callbacks.Callback):
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


def tqdm_callback(total: int, desc: str, enabled: bool) -> list:
    """``[callback]`` drawing a tqdm bar of ``total`` epochs, or ``[]`` when not ``enabled``."""
    if not enabled:
        return []
    k = keras()

    class Bar(k.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=total, desc=desc, unit="epoch", leave=False)

        def on_epoch_end(self, epoch, logs=None):
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return [Bar()]
