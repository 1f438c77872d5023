"""A differentiable WaveDiff-style PSF model in TensorFlow (REFERENCE §4).

The model learns the wavefront (optical path difference, OPD, in um) across
the field and renders stars through the SAME optical chain as the simulator
(:mod:`starsed.optics`): the Fourier matrices come from
:func:`starsed.optics.mft_matrices` (folded into real kernels by
:func:`starsed.optics.folded_kernels`), the pupil from
:func:`starsed.pupil.pupil_amplitude` (the simulator's own mask block-averaged
to the model's sampling), the Zernikes from :func:`starsed.zernike.zernike_basis`
and the position monomials from :func:`starsed.field.monomials`.

    OPD(x, y) = sum_k z_k(x, y) Z_k  +  (m5(x, y)^T A) S          [um]
                parametric: z = C_hat m(x, y)   data-driven (optional)
    pupil field A exp(2 pi i OPD / lambda) -> |MFT|^2 on the oversampled grid
    -> 3 x 3 binning -> unit flux per wavelength -> SED-weighted sum

Training recipes (:class:`Recipe`):

``fast``
    full-batch L-BFGS (``scipy.optimize.minimize``) with TensorFlow gradients
    on the parametric part, the position monomials orthonormalised over the
    training positions (a preconditioner; the saved model is in the plain
    monomial basis) and the parameters whitened by a Gauss-Newton Hessian
    (exact Zernike Jacobians of a coarser model pupil, re-estimated every few
    passes); an optional Gaussian prior on the Zernike field; optional
    data-driven phase afterwards; optional warm start from a model trained on
    a subset of the same stars.
``paper``
    the paper's schedule: ``cycles`` cycles of (parametric phase, data-driven
    phase), Adam with mini-batches, the data-driven part off during the first
    parametric phase; the best epoch (lowest epoch-mean training loss) kept.

The loss is the noise-weighted mean squared error to the noisy stars: star i
has weight w_i = (1 / sigma_i^2) / median_j(1 / sigma_j^2), sigma_i estimated
robustly from the stamp's pixels farther than ``noise_radius_px`` from the
centre (:func:`noise_sigma_robust`). L-BFGS minimises the same loss times
median(1 / sigma^2) (a reduced chi^2, order 1), which has the same minimum
(plus the field prior, when one is set).

A trained model is saved as plain arrays (HDF5, :func:`starsed.io.write_h5`)
plus its configuration (JSON attribute); reruns give the same bytes.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from tqdm.auto import tqdm

from .config import Telescope, require
from .field import monomials
from .optics import folded_kernels, mft_matrices, precision_dtypes
from .pupil import pupil_amplitude
from .zernike import zernike_basis

RECIPES = ("fast", "paper")
MODELS = ("poly",)
PREDICT_KINDS = ("poly", "mono", "sr")


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class PSFModelConfig:
    """Architecture of the PSF model (what is needed to rebuild it, with its arrays).

    ``pupil_samples``: model pupil sampling P; the simulator's (the telescope's)
    sampling must be a multiple of it (the model pupil is the simulator's mask
    block-averaged). ``degree``: parametric monomial degree (15 monomials for 4).
    ``data_driven``: include the data-driven OPD (``dd_features`` maps mixed by
    the monomials of degree ``dd_degree``; the mixing has an L1 penalty ``dd_l1``).
    ``precision``: 'single' (complex64 arithmetic as float32 pairs) or 'double'.
    ``batch_stars``: stars per forward/backward chunk (bounds memory, not results).
    ``jit``: compile the chunk functions with XLA.
    """

    model: str = "poly"
    n_zernikes: int = 45
    degree: int = 4
    pupil_samples: int = 128
    data_driven: bool = False
    dd_features: int = 21
    dd_degree: int = 5
    dd_l1: float = 1e-8
    noise_radius_px: float = 10.0
    field_size: float = 1000.0
    precision: str = "single"
    batch_stars: int = 32
    jit: bool = True

    def __post_init__(self):
        require(self.model in MODELS, "psf_model.model", self.model, f"one of {list(MODELS)}")
        require(isinstance(self.n_zernikes, (int, np.integer)) and self.n_zernikes >= 1,
                "psf_model.n_zernikes", self.n_zernikes, "an integer >= 1")
        require(isinstance(self.degree, (int, np.integer)) and self.degree >= 0,
                "psf_model.degree", self.degree, "an integer >= 0")
        require(isinstance(self.pupil_samples, (int, np.integer)) and self.pupil_samples >= 8
                and self.pupil_samples % 2 == 0, "psf_model.pupil_samples", self.pupil_samples,
                "an even integer >= 8")
        require(isinstance(self.dd_features, (int, np.integer)) and self.dd_features >= 1,
                "psf_model.dd_features", self.dd_features, "an integer >= 1")
        n5 = (self.dd_degree + 1) * (self.dd_degree + 2) // 2
        require(isinstance(self.dd_degree, (int, np.integer)) and self.dd_degree >= 0,
                "psf_model.dd_degree", self.dd_degree, "an integer >= 0")
        require(self.dd_features == n5, "psf_model.dd_features", self.dd_features,
                f"the number of monomials of degree <= dd_degree = {n5} (square mixing matrix)")
        require(self.dd_l1 >= 0, "psf_model.dd_l1", self.dd_l1, "a number >= 0")
        require(self.noise_radius_px > 0, "psf_model.noise_radius_px", self.noise_radius_px,
                "a positive number of pixels")
        require(self.precision in ("single", "double"), "psf_model.precision", self.precision,
                "'single' or 'double'")
        require(isinstance(self.batch_stars, (int, np.integer)) and self.batch_stars >= 1,
                "psf_model.batch_stars", self.batch_stars, "an integer >= 1")

    @property
    def n_monomials(self) -> int:
        return (self.degree + 1) * (self.degree + 2) // 2

    @classmethod
    def from_params(cls, section: Mapping[str, Any]) -> "PSFModelConfig":
        """Pick this dataclass's keys out of the ``psf_model`` params section."""
        keys = set(cls.__dataclass_fields__)
        d = {k: v for k, v in section.items() if k in keys}
        if "model_pupil_samples" in section:
            d["pupil_samples"] = section["model_pupil_samples"]
        return cls(**d)


