"""Matrix builders of the one optical chain, shared by both array libraries.

The simulator (:mod:`starsed.optics.simulator`, NumPy, double or single
precision) and the PSF model's twin (:mod:`starsed.optics.tf_optics`,
TensorFlow) build their Fourier kernels here, from the same telescope and
the same conventions:

- pupil samples have pitch D / P, symmetric about 0 (:func:`pupil_coordinates_m`;
  the WaveDiff convention, in which a zero-padded FFT of size
  N = lambda f P / (D s) gives focal samples of s = pixel / oversampling);
- the focal grid has ``grid_samples`` samples of ``sample_um`` with the optical
  axis on sample ``grid_samples // 2`` plus ``axis_offset_px`` x oversampling
  (:attr:`starsed.physics.telescope.Telescope.axis_samples`);
- the Fourier kernel is exp(-2 pi i x u / (lambda f)) (:func:`dft_matrix`).
"""
from __future__ import annotations

import numpy as np

from ..physics.telescope import Telescope

PRECISIONS = {"double": (np.float64, np.complex128), "single": (np.float32, np.complex64)}


def precision_dtypes(precision: str) -> tuple[type, type]:
    """(real, complex) dtypes of 'single' or 'double'."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision = {precision!r}; allowed: {sorted(PRECISIONS)}")
    return PRECISIONS[precision]


def pupil_coordinates_m(n_samples: int, diameter_m: float) -> np.ndarray:
    """Pupil sample coordinates along one axis, m: pitch D / P, symmetric about 0.

    The origin of the pupil coordinates only multiplies the focal field by a
    phase, so intensities do not depend on it; a symmetric grid lets
    :func:`folded_kernels` halve the work.
    """
    return (np.arange(n_samples) - (n_samples - 1) / 2) * (diameter_m / n_samples)


def dft_matrix(pupil_m: np.ndarray, focal_m: np.ndarray, wavelengths_um: np.ndarray,
               focal_length_m: float, dtype=np.complex128) -> np.ndarray:
    """Fourier kernel exp(-2 pi i x u / (lambda f)), shape (L, n_focal, n_pupil)."""
    lam_m = np.asarray(wavelengths_um, dtype=np.float64)[:, None, None] * 1e-6
    arg = -2.0 * np.pi * focal_m[None, :, None] * pupil_m[None, None, :] / (lam_m * focal_length_m)
    return np.exp(1j * arg).astype(dtype)


def mft_matrices(telescope: Telescope, wavelengths_um: np.ndarray, dtype=np.complex128,
                 n_out: int | None = None, sample_um: float | None = None,
                 axis: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row (y) and column (x) matrices of the matrix Fourier transform.

    E = Ay @ U @ Ax.T maps a pupil field U (P, P) to the focal field on an
    ``n_out`` x ``n_out`` grid of ``sample_um`` samples with the optical axis
    at sample ``axis`` (defaults: the telescope's oversampled grid). Returns
    (Ay, Ax), each (L, n_out, P).
    """
    n_out = telescope.grid_samples if n_out is None else n_out
    sample_um = telescope.sample_um if sample_um is None else sample_um
    ax_x, ax_y = telescope.axis_samples if axis is None else axis
    x_m = pupil_coordinates_m(telescope.pupil_samples, telescope.diameter_m)
    k = np.arange(n_out, dtype=np.float64)
    u_x, u_y = (k - ax_x) * sample_um * 1e-6, (k - ax_y) * sample_um * 1e-6
    f = telescope.focal_length_m
    return dft_matrix(x_m, u_y, wavelengths_um, f, dtype), dft_matrix(x_m, u_x, wavelengths_um, f, dtype)


def fft_size(telescope: Telescope, wavelength_um: float) -> int:
    """Zero-padded FFT size giving ~``sample_um`` focal samples, rounded down to even
    (WaveDiff: 746..1146 for the Euclid bin centres at P = 256)."""
    n = wavelength_um * telescope.focal_length_m * telescope.pupil_samples / (
        telescope.diameter_m * telescope.sample_um)
    return 2 * int(n // 2)


def fft_wavelength_um(telescope: Telescope, n_fft: int) -> float:
    """Wavelength at which an FFT of size ``n_fft`` gives exactly ``sample_um`` samples."""
    return n_fft * telescope.diameter_m * telescope.sample_um / (
        telescope.focal_length_m * telescope.pupil_samples)


def folded_kernels(matrix: np.ndarray, real_dtype=np.float64) -> np.ndarray:
    """Real kernels of the even/odd-folded transform, (L, P, n) = [cos; sin] stacked.

    With symmetric pupil coordinates x_h = -x_(P-1-h), the transform of a
    real pair (R, I) along one axis only needs the positive half h >= P/2:
    sum_n (R + iI)_n exp(-i a x_n u) = [R_e, I_o] . [cos; sin]
                                     + i [I_e, -R_o] . [cos; sin],
    with R_e = R_h + R_(P-1-h), R_o = R_h - R_(P-1-h) (likewise I). Half the
    multiply-adds of a complex product, in real BLAS.
    """
    half = matrix[..., matrix.shape[-1] // 2:]           # (L, n, P/2), x > 0
    return np.concatenate([half.real, -half.imag], axis=-1).transpose(0, 2, 1).astype(real_dtype)


def mirrored_kernels(telescope: Telescope, wavelengths_um: np.ndarray, axis_sample: float,
                     real_dtype=np.float64) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Folded kernels over the distinct distances of one axis's focal samples from the optical axis.

    cos (``kc``) and sin (``ks``) of 2 pi x |u| / (lambda f) for the pupil's
    x > 0 half, (L, P/2, n_dist) each. Since cos is even and sin odd in u,
    focal sample k of the folded transform is
    ``even . kc[..., index[k]] + sign[k] * odd . ks[..., index[k]]``. On a grid
    symmetric about the axis (the default: axis on sample n/2) n_dist = n/2 + 1,
    so the matrix products do half the work; otherwise each sample keeps its own
    column (n_dist = n) and the result is the same.
    """
    d = np.arange(telescope.grid_samples) - axis_sample                 # samples from the axis
    dist, index = np.unique(np.round(np.abs(d), 9), return_inverse=True)
    sign = np.where(d < 0, -1.0, 1.0)
    P = telescope.pupil_samples
    x_m = pupil_coordinates_m(P, telescope.diameter_m)[P // 2:]
    m = dft_matrix(x_m, dist * telescope.sample_um * 1e-6, wavelengths_um, telescope.focal_length_m)
    kc = m.real.transpose(0, 2, 1).astype(real_dtype)
    ks = (-m.imag).transpose(0, 2, 1).astype(real_dtype)
    return kc, ks, index, sign
