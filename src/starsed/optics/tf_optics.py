"""The optical chain in TensorFlow: the twin of :mod:`starsed.optics.simulator` for gradients.

Same kernels (:mod:`starsed.optics.kernels`), same pupil (the simulator's mask
block-averaged to the model's sampling, :func:`starsed.physics.pupil.pupil_amplitude`),
same Zernikes, same conventions; only the array library and (optionally) the
pupil sampling differ. The folded matrix Fourier transform works on real
tensors (complex64 arithmetic as float32 pairs), so XLA fuses it well on a CPU.

    OPD (B, P, P) um -> A cos / A sin of 2 pi OPD / lambda      (B, L, P, P)
    -> folded MFT along x, then y                               (B, L, n, n) real, imaginary
    -> |E|^2 -> oversampling x oversampling binning -> unit flux (B, L, m, m)
    -> SED-weighted sum                                         (B, m, m)

``tests/test_optics.py`` checks it against the NumPy simulator.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..physics.pupil import pupil_amplitude
from ..physics.telescope import Telescope
from ..physics.zernike import zernike_basis
from .kernels import folded_kernels, mft_matrices, precision_dtypes


def padded_rows(a: int, batch: int, n: int) -> np.ndarray:
    """Row indices a..a+batch-1, the ones past n repeating the last row (fixed shapes for XLA)."""
    return np.minimum(np.arange(a, a + batch), n - 1)


class TFOptics:
    """Constants and graph pieces of the chain for one telescope, model pupil and precision.

    ``telescope``: the simulator's telescope (its ``pupil_samples`` is the
    reference sampling of the mask); ``pupil_samples``: the model's pupil P, a
    divisor of the telescope's; ``precision``: 'single' or 'double'.
    """

    def __init__(self, telescope: Telescope, pupil_samples: int, n_zernikes: int, precision: str = "single",
                 jit: bool = True):
        import tensorflow as tf

        from ..params import require

        require(telescope.pupil_samples % pupil_samples == 0, "psf_models.model.pupil_samples", pupil_samples,
                f"a divisor of the simulator's telescope.pupil_samples = {telescope.pupil_samples}")
        self.tf = tf
        self.telescope = telescope
        self.pupil_samples = P = pupil_samples
        self.n_zernikes = n_zernikes
        self.jit = jit
        self.model_telescope = replace(telescope, pupil_samples=P)
        self.real, _ = precision_dtypes(precision)
        lam = telescope.wavelengths_um
        self.pupil = pupil_amplitude(P, telescope.obscurations, reference_samples=telescope.pupil_samples)
        self.basis = zernike_basis(n_zernikes, P)                            # (nz, P, P)
        ay, ax = mft_matrices(self.model_telescope, lam, np.complex128)       # (L, n, P) each
        c = self.constant
        self._amp = c(self.pupil)
        self._basis = c(self.basis.reshape(n_zernikes, P * P))
        self._k_phase = c(2.0 * np.pi / lam)                                 # rad / um
        self._kx = c(folded_kernels(ax, np.float64))                          # (L, P, n)
        self._ky = c(folded_kernels(ay, np.float64).transpose(0, 2, 1))       # (L, n, P)
        self._jacobian_fn = None

    def constant(self, a):
        """A TensorFlow constant of the chain's real dtype."""
        return self.tf.constant(np.asarray(a, dtype=self.real))

    def function(self, fn):
        """``tf.function`` with this chain's XLA setting."""
        return self.tf.function(fn, jit_compile=self.jit, reduce_retracing=True)

    # ----------------------------------------------------------------- graph pieces
    def mft(self, re, im, kx, ky):
        """Focal field (real, imaginary) of pupil fields re + i im (..., P, P) by the folded MFT.

        ``kx`` (L, [1,] P, n) and ``ky`` (L, [1,] n, P) broadcast against the
        leading axes (B, L[, K]). Returns two (..., n, n) arrays.
        """
        tf = self.tf
        P = self.pupil_samples
        h = P // 2
        n = self.telescope.grid_samples
        # fold along x (columns): [[R_e, I_o], [I_e, -R_o]] (as the simulator folds its pairs)
        rp, rn = re[..., h:], tf.reverse(re[..., :h], axis=[-1])
        ip, i_n = im[..., h:], tf.reverse(im[..., :h], axis=[-1])
        f0 = tf.concat([rp + rn, ip - i_n], axis=-1)
        f1 = tf.concat([ip + i_n, rn - rp], axis=-1)
        t = tf.matmul(tf.concat([f0, f1], axis=-2), kx)                      # (..., 2P, n)
        tr, ti = t[..., :P, :], t[..., P:, :]                                 # rows: pupil y
        # fold along y (rows): G = [[Tr_e, Ti_e], [Ti_o, -Tr_o]]  (P, 2n)
        trp, trn = tr[..., h:, :], tf.reverse(tr[..., :h, :], axis=[-2])
        tip, tin = ti[..., h:, :], tf.reverse(ti[..., :h, :], axis=[-2])
        g = tf.concat([tf.concat([trp + trn, tip + tin], axis=-1),
                       tf.concat([tip - tin, trn - trp], axis=-1)], axis=-2)  # (..., P, 2n)
        e = tf.matmul(ky, g)                                                  # (..., n, 2n)
        return e[..., :n], e[..., n:]

    def intensity(self, opd_um):
        """Oversampled monochromatic intensities (B, L, n, n) of OPD maps (B, P, P), um."""
        tf = self.tf
        phase = opd_um[:, None, :, :] * self._k_phase[None, :, None, None]   # (B, L, P, P)
        er, ei = self.mft(self._amp * tf.cos(phase), self._amp * tf.sin(phase), self._kx, self._ky)
        return tf.square(er) + tf.square(ei)

    def bin_normalise(self, inten):
        """Pixel binning and unit flux per wavelength: (B, L, n, n) -> (B, L, m, m)."""
        tf = self.tf
        o, m = self.telescope.oversampling, self.telescope.stamp_px
        shp = tf.shape(inten)
        binned = tf.reduce_sum(tf.reshape(inten, [shp[0], shp[1], m, o, m, o]), axis=[3, 5])
        return binned / tf.reduce_sum(binned, axis=[2, 3], keepdims=True)

    def sr_normalise(self, inten):
        """Super-resolved monochromatic stamps: central ``sr_stamp`` samples, unit flux."""
        tf = self.tf
        n, sr = self.telescope.grid_samples, self.telescope.sr_stamp
        a = n // 2 - sr // 2
        crop = inten[..., a:a + sr, a:a + sr]
        return crop / tf.reduce_sum(crop, axis=[2, 3], keepdims=True)

    def opd(self, z, dd_w=None, dd_maps=None):
        """OPD (B, P, P), um: Zernike part z (B, nz) plus data-driven dd_w (B, nf) @ maps (nf, P, P)."""
        tf = self.tf
        P = self.pupil_samples
        flat = tf.matmul(z, self._basis)
        if dd_w is not None:
            flat = flat + tf.matmul(dd_w, tf.reshape(dd_maps, [tf.shape(dd_maps)[0], P * P]))
        return tf.reshape(flat, [-1, P, P])

    def polychromatic(self, mono, sed):
        """SED-weighted sum (B, m, m) of monochromatic stamps (B, L, m, m) with weights (B, L)."""
        return self.tf.einsum("blij,bl->bij", mono, sed)

    def poly(self, z, dd_w, dd_maps, sed):
        """Polychromatic stamps (B, m, m) at observation resolution."""
        return self.polychromatic(self.bin_normalise(self.intensity(self.opd(z, dd_w, dd_maps))), sed)

    # ----------------------------------------------------------------- Jacobians
    def _jacobian(self, z, sed):
        """d(polychromatic stamp)/d(Zernike coefficient): (B, n_zernikes, m, m) at z (B, nz), um^-1.

        Exact derivative of the forward model (no data-driven part): for each
        mode, the pupil-field derivative i (2 pi / lambda) Z_k U goes through
        the same MFT, then the chain rule through |.|^2, binning, unit flux
        and the SED weights.
        """
        tf = self.tf
        P, K = self.pupil_samples, self.n_zernikes
        o, m = self.telescope.oversampling, self.telescope.stamp_px
        opd = self.opd(z)
        kap = self._k_phase[None, :, None, None]
        phase = opd[:, None, :, :] * kap
        re, im = self._amp * tf.cos(phase), self._amp * tf.sin(phase)
        er, ei = self.mft(re, im, self._kx, self._ky)                         # (B, L, n, n)
        zk = tf.reshape(self._basis, [1, 1, K, P, P])
        kap5 = kap[..., None]
        der, dei = self.mft(-kap5 * zk * im[:, :, None], kap5 * zk * re[:, :, None],
                            self._kx[:, None], self._ky[:, None])             # (B, L, K, n, n)
        di = 2.0 * (er[:, :, None] * der + ei[:, :, None] * dei)
        b = tf.shape(z)[0]
        bi = tf.reduce_sum(tf.reshape(tf.square(er) + tf.square(ei), [b, -1, m, o, m, o]), axis=[3, 5])
        s = tf.reduce_sum(bi, axis=[2, 3], keepdims=True)                     # (B, L, 1, 1)
        mono = bi / s
        bdi = tf.reduce_sum(tf.reshape(di, [b, -1, K, m, o, m, o]), axis=[4, 6])  # (B, L, K, m, m)
        sd = tf.reduce_sum(bdi, axis=[3, 4], keepdims=True)
        dmono = (bdi - mono[:, :, None] * sd) / s[:, :, None]
        return tf.einsum("blkij,bl->bkij", dmono, sed)

    def zernike_jacobian(self, z_um: np.ndarray, sed_weights: np.ndarray, batch: int = 2) -> np.ndarray:
        """Jacobians (N, n_zernikes, m, m) of the polychromatic stamps w.r.t. the Zernike coefficients."""
        if self._jacobian_fn is None:
            self._jacobian_fn = self.function(self._jacobian)
        fn, N = self._jacobian_fn, len(z_um)
        out = []
        for a in range(0, N, batch):
            sl = padded_rows(a, batch, N)
            j = fn(self.tf.constant(z_um[sl].astype(self.real)), self.tf.constant(sed_weights[sl].astype(self.real)))
            out.append(j.numpy()[: min(batch, N - a)].astype(np.float64))
        return np.concatenate(out)