@dataclass(frozen=True)
class Recipe:
    """How to train. ``name`` 'fast' (L-BFGS) or 'paper' (Adam, the paper's schedule).

    fast: ``passes`` L-BFGS iterations on the parametric part (each iteration
    is one or a few full-batch forward+backward passes), then ``dd_passes`` on
    the data-driven part if the model has one. With ``precond_stars`` > 0 the
    parameters are whitened by a Gauss-Newton Hessian estimated on that many
    stars (Jacobians from a model pupil of ``precond_pupil_samples``, diagonal
    damping ``precond_damping`` x its mean), re-estimated every
    ``precond_every`` passes (0: once), after ``warmup_passes`` plain passes
    when starting from random arrays. ``field_prior_um`` > 0 adds a Gaussian
    prior of that standard deviation on every Zernike coefficient over a
    regular field grid (weighted as one star's pixels), which keeps the
    degree-4 field from running away in corners without training stars.
    paper: ``cycles`` cycles; ``param_epochs`` and ``dd_epochs`` one entry per
    cycle; mini-batches of ``batch`` stars; Adam learning rates ``lr_param``
    and ``lr_dd``.
    """

    name: str = "fast"
    passes: int = 100
    dd_passes: int = 20
    warmup_passes: int = 20
    precond_stars: int = 0
    precond_pupil_samples: int = 64
    precond_damping: float = 1e-4
    precond_every: int = 0
    field_prior_um: float = 0.0
    cycles: int = 2
    param_epochs: tuple[int, ...] = (20, 20)
    dd_epochs: tuple[int, ...] = (120, 100)
    batch: int = 32
    lr_param: float = 1e-2
    lr_dd: float = 1e-1
    seed: int = 0

    def __post_init__(self):
        require(self.name in RECIPES, "psf_model.recipe", self.name, f"one of {list(RECIPES)}")
        require(self.passes >= 0, "psf_model.fast.passes", self.passes, "an integer >= 0")
        require(self.dd_passes >= 0, "psf_model.fast.dd_passes", self.dd_passes, "an integer >= 0")
        require(self.cycles >= 1, "psf_model.paper.cycles", self.cycles, "an integer >= 1")
        require(len(self.param_epochs) == self.cycles, "psf_model.paper.param_epochs",
                list(self.param_epochs), f"one entry per cycle ({self.cycles})")
        require(len(self.dd_epochs) == self.cycles, "psf_model.paper.dd_epochs",
                list(self.dd_epochs), f"one entry per cycle ({self.cycles})")
        require(self.batch >= 1, "psf_model.paper.batch", self.batch, "an integer >= 1")
        require(self.lr_param > 0 and self.lr_dd > 0, "psf_model.paper learning rates",
                (self.lr_param, self.lr_dd), "positive numbers")


# --------------------------------------------------------------------------- noise weights
def noise_sigma_robust(stamps: np.ndarray, radius_px: float = 10.0) -> np.ndarray:
    """Per-star noise sigma (flux units per pixel) from the stamp's outer pixels.

    Pixels farther than ``radius_px`` from the stamp centre ((n - 1) / 2 in
    0-based pixel coordinates): sigma = 1.4826 x median absolute deviation.
    """
    stamps = np.asarray(stamps, dtype=np.float64)
    n = stamps.shape[-1]
    c = (n - 1) / 2
    yy, xx = np.mgrid[:n, :n]
    outer = np.hypot(yy - c, xx - c) > radius_px
    require(outer.any(), "psf_model.noise_radius_px", radius_px, f"less than the stamp half-diagonal ({n} px stamp)")
    pix = stamps[..., outer]
    med = np.median(pix, axis=-1, keepdims=True)
    return 1.4826 * np.median(np.abs(pix - med), axis=-1)


def star_weights(sigma: np.ndarray) -> np.ndarray:
    """Loss weights (1 / sigma^2) / median(1 / sigma^2)."""
    inv = 1.0 / np.square(np.asarray(sigma, dtype=np.float64))
    require(np.all(np.isfinite(inv)), "sigma", "zero or non-finite values", "positive noise sigmas")
    return inv / np.median(inv)


# --------------------------------------------------------------------------- the model
def _check_stars(positions, sed_weights, n_bins: int, what: str = "stars"):
    positions = np.atleast_2d(np.asarray(positions, dtype=np.float64))
    require(positions.ndim == 2 and positions.shape[1] == 2, f"{what} positions", positions.shape,
            "an array (N, 2) of field positions")
    require(len(positions) > 0, f"number of {what}", 0, "at least one star")
    if sed_weights is not None:
        sed_weights = np.atleast_2d(np.asarray(sed_weights, dtype=np.float64))
        require(sed_weights.shape == (len(positions), n_bins), f"{what} sed_weights",
                sed_weights.shape, f"(N, n_bins) = ({len(positions)}, {n_bins}): one weight per wavelength bin")
    return positions, sed_weights


