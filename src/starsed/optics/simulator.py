"""The optical forward model in NumPy (the simulator): wavefront -> stamps.

    OPD (um) -> pupil field A exp(2 pi i OPD / lambda)
             -> monochromatic intensity on the oversampled focal grid
                (matrix Fourier transform, straight onto the needed samples)
             -> pixel binning (oversampling x oversampling block sums)
             -> unit flux -> SED-weighted polychromatic stamp

The kernels and conventions come from :mod:`starsed.optics.kernels`, which the
TensorFlow twin (:mod:`starsed.optics.tf_optics`, used by the PSF model) shares;
``tests/test_optics.py`` checks the two against each other and against a
zero-padded FFT (see ``docs/conventions.md``).
"""
from __future__ import annotations

import numpy as np

from ..physics.pupil import pupil_amplitude
from ..physics.telescope import Telescope
from ..physics.zernike import zernike_basis
from .kernels import mirrored_kernels, precision_dtypes
from .stamps import bin_pixels, centre_crop, normalise


class SinCos:
    """Double-precision sine and cosine of many angles, vectorised.

    numpy's float64 ``sin``/``cos`` are scalar (about 10 ns each here); this
    reduces x = k * step + r with a table of 2^14 angles over one turn, so
    |r| <= pi / 2^14 = 1.9e-4 rad and cos r = 1 - r^2/2 (error < 6e-17),
    sin r = r (1 - r^2/6) (error < 3e-21), then applies the angle-sum
    formulas: absolute error below 1e-15 + 2e-16 |x| (the last term from
    rounding k * step; phases here are under ~10 rad), at under half the
    cost. Works in place on blocks of up to ``block`` angles (a pupil row of
    pairs: its nine scratch arrays stay in a 2 MB L2 cache and the Python
    overhead per element is small). Angles must satisfy |x| < 2^40 rad.
    """

    bits = 14
    block = 32768

    def __init__(self):
        n = 1 << self.bits
        self.step = 2.0 * np.pi / n
        self.cos_table = np.cos(self.step * np.arange(n))
        self.sin_table = np.sin(self.step * np.arange(n))

    def __call__(self, x: np.ndarray, cos: np.ndarray, sin: np.ndarray,
                 scale: np.ndarray | None = None) -> None:
        """cos = scale * cos(x), sin = scale * sin(x), row by row.

        ``x``, ``cos``, ``sin``: C-contiguous float64 (rows, width); ``scale``:
        None or (k, width) with rows a multiple of k (row i uses scale[i % k]).
        """
        magic = 1.5 * 2.0**52                 # adding it rounds to an integer held in the low bits
        mask = (1 << self.bits) - 1
        width = x.shape[-1]
        b = min(self.block, width)
        k, r, r2, t, c0, s0 = (np.empty(b) for _ in range(6))
        idx = np.empty(b, dtype=np.int64)
        for a in range(0, width, b):
            m = min(b, width - a)
            k, r, r2, t, c0, s0, idx = (v[:m] for v in (k, r, r2, t, c0, s0, idx))
            for row in range(x.shape[0]):
                xb, cb, sb = x[row, a:a + m], cos[row, a:a + m], sin[row, a:a + m]
                np.multiply(xb, 1.0 / self.step, out=k)
                np.add(k, magic, out=k)
                np.bitwise_and(k.view(np.int64), mask, out=idx)          # k mod 2^bits
                np.subtract(k, magic, out=k)                              # k, integer-valued
                np.multiply(k, self.step, out=r)
                np.subtract(xb, r, out=r)                                 # |r| <= step / 2
                self.cos_table.take(idx, out=c0)
                self.sin_table.take(idx, out=s0)
                np.multiply(r, r, out=r2)
                np.multiply(r2, -0.5, out=r2)                             # cos r - 1
                np.multiply(r2, 1.0 / 3.0, out=t)
                np.add(t, 1.0, out=t)
                np.multiply(t, r, out=t)                                  # sin r
                np.multiply(s0, t, out=cb)
                np.multiply(c0, t, out=sb)
                np.multiply(c0, r2, out=t)
                np.add(t, c0, out=t)                                      # c0 cos r
                np.subtract(t, cb, out=cb)                                # cos(x)
                np.multiply(s0, r2, out=t)
                np.add(t, s0, out=t)                                      # s0 cos r
                np.add(t, sb, out=sb)                                     # sin(x)
                if scale is not None:
                    w = scale[row % scale.shape[0], a:a + m]
                    np.multiply(cb, w, out=cb)
                    np.multiply(sb, w, out=sb)


