"""The PSF model's per-detector focus term, and its fit to the training stars.

A detector of the focal-plane mosaic that sits a little out of the focal surface defocuses the
stars on it (:mod:`starsed.realism.detectors`): a Noll Z4 that is linear across each detector and
jumps at its edges, which no polynomial of the field position writes. The model represents it
with three coefficients per detector d, um of Z4,

    z4(x, y) += a_d + b_d u + c_d v       (u, v: position from the detector's centre, -1..1)

the very form of the simulator's mosaic (a height and two tilts times the defocus per height).

Fit (:func:`fit_detector_focus`): Gauss-Newton on these 3 n_d coefficients with the rest of the
model held, from each star's derivative g_i = d stamp_i / d z4 (central differences): the
normal equations are block-diagonal (one 3 x 3 block per detector),

    (sum_i g_i.g_i / sigma_i^2 phi_i phi_i^T + I / s^2) delta = sum_i g_i.r_i / sigma_i^2 phi_i - theta / s^2

(phi_i = (1, u_i, v_i), r_i the residual stamp, s = ``prior_um`` a Gaussian prior on each
coefficient that keeps a detector with few or no stars near zero and the term from taking the
field's own smooth defocus).
"""
from __future__ import annotations

import numpy as np

from ..realism.detectors import DEFOCUS, detector_coordinates

#: coefficients per detector: piston, slope along x, slope along y (um of Z4)
PER_DETECTOR = 3


def detector_design(grid: tuple[int, int], positions: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Each position's detector (N,) and its features phi = (1, u, v) (N, 3)."""
    d, rel = detector_coordinates(grid, positions, size)
    return d, np.concatenate([np.ones((len(d), 1)), rel], axis=1)


def detector_focus_um(coefficients_um: np.ndarray, grid: tuple[int, int], positions: np.ndarray,
                      size: float) -> np.ndarray:
    """The term's Z4 (N,), um, at positions (N, 2) from ``coefficients_um`` (n_d, 3)."""
    d, phi = detector_design(grid, positions, size)
    return np.sum(np.asarray(coefficients_um, np.float64)[d] * phi, axis=1)


def normal_equations(d: np.ndarray, phi: np.ndarray, curvature: np.ndarray, gradient: np.ndarray,
                     n_detectors: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-detector blocks (n_d, 3, 3) of sum_i c_i phi_i phi_i^T and vectors (n_d, 3) of
    sum_i g_i phi_i, from per-star ``curvature`` c_i and ``gradient`` g_i (N,)."""
    A = np.zeros((n_detectors, PER_DETECTOR, PER_DETECTOR))
    b = np.zeros((n_detectors, PER_DETECTOR))
    np.add.at(A, d, curvature[:, None, None] * phi[:, :, None] * phi[:, None, :])
    np.add.at(b, d, gradient[:, None] * phi)
    return A, b


def fit_detector_focus(model, data, tilt_um: np.ndarray | None = None, iterations: int = 2,
                       prior_um: float = 0.005, step_um: float = 2e-3) -> np.ndarray:
    """Gauss-Newton estimate of ``model``'s per-detector focus coefficients (n_d, 3), um, on
    ``data`` (:class:`~starsed.psf_model.data.TrainingData`; the stars' offsets ``tilt_um``,
    default ``data.tilt_um``), the rest of the model held; starts from the model's own
    coefficients and sets them."""
    grid = model.config.detector_grid
    if grid is None:
        raise ValueError("fit_detector_focus: the model has no per-detector focus term "
                         "(psf_models.model.detector_grid is null)")
    if prior_um <= 0:
        raise ValueError(f"fit_detector_focus: prior_um = {prior_um!r}; allowed: a positive number of um")
    tilt = data.tilt_um if tilt_um is None else tilt_um
    d, phi = detector_design(grid, data.positions, model.config.field_size)
    inv_var = data.weights * data.scale                       # 1 / sigma_i^2
    obs = data.noisy.reshape(len(data), -1)
    e4 = np.zeros((len(data), model.config.n_zernikes))
    e4[:, DEFOCUS] = step_um
    n_d = model.config.n_detectors
    for _ in range(iterations):
        render = lambda dz: model.predict(data.positions, data.sed_weights, tilt_um=tilt,  # noqa: E731
                                          dz_um=dz).reshape(len(data), -1)
        f0 = render(None)
        g = (render(e4) - render(-e4)) / (2 * step_um)
        A, b = normal_equations(d, phi, inv_var * np.sum(g * g, axis=1), inv_var * np.sum(g * (obs - f0), axis=1),
                                n_d)
        theta = model.detector_focus
        A += np.eye(PER_DETECTOR) / prior_um ** 2
        b -= theta / prior_um ** 2
        model.set_arrays(detector_focus=theta + np.linalg.solve(A, b[..., None])[..., 0])
    return model.detector_focus.copy()