class PSFModel:
    """Trainable wavefront + the optical forward model, in TensorFlow.

    Arrays: ``C_hat`` (n_zernikes, n_monomials), um (parametric field);
    ``dd_mixing`` (dd_features, dd_features) and ``dd_maps_um``
    (dd_features, P, P), um (data-driven OPD; zeros when off).
    """

    def __init__(self, telescope: Telescope, config: PSFModelConfig = PSFModelConfig(),
                 C_hat: np.ndarray | None = None, dd_mixing: np.ndarray | None = None,
                 dd_maps_um: np.ndarray | None = None):
        import tensorflow as tf

        self.tf = tf
        self.telescope = telescope
        self.config = config
        P = config.pupil_samples
        require(telescope.pupil_samples % P == 0, "psf_model.pupil_samples", P,
                f"a divisor of the simulator's telescope.pupil_samples = {telescope.pupil_samples}")
        self.model_telescope = replace(telescope, pupil_samples=P)
        self.real, _ = precision_dtypes(config.precision)
        self.tf_real = tf.float32 if config.precision == "single" else tf.float64
        L = telescope.n_bins
        lam = telescope.wavelengths_um
        # --- shared constants: the one optics chain's builders
        self.pupil = pupil_amplitude(P, telescope.obscurations, reference_samples=telescope.pupil_samples)
        self.basis = zernike_basis(config.n_zernikes, P)                     # (nz, P, P)
        ay, ax = mft_matrices(self.model_telescope, lam, np.complex128)       # (L, n, P) each
        c = lambda a: tf.constant(np.asarray(a, dtype=self.real))  # noqa: E731
        self._amp = c(self.pupil)
        self._basis = c(self.basis.reshape(config.n_zernikes, P * P))
        self._k_phase = c(2.0 * np.pi / lam)                                 # rad / um
        self._kx = c(folded_kernels(ax, np.float64))                          # (L, P, n)
        self._ky = c(folded_kernels(ay, np.float64).transpose(0, 2, 1))       # (L, n, P)
        # --- parameters
        nz, nm, nf = config.n_zernikes, config.n_monomials, config.dd_features
        self.C_hat = np.zeros((nz, nm)) if C_hat is None else np.asarray(C_hat, np.float64)
        require(self.C_hat.shape == (nz, nm), "C_hat shape", self.C_hat.shape, f"({nz}, {nm})")
        self.dd_mixing = np.eye(nf) if dd_mixing is None else np.asarray(dd_mixing, np.float64)
        self.dd_maps_um = np.zeros((nf, P, P)) if dd_maps_um is None else np.asarray(dd_maps_um, np.float64)
        require(self.dd_mixing.shape == (nf, nf), "dd_mixing shape", self.dd_mixing.shape, f"({nf}, {nf})")
        require(self.dd_maps_um.shape == (nf, P, P), "dd_maps_um shape", self.dd_maps_um.shape,
                f"({nf}, {P}, {P})")
        self.history: list[dict] = []
        self._fns: dict = {}

    # ----------------------------------------------------------------- graph pieces
    def _mft(self, re, im, kx, ky):
        """Focal field (real, imaginary) of pupil fields re + i im (..., P, P) by the folded MFT.

        ``kx`` (L, [1,] P, n) and ``ky`` (L, [1,] n, P) broadcast against the
        leading axes (B, L[, K]). Returns two (..., n, n) arrays.
        """
        tf = self.tf
        P = self.config.pupil_samples
        h = P // 2
        n = self.telescope.grid_samples
        # fold along x (columns): [[R_e, I_o], [I_e, -R_o]] (starsed.optics._fold_last)
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

    def _intensity(self, opd_um):
        """Oversampled monochromatic intensities (B, L, n, n) of OPD maps (B, P, P), um."""
        tf = self.tf
        phase = opd_um[:, None, :, :] * self._k_phase[None, :, None, None]   # (B, L, P, P)
        er, ei = self._mft(self._amp * tf.cos(phase), self._amp * tf.sin(phase), self._kx, self._ky)
        return tf.square(er) + tf.square(ei)

    def _jacobian(self, z, sed):
        """d(polychromatic stamp)/d(Zernike coefficient): (B, n_zernikes, m, m) at z (B, nz), um^-1.

        Exact derivative of the forward model (no data-driven part): for each
        mode, the pupil-field derivative i (2 pi / lambda) Z_k U goes through
        the same MFT, then the chain rule through |.|^2, binning, unit flux
        and the SED weights.
        """
        tf = self.tf
        P, K = self.config.pupil_samples, self.config.n_zernikes
        o, m = self.telescope.oversampling, self.telescope.stamp_px
        opd = self._opd(z, None, None)
        kap = self._k_phase[None, :, None, None]
        phase = opd[:, None, :, :] * kap
        re, im = self._amp * tf.cos(phase), self._amp * tf.sin(phase)
        er, ei = self._mft(re, im, self._kx, self._ky)                        # (B, L, n, n)
        zk = tf.reshape(self._basis, [1, 1, K, P, P])
        kap5 = kap[..., None]
        der, dei = self._mft(-kap5 * zk * im[:, :, None], kap5 * zk * re[:, :, None],
                             self._kx[:, None], self._ky[:, None])            # (B, L, K, n, n)
        di = 2.0 * (er[:, :, None] * der + ei[:, :, None] * dei)
        b = tf.shape(z)[0]
        bi = tf.reduce_sum(tf.reshape(tf.square(er) + tf.square(ei), [b, -1, m, o, m, o]), axis=[3, 5])
        s = tf.reduce_sum(bi, axis=[2, 3], keepdims=True)                     # (B, L, 1, 1)
        mono = bi / s
        bdi = tf.reduce_sum(tf.reshape(di, [b, -1, K, m, o, m, o]), axis=[4, 6])  # (B, L, K, m, m)
        sd = tf.reduce_sum(bdi, axis=[3, 4], keepdims=True)
        dmono = (bdi - mono[:, :, None] * sd) / s[:, :, None]
        return tf_einsum(tf, "blkij,bl->bkij", dmono, sed)

    def zernike_jacobian(self, z_um: np.ndarray, sed_weights: np.ndarray, batch: int = 2) -> np.ndarray:
        """Jacobians (N, n_zernikes, m, m) of the polychromatic stamps w.r.t. the Zernike coefficients."""
        key = ("jac",)
        if key not in self._fns:
            self._fns[key] = self.tf.function(self._jacobian, jit_compile=self.config.jit, reduce_retracing=True)
        fn, N = self._fns[key], len(z_um)
        out = []
        for a in range(0, N, batch):
            sl = _padded(a, batch, N)
            j = fn(self.tf.constant(z_um[sl].astype(self.real)), self.tf.constant(sed_weights[sl].astype(self.real)))
            out.append(j.numpy()[: min(batch, N - a)].astype(np.float64))
        return np.concatenate(out)

    def _bin_normalise(self, inten):
        tf = self.tf
        o, m = self.telescope.oversampling, self.telescope.stamp_px
        shp = tf.shape(inten)
        binned = tf.reduce_sum(tf.reshape(inten, [shp[0], shp[1], m, o, m, o]), axis=[3, 5])
        return binned / tf.reduce_sum(binned, axis=[2, 3], keepdims=True)

    def _opd(self, z, dd_w, dd_maps):
        """OPD (B, P, P), um: Zernike part z (B, nz) plus data-driven dd_w (B, nf) @ maps."""
        tf = self.tf
        P = self.config.pupil_samples
        flat = tf.matmul(z, self._basis)
        if dd_w is not None:
            flat = flat + tf.matmul(dd_w, tf.reshape(dd_maps, [tf.shape(dd_maps)[0], P * P]))
        return tf.reshape(flat, [-1, P, P])

    def _poly(self, z, dd_w, dd_maps, sed):
        mono = self._bin_normalise(self._intensity(self._opd(z, dd_w, dd_maps)))
        return tf_einsum(self.tf, "blij,bl->bij", mono, sed)

    # ----------------------------------------------------------------- position features
    def monomials(self, positions: np.ndarray) -> np.ndarray:
        """Parametric monomials (N, n_monomials) of field positions (N, 2)."""
        return monomials(positions, self.config.degree, self.config.field_size)

    def dd_monomials(self, positions: np.ndarray) -> np.ndarray:
        """Data-driven monomials (N, dd_features) of field positions (N, 2)."""
        return monomials(positions, self.config.dd_degree, self.config.field_size)

    def zernikes_um(self, positions: np.ndarray) -> np.ndarray:
        """Parametric Zernike coefficients (N, n_zernikes), um, at field positions."""
        return self.monomials(positions) @ self.C_hat.T

    def opd_um(self, positions: np.ndarray) -> np.ndarray:
        """Model OPD maps (N, P, P), um, at field positions (zero outside the unit disk)."""
        positions, _ = _check_stars(positions, None, self.telescope.n_bins)
        opd = np.einsum("nk,kij->nij", self.zernikes_um(positions), self.basis)
        if self.config.data_driven:
            opd = opd + np.einsum("nf,fij->nij", self.dd_monomials(positions) @ self.dd_mixing,
                                  self.dd_maps_um)
        return opd

    # ----------------------------------------------------------------- prediction
    def _predict_fn(self, kind: str):
        key = ("predict", kind)
        if key not in self._fns:
            tf = self.tf
            n, sr = self.telescope.grid_samples, self.telescope.sr_stamp
            a = n // 2 - sr // 2

            def fn(z, dd_w, dd_maps, sed):
                inten = self._intensity(self._opd(z, dd_w if self.config.data_driven else None, dd_maps))
                if kind == "sr":
                    crop = inten[..., a:a + sr, a:a + sr]
                    mono = crop / tf.reduce_sum(crop, axis=[2, 3], keepdims=True)
                else:
                    mono = self._bin_normalise(inten)
                if kind == "mono":
                    return mono
                return tf_einsum(tf, "blij,bl->bij", mono, sed)

            self._fns[key] = tf.function(fn, jit_compile=self.config.jit, reduce_retracing=True)
        return self._fns[key]

    def predict(self, positions: np.ndarray, sed_weights: np.ndarray | None = None,
                kind: str = "poly", progress: bool = False) -> np.ndarray:
        """Model stamps at field positions (N, 2), unit flux.

        ``kind``: 'poly' (N, stamp, stamp) polychromatic at observation
        resolution (needs ``sed_weights`` (N, n_bins)); 'mono' (N, n_bins,
        stamp, stamp) monochromatic; 'sr' (N, sr, sr) super-resolved
        polychromatic (3x the pixel resolution, no binning).
        """
        require(kind in PREDICT_KINDS, "kind", kind, f"one of {list(PREDICT_KINDS)}")
        positions, sed_weights = _check_stars(positions, sed_weights, self.telescope.n_bins)
        if kind != "mono":
            require(sed_weights is not None, "sed_weights", None, f"(N, {self.telescope.n_bins}) for kind {kind!r}")
        else:
            sed_weights = np.full((len(positions), self.telescope.n_bins), 1.0 / self.telescope.n_bins)
        z = self.zernikes_um(positions)
        dd_w = self.dd_monomials(positions) @ self.dd_mixing
        fn = self._predict_fn(kind)
        B = self.config.batch_stars
        out = []
        for a in tqdm(range(0, len(positions), B), desc=f"predict {kind}", disable=not progress, unit="batch"):
            sl = _padded(a, B, len(positions))
            res = fn(*(self.tf.constant(v[sl].astype(self.real)) for v in (z, dd_w)),
                     self.tf.constant(self.dd_maps_um.astype(self.real)),
                     self.tf.constant(sed_weights[sl].astype(self.real)))
            out.append(res.numpy()[: min(B, len(positions) - a)])
        return np.concatenate(out).astype(np.float64)

    # ----------------------------------------------------------------- save / load
    def save(self, path: str | Path, provenance: Mapping | None = None) -> Path:
        """Write arrays (group ``model``) and the configuration (JSON attribute) to HDF5."""
        from .io import write_h5

        arrays = {"C_hat_um": self.C_hat}
        if self.config.data_driven:
            arrays.update(dd_mixing=self.dd_mixing, dd_maps_um=self.dd_maps_um)
        attrs = {"config": json.dumps(asdict(self.config), sort_keys=True),
                 "telescope": json.dumps(_telescope_dict(self.telescope), sort_keys=True)}
        if provenance is not None:
            attrs["provenance"] = provenance
        return write_h5(path, {"model": arrays}, attrs)

    @classmethod
    def load(cls, path: str | Path) -> "PSFModel":
        """Rebuild a model written by :meth:`save`."""
        from .io import read_attrs, read_h5

        attrs = read_attrs(path)
        config = PSFModelConfig(**attrs["config"])
        t = dict(attrs["telescope"])
        t["band_nm"] = tuple(t["band_nm"])
        t["axis_offset_px"] = tuple(t["axis_offset_px"])
        arrays = read_h5(path, "model")
        return cls(Telescope(**t), config, C_hat=arrays["C_hat_um"], dd_mixing=arrays.get("dd_mixing"),
                   dd_maps_um=arrays.get("dd_maps_um"))

    # ----------------------------------------------------------------- training
    def _prepare(self, positions, noisy, sed_weights, sigma=None):
        positions, sed_weights = _check_stars(positions, sed_weights, self.telescope.n_bins, "training stars")
        noisy = np.asarray(noisy, dtype=np.float64)
        m = self.telescope.stamp_px
        require(noisy.shape == (len(positions), m, m), "training stars noisy", noisy.shape,
                f"(N, {m}, {m}) matching the positions")
        if sigma is None:
            sigma = noise_sigma_robust(noisy, self.config.noise_radius_px)
        w = star_weights(sigma)
        scale = float(np.median(1.0 / np.square(sigma)))
        return positions, noisy, sed_weights, w, scale

    def _loss_grad_fn(self, part: str):
        """Chunk function -> (sum_b w_b mse_b, grads) for part 'param' or 'dd'."""
        key = ("grad", part, self.config.data_driven)
        if key in self._fns:
            return self._fns[key]
        tf = self.tf
        use_dd = self.config.data_driven

        def fn(C, feats, mix, maps, m5, sed, obs, w):
            with tf.GradientTape() as tape:
                tape.watch([C, mix, maps])
                z = tf.matmul(feats, C, transpose_b=True)
                dd_w = tf.matmul(m5, mix) if use_dd else None
                model = self._poly(z, dd_w, maps, sed)
                mse = tf.reduce_mean(tf.square(model - obs), axis=[1, 2])
                loss = tf.reduce_sum(w * mse)
            grads = tape.gradient(loss, [C] if part == "param" else [mix, maps])
            return loss, grads

        self._fns[key] = tf.function(fn, jit_compile=self.config.jit, reduce_retracing=True)
        return self._fns[key]

    def _full_batch(self, part, C, feats, mix, maps, m5, sed, obs, w):
        """Sum over chunks of (loss, grads) in float64, full batch."""
        tf, B, N = self.tf, self.config.batch_stars, len(feats)
        fn = self._loss_grad_fn(part)
        cst = lambda a: tf.constant(np.asarray(a, dtype=self.real))  # noqa: E731
        Ct, mixt, mapst = cst(C), cst(mix), cst(maps)
        total, grads = 0.0, None
        for a in range(0, N, B):
            sl = _padded(a, B, N)
            wb = w[sl].copy()
            wb[min(B, N - a):] = 0.0                     # padding rows carry no weight
            loss, g = fn(Ct, cst(feats[sl]), mixt, mapst, cst(m5[sl]), cst(sed[sl]), cst(obs[sl]), cst(wb))
            total += float(loss.numpy())
            g = [x.numpy().astype(np.float64) for x in g]
            grads = g if grads is None else [x + y for x, y in zip(grads, g)]
        return total / N, [x / N for x in grads]

    def fit(self, positions: np.ndarray, noisy: np.ndarray, sed_weights: np.ndarray,
            recipe: Recipe = Recipe(), sigma: np.ndarray | None = None, init: str = "random",
            progress: bool = True, callback=None) -> list[dict]:
        """Train on noisy stars with known SEDs; returns the history (one dict per pass/epoch).

        ``init``: 'random' draws C_hat ~ U(-0.01, 0.01) um (and data-driven maps
        U(-0.001, 0.001) um, mixing = identity) from ``recipe.seed``; 'current'
        starts from the model's present arrays (a warm start).
        ``sigma``: per-star noise sigma; by default estimated from the stamps
        (:func:`noise_sigma_robust`). ``callback(entry, C_hat_um)``, if given,
        is called after every pass (fast) or epoch (paper).
        """
        require(init in ("random", "current"), "init", init, "'random' or 'current'")
        self._callback = callback
        self._fresh = init == "random"
        data = self._prepare(positions, noisy, sed_weights, sigma)
        if init == "random":
            rng = np.random.default_rng(recipe.seed)
            self.C_hat = rng.uniform(-0.01, 0.01, self.C_hat.shape)
            if self.config.data_driven:
                self.dd_maps_um = rng.uniform(-0.001, 0.001, self.dd_maps_um.shape)
                self.dd_mixing = np.eye(self.config.dd_features)
        t0 = time.perf_counter()
        if recipe.name == "fast":
            self._fit_fast(data, recipe, progress)
        else:
            self._fit_paper(data, recipe, progress)
        self.train_seconds = time.perf_counter() - t0
        return self.history

    # fast: L-BFGS ---------------------------------------------------------------
    def _gn_hessian(self, C_orth, feats, sed, w, recipe: Recipe) -> np.ndarray:
        """Gauss-Newton Hessian of the (unscaled) loss w.r.t. C_orth, (nz*nm, nz*nm).

        H = (2 / N) sum_i (w_i / n_pix) (J_i^T J_i) (x) (q_i q_i^T), J_i the
        Zernike Jacobian of star i (:meth:`zernike_jacobian`), q_i its position
        features; estimated on ``recipe.precond_stars`` stars drawn from
        ``recipe.seed`` with a model of ``recipe.precond_pupil_samples``
        (a preconditioner need not be exact).
        """
        N = len(feats)
        rng = np.random.default_rng(recipe.seed)
        idx = np.sort(rng.choice(N, size=min(N, recipe.precond_stars), replace=False))
        P = recipe.precond_pupil_samples or self.config.pupil_samples
        if self.telescope.pupil_samples % P:
            P = self.config.pupil_samples
        key = ("coarse", P)
        if key not in self._fns:
            self._fns[key] = PSFModel(self.telescope, replace(self.config, pupil_samples=P, data_driven=False))
        coarse = self._fns[key]
        q = feats[idx]
        J = coarse.zernike_jacobian(q @ C_orth.T, sed[idx])                   # (n, nz, m, m)
        J = J.reshape(len(idx), J.shape[1], -1)
        G = np.einsum("ikp,ilp->ikl", J, J)
        c = 2.0 * w[idx] / (J.shape[-1] * len(idx))
        nz, nm = C_orth.shape
        H = np.einsum("i,ikl,ia,ib->kalb", c, G, q, q, optimize=True)
        return H.reshape(nz * nm, nz * nm)

    def _fit_fast(self, data, recipe: Recipe, progress: bool):
        from scipy.linalg import solve_triangular
        from scipy.optimize import minimize

        positions, noisy, sed, w, scale = data
        M = self.monomials(positions)
        # orthonormalise the monomials over the training positions: q = m T
        q, r = np.linalg.qr(M)
        require(np.min(np.abs(np.diag(r))) > 1e-10 * np.max(np.abs(np.diag(r))), "training stars",
                len(positions), f"enough spread-out stars to fit {M.shape[1]} position monomials")
        T = np.linalg.inv(r) * np.sqrt(len(M))
        feats = M @ T
        m5 = self.dd_monomials(positions)
        nz, nm = self.C_hat.shape
        mix, maps = self.dd_mixing.copy(), self.dd_maps_um.copy()
        best = {"loss": np.inf}
        bar = tqdm(total=recipe.passes + (recipe.dd_passes if self.config.data_driven else 0),
                   desc=f"L-BFGS ({len(positions)} stars)", disable=not progress, unit="iter")

        def record(phase, loss, C_orth, mix_, maps_):
            self.history.append({"phase": phase, "loss": loss / scale,
                                 "seconds": time.perf_counter() - t_start})
            if self._callback is not None:
                self._callback(self.history[-1], C_orth @ T.T)
            if loss < best["loss"]:
                best.update(loss=loss, C=C_orth @ T.T, mix=mix_.copy(), maps=maps_.copy())

        t_start = time.perf_counter()
        state = {"C": np.linalg.solve(T, self.C_hat.T).T}     # C_orth = C_hat T^-T

        # optional Gaussian prior on the Zernike field: z_k(x, y) ~ N(0, field_prior_um^2) on a
        # regular 21 x 21 field grid, weighted as one star's worth of pixels per grid average
        # (tames the polynomial's extrapolation to field corners without training stars)
        g1 = np.linspace(0.0, self.config.field_size, 21)
        grid = np.stack(np.meshgrid(g1, g1), axis=-1).reshape(-1, 2)
        q_grid = self.monomials(grid) @ T
        lam = 0.0
        if recipe.field_prior_um > 0:
            lam = 1.0 / (len(positions) * noisy[0].size * recipe.field_prior_um ** 2)
        Qg = lam * (q_grid.T @ q_grid) / len(grid)                 # penalty = tr(C Qg C^T)

        def f_param(x):
            C = x.reshape(nz, nm)
            loss, (g,) = self._full_batch("param", C, feats, mix, maps, m5, sed, noisy, w)
            loss = loss * scale + float(np.sum((C @ Qg) * C))
            g = g * scale + 2.0 * C @ Qg
            record("param", loss, C, mix, maps)
            return loss, g.ravel()

        opts = {"maxcor": 20, "ftol": 1e-15, "gtol": 1e-12}
        passes = recipe.passes
        if passes and recipe.precond_stars:
            # Gauss-Newton preconditioner: whiten the parameters with the (damped)
            # Gauss-Newton Hessian H = L L^T at the start point, x = L^-T y; L-BFGS
            # then sees a Hessian near the identity. From a random start the
            # curvature of the even modes is ~0, so a few plain passes come first.
            warm = min(recipe.warmup_passes, passes) if self._fresh else 0
            if warm:
                minimize(f_param, state["C"].ravel(), jac=True, method="L-BFGS-B",
                         callback=lambda x: bar.update(1), options={"maxiter": warm, **opts})
                state["C"] = best["C"] @ np.linalg.inv(T.T)
                passes -= warm
            every = recipe.precond_every or passes
            while passes > 0:
                H = scale * self._gn_hessian(state["C"], feats, sed, w, recipe) + 2.0 * np.kron(np.eye(nz), Qg)
                H[np.diag_indices_from(H)] += recipe.precond_damping * np.mean(np.diag(H))
                Lc = np.linalg.cholesky(H)

                # scale the whitened variables so that L-BFGS's first trial step (unit
                # length) is the Gauss-Newton step: y = s L^T x, s = 1 / |L^-1 g0|
                x0 = state["C"].ravel()
                first = f_param(x0)
                s_ = 1.0 / max(np.linalg.norm(solve_triangular(Lc, first[1], lower=True)), 1e-300)
                cache = {"x": x0, "value": first}

                def f_y(y, Lc=Lc, s_=s_, cache=cache):
                    x = solve_triangular(Lc.T, y / s_, lower=False)
                    if cache["x"] is not None and np.array_equal(x, cache["x"]):
                        loss, g = cache["value"]
                    else:
                        loss, g = f_param(x)
                    cache["x"] = None
                    return loss, solve_triangular(Lc, g, lower=True) / s_

                res = minimize(f_y, s_ * (Lc.T @ x0), jac=True, method="L-BFGS-B",
                               callback=lambda x: bar.update(1),
                               options={"maxiter": min(every, passes), **opts})
                state["C"] = best["C"] @ np.linalg.inv(T.T)
                passes -= min(every, passes)
                self.last_result = res
        elif passes:
            res = minimize(f_param, state["C"].ravel(), jac=True, method="L-BFGS-B",
                           callback=lambda x: bar.update(1), options={"maxiter": passes, **opts})
            state["C"] = best["C"] @ np.linalg.inv(T.T)
            self.last_result = res
        if self.config.data_driven and recipe.dd_passes:
            C_fix = best["C"] @ np.linalg.inv(T.T) if "C" in best else state["C"]
            nf, P = self.config.dd_features, self.config.pupil_samples
            l1 = self.config.dd_l1

            def f_dd(x):
                mix_ = x[: nf * nf].reshape(nf, nf)
                maps_ = x[nf * nf:].reshape(nf, P, P)
                loss, (gm, gs) = self._full_batch("dd", C_fix, feats, mix_, maps_, m5, sed, noisy, w)
                loss = scale * (loss + l1 * np.abs(mix_).sum())
                gm = scale * (gm + l1 * np.sign(mix_))
                record("dd", loss, C_fix, mix_, maps_)
                return loss, np.concatenate([gm.ravel(), scale * gs.ravel()])

            x0 = np.concatenate([mix.ravel(), maps.ravel()])
            minimize(f_dd, x0, jac=True, method="L-BFGS-B", callback=lambda x: bar.update(1),
                     options={"maxiter": recipe.dd_passes, "maxcor": 20, "ftol": 1e-15, "gtol": 1e-12})
        bar.close()
        if "C" in best:
            self.C_hat, self.dd_mixing, self.dd_maps_um = best["C"], best["mix"], best["maps"]

    # paper: Adam, 2 cycles ------------------------------------------------------
    def _fit_paper(self, data, recipe: Recipe, progress: bool):
        import keras

        tf = self.tf
        positions, noisy, sed, w, scale = data
        N = len(positions)
        feats, m5 = self.monomials(positions), self.dd_monomials(positions)
        cst = lambda a: tf.constant(np.asarray(a, dtype=self.real))  # noqa: E731
        C = tf.Variable(self.C_hat.astype(self.real))
        mix = tf.Variable(self.dd_mixing.astype(self.real))
        maps = tf.Variable(self.dd_maps_um.astype(self.real))
        rng = np.random.default_rng(recipe.seed)
        B = recipe.batch
        l1 = self.config.dd_l1
        use_dd = self.config.data_driven
        best = {"loss": np.inf, "C": self.C_hat.copy(), "mix": self.dd_mixing.copy(),
                "maps": self.dd_maps_um.copy()}
        t_start = time.perf_counter()

        def make_step(part, opt, dd_on):
            vars_ = [C] if part == "param" else [mix, maps]

            def step(feats_b, m5_b, sed_b, obs_b, w_b):
                with tf.GradientTape() as tape:
                    z = tf.matmul(feats_b, C, transpose_b=True)
                    dd_w = tf.matmul(m5_b, mix) if dd_on else None
                    model = self._poly(z, dd_w, maps, sed_b)
                    loss = tf.reduce_mean(w_b * tf.reduce_mean(tf.square(model - obs_b), axis=[1, 2]))
                    if dd_on:
                        loss = loss + l1 * tf.reduce_sum(tf.abs(mix))
                grads = tape.gradient(loss, vars_)
                opt.apply_gradients(zip(grads, vars_))
                return loss
            return tf.function(step, jit_compile=self.config.jit, reduce_retracing=True)

        phases = []
        for cycle in range(recipe.cycles):
            phases.append(("param", recipe.param_epochs[cycle], recipe.lr_param, use_dd and cycle > 0))
            if use_dd:
                phases.append(("dd", recipe.dd_epochs[cycle], recipe.lr_dd, True))
        total = sum(p[1] for p in phases)
        bar = tqdm(total=total, desc=f"Adam ({N} stars)", disable=not progress, unit="epoch")
        for part, epochs, lr, dd_on in phases:
            opt = keras.optimizers.Adam(learning_rate=lr)
            step = make_step(part, opt, dd_on)
            for _ in range(epochs):
                order = rng.permutation(N)
                losses = []
                for a in range(0, N, B):
                    idx = order[a:a + B]
                    losses.append(float(step(cst(feats[idx]), cst(m5[idx]), cst(sed[idx]),
                                             cst(noisy[idx]), cst(w[idx])).numpy()) * len(idx))
                loss = sum(losses) / N
                self.history.append({"phase": part, "loss": loss, "seconds": time.perf_counter() - t_start})
                if self._callback is not None:
                    self._callback(self.history[-1], C.numpy().astype(np.float64))
                if np.isfinite(loss) and loss < best["loss"]:
                    best.update(loss=loss, C=C.numpy().astype(np.float64), mix=mix.numpy().astype(np.float64),
                                maps=maps.numpy().astype(np.float64))
                bar.update(1)
        bar.close()
        self.C_hat, self.dd_mixing, self.dd_maps_um = best["C"], best["mix"], best["maps"]

    def loss(self, positions, noisy, sed_weights, sigma=None) -> float:
        """Noise-weighted MSE of the current model (the training loss, without the L1 term)."""
        positions, noisy, sed, w, _ = self._prepare(positions, noisy, sed_weights, sigma)
        loss, _ = self._full_batch("param", self.C_hat, self.monomials(positions), self.dd_mixing,
                                   self.dd_maps_um, self.dd_monomials(positions), sed, noisy, w)
        return loss