class Optics:
    """Pupil, Zernike basis and Fourier matrices of one telescope, in one precision.

    ``intensity(zernikes_um)`` is the batched core: Zernike coefficients of S
    stars -> (S, L, n, n) oversampled monochromatic intensities (unnormalised).
    The transform is folded (:func:`folded_kernels`): with x > 0 samples at
    (y, j) and their mirrors at (y, -j), only the sums and differences of
    the pair enter. The phase is evaluated only where either of a pair is
    open (a compact list), folded there, then laid out on the (P, P/2) half
    grid for two real BLAS products along x (cos and sin kernels, over the
    distinct |u| of the focal grid only: :func:`mirrored_kernels`), folded
    again along y, two BLAS products along y (distinct |v|), and unfolded to
    the full (n, n) grid by the parity of cos and sin (``u_take``, ``v_take``).
    """

    def __init__(self, telescope: Telescope, n_zernikes: int, precision: str = "double",
                 wavelengths_um: np.ndarray | None = None, pupil: np.ndarray | None = None,
                 threads: int = 2):
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self.telescope = telescope
        self.real, self.complex = precision_dtypes(precision)
        self.wavelengths_um = np.asarray(telescope.wavelengths_um if wavelengths_um is None
                                         else wavelengths_um, dtype=np.float64)
        P = telescope.pupil_samples
        if P % 2:
            raise ValueError(f"telescope.pupil_samples = {P}; allowed: an even number")
        h = P // 2
        self.pupil = pupil_amplitude(P, telescope.obscurations) if pupil is None else pupil
        self.basis = zernike_basis(n_zernikes, P)                  # (nz, P, P)
        # half grid (P, h): sample (y, j) pairs x = +j (column h + j) with x = -j (column h - 1 - j)
        pos, neg = self.pupil[:, h:], self.pupil[:, h - 1::-1]
        pairs = np.flatnonzero((pos > 0) | (neg > 0))                # compact list of open pairs
        self.amp_pairs = np.stack([pos.ravel()[pairs], neg.ravel()[pairs]]).astype(self.real)  # (2, m)
        basis = self.basis.reshape(n_zernikes, P, P)
        self.basis_pairs = np.stack([basis[:, :, h:].reshape(n_zernikes, -1)[:, pairs],
                                     basis[:, :, h - 1::-1].reshape(n_zernikes, -1)[:, pairs]],
                                    axis=1).reshape(n_zernikes, -1)      # (nz, 2 m): [+x | -x]
        # layout of the x-transform's input rows (y, [even j | odd j]) in terms of the compact
        # folded arrays [even pairs, 0 | odd pairs, 0] (index m: a closed pair, reads 0)
        m = len(pairs)
        where = np.full(P * h, m)
        where[pairs] = np.arange(m)
        where = where.reshape(P, h)
        self.grid_index = np.concatenate([where, where + m + 1], axis=1).ravel()   # (P * P,)
        ax_x, ax_y = telescope.axis_samples
        self.kx_cos, self.kx_sin, u_index, u_sign = mirrored_kernels(
            telescope, self.wavelengths_um, ax_x, self.real)                  # (L, h, n_u)
        ky_cos, ky_sin, v_index, v_sign = mirrored_kernels(
            telescope, self.wavelengths_um, ax_y, self.real)
        self.ky_cos = ky_cos.transpose(0, 2, 1).copy()                        # (L, n_v, h)
        self.ky_sin = ky_sin.transpose(0, 2, 1).copy()
        n_u, n_v = self.kx_cos.shape[-1], self.ky_cos.shape[1]
        # rows of [+ | -] stacks: sample k reads entry index[k] of the + or - half
        self.u_take = u_index + n_u * (u_sign < 0)
        self.v_take = v_index + n_v * (v_sign < 0)
        self._sincos = SinCos() if self.real == np.float64 else None
        if not (isinstance(threads, (int, np.integer)) and threads >= 1):
            raise ValueError(f"threads = {threads!r}; allowed: an integer >= 1")
        self.threads = int(threads)
        self._pool = ThreadPoolExecutor(self.threads)
        self._local = threading.local()

    @property
    def n_zernikes(self) -> int:
        return self.basis.shape[0]

    def opd_um(self, zernikes_um: np.ndarray) -> np.ndarray:
        """Full OPD maps (S, P, P), um, zero outside the unit disk."""
        return np.einsum("sk,kij->sij", np.atleast_2d(zernikes_um), self.basis)

    def intensity(self, zernikes_um: np.ndarray) -> np.ndarray:
        """Oversampled monochromatic intensities (S, L, n, n), unnormalised."""
        z = self._coefficients(zernikes_um)
        n = self.telescope.grid_samples
        out = np.empty((len(z), len(self.wavelengths_um), n, n), dtype=self.real)
        self._in_threads(z, lambda zs, rows: self._intensity_block(zs, out[rows]))
        return out

    def stamps(self, zernikes_um: np.ndarray, sr: bool = False) -> dict[str, np.ndarray]:
        """Unit-flux monochromatic stamps (S, L, stamp, stamp), and SR (S, L, sr, sr) if asked."""
        t = self.telescope
        z = self._coefficients(zernikes_um)
        n, L = self.telescope.grid_samples, len(self.wavelengths_um)
        out = {"mono": np.empty((len(z), L, t.stamp_px, t.stamp_px), dtype=self.real)}
        if sr:
            out["mono_sr"] = np.empty((len(z), L, t.sr_stamp, t.sr_stamp), dtype=self.real)

        def block(zs: np.ndarray, rows: slice) -> None:
            inten = np.empty((len(zs), L, n, n), dtype=self.real)
            self._intensity_block(zs, inten)
            out["mono"][rows] = normalise(bin_pixels(inten, t.oversampling))
            if sr:
                out["mono_sr"][rows] = normalise(centre_crop(inten, t.sr_stamp))

        self._in_threads(z, block)
        return out

    def _coefficients(self, zernikes_um: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(np.asarray(zernikes_um, dtype=np.float64))
        if z.ndim != 2 or z.shape[1] != self.n_zernikes:
            raise ValueError(f"expected {self.n_zernikes} Zernike coefficients per star, got shape {z.shape}")
        return z

    def _in_threads(self, z: np.ndarray, block) -> None:
        """Run ``block(z[rows], rows)`` on ``threads`` contiguous parts of the stars, one
        thread each with single-threaded BLAS: the element-wise steps (phases, sines,
        folding, binning) then use all cores too, not only the matrix products."""
        from threadpoolctl import threadpool_limits

        parts = min(self.threads, len(z))
        edges = np.linspace(0, len(z), parts + 1).round().astype(int)
        rows = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]
        with threadpool_limits(1, user_api="blas"):
            if parts == 1:
                block(z, rows[0])
                return
            jobs = [self._pool.submit(block, z[r], r) for r in rows]
            for job in jobs:
                job.result()

    def _scratch(self, S: int) -> dict[str, np.ndarray]:
        """This thread's work arrays for blocks of S stars, kept between blocks
        (fresh multi-MB arrays would cost page faults every block)."""
        local = self._local
        if getattr(local, "S", None) != S:
            P, n, m = self.telescope.pupil_samples, self.telescope.grid_samples, self.amp_pairs.shape[1]
            h, n_u, n_v = P // 2, self.kx_cos.shape[-1], self.ky_cos.shape[1]
            local.S = S
            local.arrays = {
                "phase": np.empty((2 * S, m)),                          # rows: star s, +x then -x
                "cos": np.empty((2 * S, m), dtype=self.real),
                "sin": np.empty((2 * S, m), dtype=self.real),
                # compact folded pairs, a 0 after each part for closed pairs:
                # [[R_e, 0, I_o, 0], [I_e, 0, -R_o, 0]] (inputs of the real, imaginary part)
                "packed": np.zeros((2, S, 2 * (m + 1)), dtype=self.real),
                "grid": np.empty((2, S, P * P), dtype=self.real),      # rows (c, s, y): [even | odd]
                # after x, on the distinct |u|: parts (even in u, odd in u) x (real, imaginary)
                "x": np.empty((2, 2, S, P, n_u), dtype=self.real),
                # folded along y: even rows (Zr_e, Zi_e), odd rows (Zi_o, -Zr_o) of each part Z
                "fe": np.empty((h, 2, 2, S, n_u), dtype=self.real),
                "fo": np.empty((h, 2, 2, S, n_u), dtype=self.real),
                "rows": np.empty((2, n_v, 2, 2, S, n_u), dtype=self.real),   # [v > 0 | v < 0]
                "r": np.empty((n, 2, 2, S, n_u), dtype=self.real),
                "cols": np.empty((n, 2, S, 2 * n_u), dtype=self.real),       # [u > 0 | u < 0]
                "e": np.empty((n, 2, S, n), dtype=self.real),                # (v, re/im, star, u)
                "amp": np.tile(self.amp_pairs, (S, 1)),
            }
        return local.arrays

    def _intensity_block(self, z: np.ndarray, out: np.ndarray) -> None:
        """The chain for the stars ``z`` (S, nz) into ``out`` (S, L, n, n)."""
        S, P = z.shape[0], self.telescope.pupil_samples
        h, m, n_u = P // 2, self.amp_pairs.shape[1], self.kx_cos.shape[-1]
        opd = z @ self.basis_pairs                                   # (S, 2 m), um, float64
        w = self._scratch(S)
        phase, cos, sin, packed, grid = (w[k] for k in ("phase", "cos", "sin", "packed", "grid"))
        x, fe, fo, rows, r, cols, e = (w[k] for k in ("x", "fe", "fo", "rows", "r", "cols", "e"))
        for l, lam in enumerate(self.wavelengths_um):
            np.multiply(opd.reshape(2 * S, m), 2.0 * np.pi / lam, out=phase)
            if self._sincos is not None:
                self._sincos(phase, cos, sin, scale=self.amp_pairs)
            else:
                p32 = phase.astype(self.real)
                np.cos(p32, out=cos)
                np.sin(p32, out=sin)
                cos *= w["amp"]
                sin *= w["amp"]
            cp, cn = cos[0::2], cos[1::2]                            # (S, m) each
            sp, sn = sin[0::2], sin[1::2]
            np.add(cp, cn, out=packed[0, :, :m])                     # R_e
            np.subtract(sp, sn, out=packed[0, :, m + 1:-1])          # I_o
            np.add(sp, sn, out=packed[1, :, :m])                     # I_e
            np.subtract(cn, cp, out=packed[1, :, m + 1:-1])          # -R_o
            np.take(packed, self.grid_index, axis=2, out=grid, mode="clip")
            # along x, per |u|: part A (even in u) = [R_e, I_e] . cos, part B (odd) = [I_o, -R_o] . sin
            rows_in = grid.reshape(2 * S * P, P)
            np.matmul(rows_in[:, :h], self.kx_cos[l], out=x[0].reshape(2 * S * P, n_u))
            np.matmul(rows_in[:, h:], self.kx_sin[l], out=x[1].reshape(2 * S * P, n_u))
            # along y: fold the row pairs (y > 0 rows h.., mirrors h-1..0) of both parts
            pos, neg = x[:, :, :, h:], x[:, :, :, h - 1::-1]
            np.add(pos, neg, out=fe.transpose(1, 2, 3, 0, 4))                      # Zr_e, Zi_e
            np.subtract(pos[:, 1], neg[:, 1], out=fo[:, :, 0].transpose(1, 2, 0, 3))  # Zi_o
            np.subtract(neg[:, 0], pos[:, 0], out=fo[:, :, 1].transpose(1, 2, 0, 3))  # -Zr_o
            even = (self.ky_cos[l] @ fe.reshape(h, -1)).reshape(-1, 2, 2, S, n_u)  # per |v|
            odd = (self.ky_sin[l] @ fo.reshape(h, -1)).reshape(-1, 2, 2, S, n_u)
            # unfold: v = +-|v| rows, then u = +-|u| columns; |E|^2
            np.add(even, odd, out=rows[0])
            np.subtract(even, odd, out=rows[1])
            np.take(rows.reshape(-1, 2, 2, S, n_u), self.v_take, axis=0, out=r, mode="clip")
            np.add(r[:, 0], r[:, 1], out=cols[..., :n_u])
            np.subtract(r[:, 0], r[:, 1], out=cols[..., n_u:])
            np.take(cols, self.u_take, axis=3, out=e, mode="clip")
            np.add(np.square(e[:, 0]), np.square(e[:, 1]), out=out[:, l].transpose(1, 0, 2))
