"""The optical forward model: wavefront -> stamps. ONE definition of the chain.

    OPD (um) -> pupil field A exp(2 pi i OPD / lambda)
             -> monochromatic intensity on the oversampled focal grid
                (matrix Fourier transform, straight onto the needed samples)
             -> pixel binning (oversampling x oversampling block sums)
             -> unit flux -> SED-weighted polychromatic stamp

Conventions (REFERENCE §2): the pupil samples have pitch D / P (the WaveDiff
convention, in which a zero-padded FFT of size N = lambda f P / (D s) gives
focal samples of s = pixel / oversampling); the optical axis falls on
oversampled sample ``grid_samples // 2`` (48 of 96 for Euclid), i.e. on
pixel coordinate 16 - 1/3 of a 32-pixel stamp, shifted by
``telescope.axis_offset_px``. The simulator evaluates this chain with the true
wavefront; :mod:`starsed.psf_model` evaluates the same matrices in TensorFlow.
"""
from __future__ import annotations

import numpy as np

from .config import Telescope
from .pupil import pupil_amplitude
from .zernike import zernike_basis

PRECISIONS = {"double": (np.float64, np.complex128), "single": (np.float32, np.complex64)}


def precision_dtypes(precision: str) -> tuple[type, type]:
    """(real, complex) dtypes of 'single' or 'double'."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision = {precision!r}; allowed: {sorted(PRECISIONS)}")
    return PRECISIONS[precision]


def axis_samples(telescope: Telescope) -> tuple[float, float]:
    """Optical-axis position (x, y) on the oversampled grid, in samples (0-based)."""
    centre = telescope.grid_samples // 2
    ox, oy = telescope.axis_offset_px
    return centre + ox * telescope.oversampling, centre + oy * telescope.oversampling


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
    ax_x, ax_y = axis_samples(telescope) if axis is None else axis
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


def _fold_last(re: np.ndarray, im: np.ndarray) -> np.ndarray:
    """Stack [[R_e, I_o], [I_e, -R_o]] along the last axis -> (2, ..., P)."""
    h = re.shape[-1] // 2
    out = np.empty((2, *re.shape), dtype=re.dtype)
    pr, nr = re[..., h:], re[..., h - 1::-1]
    pi, ni = im[..., h:], im[..., h - 1::-1]
    np.add(pr, nr, out=out[0, ..., :h])
    np.subtract(pi, ni, out=out[0, ..., h:])
    np.add(pi, ni, out=out[1, ..., :h])
    np.subtract(nr, pr, out=out[1, ..., h:])
    return out


class Optics:
    """Pupil, Zernike basis and Fourier matrices of one telescope, in one precision.

    ``intensity(zernikes_um)`` is the batched core: Zernike coefficients of S
    stars -> (S, L, n, n) oversampled monochromatic intensities (unnormalised).
    The phase is evaluated only on the open pupil samples; the matrix Fourier
    transform runs as folded real products (:func:`folded_kernels`), one BLAS
    call per wavelength along x for all S stars.
    """

    def __init__(self, telescope: Telescope, n_zernikes: int, precision: str = "double",
                 wavelengths_um: np.ndarray | None = None, pupil: np.ndarray | None = None):
        from concurrent.futures import ThreadPoolExecutor

        self.telescope = telescope
        self.real, self.complex = precision_dtypes(precision)
        self.wavelengths_um = np.asarray(telescope.wavelengths_um if wavelengths_um is None
                                         else wavelengths_um, dtype=np.float64)
        P = telescope.pupil_samples
        if P % 2:
            raise ValueError(f"telescope.pupil_samples = {P}; allowed: an even number")
        self.pupil = pupil_amplitude(P, telescope.obscurations) if pupil is None else pupil
        self.basis = zernike_basis(n_zernikes, P)                  # (nz, P, P)
        self.open = np.flatnonzero(self.pupil)                      # open samples, flat
        self.amp_open = self.pupil.ravel()[self.open].astype(self.real)
        self.basis_open = self.basis.reshape(n_zernikes, -1)[:, self.open]
        # for each sample of the folded half grid (P, P/2): where its +x and -x
        # partners sit among the open samples (index n_open = a closed sample)
        where = np.full(P * P, len(self.open))
        where[self.open] = np.arange(len(self.open))
        where = where.reshape(P, P)
        self.gather_pos = where[:, P // 2:].ravel()
        self.gather_neg = where[:, P // 2 - 1::-1].ravel()
        ay, ax = mft_matrices(telescope, self.wavelengths_um, np.complex128)
        self.ky = folded_kernels(ay, self.real).transpose(0, 2, 1).copy()   # (L, n, P)
        self.kx = folded_kernels(ax, self.real)                             # (L, P, n)
        self._pool = ThreadPoolExecutor(2)

    @property
    def n_zernikes(self) -> int:
        return self.basis.shape[0]

    def opd_um(self, zernikes_um: np.ndarray) -> np.ndarray:
        """Full OPD maps (S, P, P), um, zero outside the unit disk."""
        return np.einsum("sk,kij->sij", np.atleast_2d(zernikes_um), self.basis)

    def intensity(self, zernikes_um: np.ndarray) -> np.ndarray:
        """Oversampled monochromatic intensities (S, L, n, n), unnormalised.

        The stars are split between two threads, each running the whole chain
        with single-threaded BLAS: the element-wise steps (phases, sines,
        folding) then use both cores too, not only the matrix products.
        """
        from threadpoolctl import threadpool_limits

        z = np.atleast_2d(np.asarray(zernikes_um, dtype=np.float64))
        if z.shape[1] != self.n_zernikes:
            raise ValueError(f"expected {self.n_zernikes} Zernike coefficients per star, got {z.shape[1]}")
        n = self.kx.shape[-1]
        out = np.empty((len(z), len(self.wavelengths_um), n, n), dtype=self.real)
        if len(z) == 1:
            self._intensity_block(z, out)
            return out
        half = (len(z) + 1) // 2
        with threadpool_limits(1, user_api="blas"):
            jobs = [self._pool.submit(self._intensity_block, z[s], out[s])
                    for s in (slice(0, half), slice(half, None))]
            for job in jobs:
                job.result()
        return out

    def _intensity_block(self, z: np.ndarray, out: np.ndarray) -> None:
        """The chain for the stars ``z`` (S, nz) into ``out`` (S, L, n, n)."""
        S, P, n = z.shape[0], self.telescope.pupil_samples, self.kx.shape[-1]
        opd_open = z @ self.basis_open                               # (S, n_open), um, float64
        m = len(self.open)
        cos = np.zeros((S, m + 1), dtype=self.real)   # last column: closed samples
        sin = np.zeros((S, m + 1), dtype=self.real)
        folded = np.empty((2, S, P, P), dtype=self.real)  # [[R_e, I_o], [I_e, -R_o]]
        h = P // 2
        for l, lam in enumerate(self.wavelengths_um):
            phase = (opd_open * (2.0 * np.pi / lam)).astype(self.real)
            np.cos(phase, out=cos[:, :m])
            np.sin(phase, out=sin[:, :m])
            cos[:, :m] *= self.amp_open
            sin[:, :m] *= self.amp_open
            rp, rn = cos[:, self.gather_pos].reshape(S, P, h), cos[:, self.gather_neg].reshape(S, P, h)
            ip, i_n = sin[:, self.gather_pos].reshape(S, P, h), sin[:, self.gather_neg].reshape(S, P, h)
            np.add(rp, rn, out=folded[0, ..., :h])
            np.subtract(ip, i_n, out=folded[0, ..., h:])
            np.add(ip, i_n, out=folded[1, ..., :h])
            np.subtract(rn, rp, out=folded[1, ..., h:])
            # along x (columns): (2 S P, P) @ (P, n) -> real and imaginary parts
            t = (folded.reshape(2 * S * P, P) @ self.kx[l]).reshape(2, S, P, n)
            # along y (rows): fold the row axis, then (n, P) @ (P, 2n) per star
            f = _fold_last(t[0].transpose(0, 2, 1), t[1].transpose(0, 2, 1))   # (2, S, n, P)
            f = np.matmul(self.ky[l], f.transpose(1, 3, 0, 2).reshape(S, P, 2 * n))  # (S, n, 2n)
            np.add(np.square(f[..., :n]), np.square(f[..., n:]), out=out[:, l])

    def stamps(self, zernikes_um: np.ndarray, sr: bool = False) -> dict[str, np.ndarray]:
        """Unit-flux monochromatic stamps (S, L, stamp, stamp), and SR (S, L, sr, sr) if asked."""
        t = self.telescope
        inten = self.intensity(zernikes_um)
        out = {"mono": normalise(bin_pixels(inten, t.oversampling))}
        if sr:
            out["mono_sr"] = normalise(centre_crop(inten, t.sr_stamp))
        return out