def tf_einsum(tf, eq, *args):
    return tf.einsum(eq, *args)


def _padded(a: int, B: int, N: int) -> np.ndarray:
    """Row indices a..a+B-1, the ones past N repeating the last row (fixed shapes for XLA)."""
    return np.minimum(np.arange(a, a + B), N - 1)


def _telescope_dict(t: Telescope) -> dict:
    d = asdict(t)
    d["band_nm"] = list(d["band_nm"])
    d["axis_offset_px"] = list(d["axis_offset_px"])
    return d


# --------------------------------------------------------------------------- experiment E1
def set_names(n_sets: int) -> list[str]:
    """Names of the nested training sets: S1, S2, ..."""
    return [f"S{i + 1}" for i in range(n_sets)]


def recipe_from_params(section: Mapping[str, Any], index: int) -> Recipe:
    """The :class:`Recipe` of training set number ``index`` (0-based) from the ``psf_model`` section.

    Per-set lists (``fast.passes``, ``fast.dd_passes``, ``paper.param_epochs``,
    ``paper.dd_epochs``) need one entry per training set.
    """
    name = section.get("recipe", "fast")
    require(name in RECIPES, "psf_model.recipe", name, f"one of {list(RECIPES)}")
    n_sets = len(section["training_sets"])
    fast, paper = section.get("fast", {}), section.get("paper", {})

    def per_set(block, key, where):
        values = block[key]
        require(len(values) == n_sets, f"psf_model.{where}.{key}", values,
                f"one entry per training set ({n_sets})")
        return values[index]

    kw = {"name": name, "seed": int(section.get("seed", 0)) + index}
    if name == "fast":
        kw.update(passes=int(per_set(fast, "passes", "fast")),
                  dd_passes=int(per_set(fast, "dd_passes", "fast")),
                  warmup_passes=int(fast.get("warmup_passes", 20)), precond_stars=int(fast.get("precond_stars", 0)),
                  precond_pupil_samples=int(fast.get("precond_pupil_samples", 64)),
                  precond_damping=float(fast.get("precond_damping", 1e-4)),
                  precond_every=int(fast.get("precond_every", 0)),
                  field_prior_um=float(fast.get("field_prior_um", 0.0)))
    else:
        cycles = int(paper.get("cycles", 2))
        kw.update(cycles=cycles, param_epochs=tuple(per_set(paper, "param_epochs", "paper")),
                  dd_epochs=tuple(per_set(paper, "dd_epochs", "paper")), batch=int(paper.get("batch", 32)),
                  lr_param=float(paper.get("lr_param", 1e-2)), lr_dd=float(paper.get("lr_dd", 1e-1)))
    return Recipe(**kw)


