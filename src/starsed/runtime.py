"""Threads, seeds and determinism; called first in every notebook."""
from __future__ import annotations

import os
import random

import numpy as np


def configure(seed: int = 0, tensorflow: bool = False, threads: int | None = None) -> None:
    """Seed Python and NumPy; with ``tensorflow=True`` also seed TF/Keras and turn on
    TF op determinism (same params -> same metrics). ``threads`` caps TF's pools."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["TF_DETERMINISTIC_OPS"] = "1"
    random.seed(seed)
    np.random.seed(seed)  # only for third-party code that uses the global state
    if tensorflow:
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
        if threads:
            tf.config.threading.set_inter_op_parallelism_threads(threads)
            tf.config.threading.set_intra_op_parallelism_threads(threads)
