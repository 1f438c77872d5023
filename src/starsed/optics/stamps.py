"""Operations on stamps shared by the simulator, the PSF model and the metrics."""
from __future__ import annotations

import numpy as np


def bin_pixels(image: np.ndarray, factor: int) -> np.ndarray:
    """Sum non-overlapping ``factor`` x ``factor`` blocks (pixel integration)."""
    n = image.shape[-1] // factor
    return image.reshape(*image.shape[:-2], n, factor, n, factor).sum(axis=(-3, -1))


def normalise(image: np.ndarray) -> np.ndarray:
    """Scale each image (last two axes) to unit sum."""
    return image / image.sum(axis=(-2, -1), keepdims=True)


def centre_crop(image: np.ndarray, n: int) -> np.ndarray:
    """Central n x n of the last two axes (same axis sample convention: n // 2)."""
    start = image.shape[-1] // 2 - n // 2
    return image[..., start:start + n, start:start + n]


def polychromatic(mono: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """SED-weighted sum of monochromatic stamps: (S, L, n, n) x (S, L) -> (S, n, n).

    Element-wise per star (no BLAS), so a star's stamp does not depend on its batch.
    """
    return np.sum(mono * np.asarray(weights)[:, :, None, None], axis=1)