def evaluate(model: PSFModel, test: Mapping[str, np.ndarray]) -> dict:
    """Errors of ``model`` on noiseless test stars (REFERENCE §7).

    ``test`` needs positions, sed_weights, noiseless, and optionally mono
    (monochromatic truth), sr (super-resolved truth) and zernikes_um (for the
    OPD error). Returns :func:`starsed.metrics.psf.psf_errors` plus
    'opd_rmse_nm' (mean over stars, piston removed, model pupil sampling).
    """
    from .metrics.psf import opd_rmse_um, psf_errors
    from .optics import polychromatic

    pos, sed = test["positions"], test["sed_weights"]
    mono = model.predict(pos, sed, kind="mono")
    poly = polychromatic(mono, np.asarray(sed, np.float64))
    sr = model.predict(pos, sed, kind="sr") if "sr" in test else None
    out = psf_errors(poly, test["noiseless"], sr, test.get("sr"), mono, test.get("mono"))
    if "zernikes_um" in test:
        truth = np.einsum("nk,kij->nij", np.asarray(test["zernikes_um"])[:, :model.config.n_zernikes],
                          model.basis)
        out["opd_rmse_nm"] = float(1000.0 * opd_rmse_um(model.opd_um(pos), truth, model.pupil).mean())
    return out


def train_training_sets(telescope: Telescope, train: Mapping[str, np.ndarray],
                        test: Mapping[str, np.ndarray], section: Mapping[str, Any],
                        progress: bool = True) -> tuple[dict, dict]:
    """Experiment E1: one model per nested training set (the first n stars of ``train``).

    ``section``: the resolved ``psf_model`` params. With recipe 'fast' and
    ``warm_start``, set k+1 starts from set k's fit (set k is a subset of set
    k+1); ``train_seconds`` is then the time of that set's own training, and
    ``cumulative_seconds`` includes the sets it was warm-started from.
    Returns (results {name: metrics}, models {name: PSFModel}).
    """
    config = PSFModelConfig.from_params(section)
    sizes = [int(n) for n in section["training_sets"]]
    require(len(sizes) > 0 and all(n > 0 for n in sizes), "psf_model.training_sets", sizes,
            "a non-empty list of positive star counts")
    require(sizes == sorted(sizes), "psf_model.training_sets", sizes, "increasing (nested) star counts")
    n_pool = len(train["positions"])
    require(sizes[-1] <= n_pool, "psf_model.training_sets", sizes, f"at most the {n_pool} stars of the pool")
    warm = bool(section.get("warm_start", False)) and section.get("recipe", "fast") == "fast"
    results, models, prev, cumulative = {}, {}, None, 0.0
    for i, (name, n) in enumerate(zip(set_names(len(sizes)), sizes)):
        recipe = recipe_from_params(section, i)
        model = PSFModel(telescope, config)
        if warm and prev is not None:
            model.C_hat, model.dd_mixing, model.dd_maps_um = prev.C_hat.copy(), prev.dd_mixing.copy(), prev.dd_maps_um.copy()
        model.fit(train["positions"][:n], train["noisy"][:n], train["sed_weights"][:n], recipe,
                  init="current" if (warm and prev is not None) else "random", progress=progress)
        cumulative = (cumulative if warm else 0.0) + model.train_seconds
        err = evaluate(model, test)
        results[name] = {
            "n_train": n,
            "rel_rmse_pct": err["rel_rmse_pct"], "rel_rmse_std_pct": err["rel_rmse_std_pct"],
            "sr_rel_rmse_pct": err.get("sr_rel_rmse_pct"), "sr_rel_rmse_std_pct": err.get("sr_rel_rmse_std_pct"),
            "mono_rel_rmse_pct": err.get("mono_rel_rmse_pct"), "opd_rmse_nm": err.get("opd_rmse_nm"),
            "train_seconds": model.train_seconds, "cumulative_seconds": cumulative,
            "passes": len(model.history), "final_loss": model.history[-1]["loss"] if model.history else None,
            "warm_start_from": set_names(len(sizes))[i - 1] if (warm and i > 0) else None,
            "recipe": recipe.name,
            "per_star": err["per_star"], "sr_per_star": err.get("sr_per_star"),
        }
        models[name] = model
        prev = model
        if progress:
            print(f"{name}: n={n} err={err['rel_rmse_pct']:.3f}% sr={err.get('sr_rel_rmse_pct', float('nan')):.3f}% "
                  f"train={model.train_seconds:.1f}s", flush=True)
    return results, models


# --------------------------------------------------------------------------- pipeline step
TEST_KEYS = ("positions", "sed_weights", "noiseless", "sr", "mono", "zernikes_um")
TRAIN_KEYS = ("positions", "sed_weights", "noisy")
METRIC_KEYS = ("n_train", "rel_rmse_pct", "rel_rmse_std_pct", "sr_rel_rmse_pct", "sr_rel_rmse_std_pct",
               "mono_rel_rmse_pct", "opd_rmse_nm", "train_seconds", "cumulative_seconds", "passes",
               "final_loss", "warm_start_from", "recipe")


def result_rows(results: Mapping[str, Mapping]) -> list[dict]:
    """Rows for the PSF-model table: ours beside the paper's error at the same star count."""
    from .metrics.psf import PAPER_PSF_ERROR

    rows = []
    for name, r in results.items():
        paper = PAPER_PSF_ERROR.get(r["n_train"], (None, None))
        rows.append({"model": name, "n_train": r["n_train"], "rel_rmse_pct": r["rel_rmse_pct"],
                     "rel_rmse_std_pct": r["rel_rmse_std_pct"], "sr_rel_rmse_pct": r["sr_rel_rmse_pct"],
                     "paper_rel_rmse_pct": paper[0], "train_seconds": r["train_seconds"]})
    return rows


TABLE_COLUMNS = [("model", "model"), ("n_train", "training stars"), ("rel_rmse_pct", "pixel error [%]"),
                 ("rel_rmse_std_pct", "std [%]"), ("sr_rel_rmse_pct", "SR error [%]"),
                 ("paper_rel_rmse_pct", "paper [%]"), ("train_seconds", "train [s]")]
TABLE_FORMATS = {"rel_rmse_pct": ".3f", "rel_rmse_std_pct": ".3f", "sr_rel_rmse_pct": ".3f",
                 "paper_rel_rmse_pct": ".3f", "train_seconds": ".0f"}


def run_stage(params: Mapping[str, Any], simulate_path: str | Path = "data/simulate/main.h5",
              models_dir: str | Path = "models/psf", progress: bool = True) -> dict:
    """The ``psf_models`` step: train S1..S6 on the pool, evaluate on the test stars, save models.

    Writes ``<models_dir>/S<k>.h5`` (one model each, with provenance) and
    ``<models_dir>/test_errors.h5`` (per-star errors); returns the metrics
    ({name: {n_train, rel_rmse_pct, ...}}, plus 'total_train_seconds').
    """
    from .io import provenance, read_h5, write_h5

    section = params["psf_model"]
    telescope = Telescope.from_params(params["telescope"])
    sizes = [int(n) for n in section["training_sets"]]
    require(len(sizes) > 0, "psf_model.training_sets", sizes, "a non-empty list of positive star counts")
    train = read_h5(simulate_path, "train", list(TRAIN_KEYS), rows=slice(0, max(sizes)))
    test = read_h5(simulate_path, "test", list(TEST_KEYS), rows=slice(0, int(section["n_test"])))
    results, models = train_training_sets(telescope, train, test, section, progress=progress)
    models_dir = Path(models_dir)
    prov = provenance(params, seed=section.get("seed"), inputs={"simulate": str(simulate_path)},
                      sections=("telescope", "field", "psf_model"))
    for name, model in models.items():
        model.save(models_dir / f"{name}.h5", provenance=prov)
    write_h5(models_dir / "test_errors.h5",
             {name: {"rel_rmse": r["per_star"], "sr_rel_rmse": r["sr_per_star"]} for name, r in results.items()},
             {"provenance": prov})
    metrics = {name: {k: r[k] for k in METRIC_KEYS} for name, r in results.items()}
    metrics["total_train_seconds"] = float(sum(r["train_seconds"] for r in results.values()))
    return metrics
