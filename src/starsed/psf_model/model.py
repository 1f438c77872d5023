"""The PSF model: a trainable wavefront field rendered through the optical chain.

    OPD(x, y) = sum_k z_k(x, y) Z_k  +  (m5(x, y)^T A) S          [um]
                parametric: z = C_hat m(x, y)   data-driven (optional)
                (+ a per-detector defocus on z_4, optional: :mod:`.detectors`)
    pupil field A exp(2 pi i OPD / lambda) -> |MFT|^2 on the oversampled grid
    -> 3 x 3 binning -> unit flux per wavelength -> SED-weighted sum

The optics are :class:`starsed.optics.tf_optics.TFOptics` (the simulator's
chain in TensorFlow). :class:`PSFModel` holds the arrays, predicts stamps,
evaluates the training objective and its gradient, and saves/loads itself as
plain HDF5 arrays plus its configuration; training methods live in
:mod:`starsed.psf_model.lbfgs` and :mod:`starsed.psf_model.adam`.

The objective is the noise-weighted mean squared error to the noisy stars:
star i has weight w_i = (1 / sigma_i^2) / median_j(1 / sigma_j^2)
(:class:`~starsed.psf_model.data.TrainingData`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np
from tqdm.auto import tqdm

from ..optics.tf_optics import TFOptics, padded_rows
from ..params import require
from ..physics.field import monomials
from ..physics.telescope import Telescope
from ..realism.detectors import DEFOCUS
from ..realism.offsets import TIP_TILT
from .config import PSFModelConfig
from .data import TrainingData, check_stars
from .detectors import PER_DETECTOR, detector_focus_um

PREDICT_KINDS = ("poly", "mono", "sr")


def with_tilts(z_um: np.ndarray, tilt_um: np.ndarray | None) -> np.ndarray:
    """Zernike coefficients (N, nz) plus per-star (Z2, Z3) offsets ``tilt_um`` (N, 2), um (a copy;
    ``z_um`` itself if None)."""
    if tilt_um is None:
        return z_um
    out = np.array(z_um, np.float64)
    out[:, list(TIP_TILT)] += tilt_um
    return out


class PSFModel:
    """Trainable wavefront + the optical forward model, in TensorFlow.

    Arrays: ``C_hat`` (n_zernikes, n_monomials), um (parametric field);
    ``dd_mixing`` (dd_features, dd_features) and ``dd_maps_um``
    (dd_features, P, P), um (data-driven OPD; zeros when off); ``detector_focus``
    (n_detectors, 3), um of Z4 (the per-detector focus term; no rows when off).
    """

    def __init__(self, telescope: Telescope, config: PSFModelConfig = PSFModelConfig(),
                 C_hat: np.ndarray | None = None, dd_mixing: np.ndarray | None = None,
                 dd_maps_um: np.ndarray | None = None, detector_focus: np.ndarray | None = None):
        self.telescope = telescope
        self.config = config
        self.optics = TFOptics(telescope, config.pupil_samples, config.n_zernikes, config.precision, config.jit)
        self.tf = self.optics.tf
        self.real = self.optics.real
        self.pupil, self.basis = self.optics.pupil, self.optics.basis
        P = config.pupil_samples
        nz, nm, nf = config.n_zernikes, config.n_monomials, config.dd_features
        self.C_hat = np.zeros((nz, nm)) if C_hat is None else np.asarray(C_hat, np.float64)
        require(self.C_hat.shape == (nz, nm), "C_hat shape", self.C_hat.shape, f"({nz}, {nm})")
        self.dd_mixing = np.eye(nf) if dd_mixing is None else np.asarray(dd_mixing, np.float64)
        self.dd_maps_um = np.zeros((nf, P, P)) if dd_maps_um is None else np.asarray(dd_maps_um, np.float64)
        require(self.dd_mixing.shape == (nf, nf), "dd_mixing shape", self.dd_mixing.shape, f"({nf}, {nf})")
        require(self.dd_maps_um.shape == (nf, P, P), "dd_maps_um shape", self.dd_maps_um.shape,
                f"({nf}, {P}, {P})")
        nd = config.n_detectors
        self.detector_focus = (np.zeros((nd, PER_DETECTOR)) if detector_focus is None
                               else np.asarray(detector_focus, np.float64))
        require(self.detector_focus.shape == (nd, PER_DETECTOR), "detector_focus shape", self.detector_focus.shape,
                f"({nd}, {PER_DETECTOR})")
        self._fns: dict = {}

    def arrays(self) -> dict[str, np.ndarray]:
        """Copies of the trainable arrays."""
        return {"C_hat": self.C_hat.copy(), "dd_mixing": self.dd_mixing.copy(), "dd_maps_um": self.dd_maps_um.copy(),
                "detector_focus": self.detector_focus.copy()}

    def set_arrays(self, C_hat=None, dd_mixing=None, dd_maps_um=None, detector_focus=None) -> None:
        """Replace the trainable arrays (those given)."""
        if C_hat is not None:
            self.C_hat = np.asarray(C_hat, np.float64)
        if dd_mixing is not None:
            self.dd_mixing = np.asarray(dd_mixing, np.float64)
        if dd_maps_um is not None:
            self.dd_maps_um = np.asarray(dd_maps_um, np.float64)
        if detector_focus is not None:
            self.detector_focus = np.asarray(detector_focus, np.float64)

    # ----------------------------------------------------------------- position features
    def monomials(self, positions: np.ndarray) -> np.ndarray:
        """Parametric monomials (N, n_monomials) of field positions (N, 2)."""
        return monomials(positions, self.config.degree, self.config.field_size)

    def dd_monomials(self, positions: np.ndarray) -> np.ndarray:
        """Data-driven monomials (N, dd_features) of field positions (N, 2)."""
        return monomials(positions, self.config.dd_degree, self.config.field_size)

    def zernikes_um(self, positions: np.ndarray) -> np.ndarray:
        """Parametric Zernike coefficients (N, n_zernikes), um, at field positions (the
        per-detector focus term included, if the model has one)."""
        z = self.monomials(positions) @ self.C_hat.T
        if self.config.detector_grid is not None:
            z[:, DEFOCUS] += self.detector_defocus_um(positions)
        return z

    def detector_defocus_um(self, positions: np.ndarray) -> np.ndarray:
        """The per-detector focus term's Z4 (N,), um, at field positions (zeros without one)."""
        if self.config.detector_grid is None:
            return np.zeros(len(positions))
        return detector_focus_um(self.detector_focus, self.config.detector_grid, positions, self.config.field_size)

    def star_offsets_um(self, data: TrainingData) -> np.ndarray | None:
        """Per-star Zernike offsets (N, n_zernikes), um, that training adds to the field part
        C_hat m(x, y): each star's tip/tilt offset and the per-detector focus term (held while
        the field is trained); None when there are neither."""
        if data.tilt_um is None and self.config.detector_grid is None:
            return None
        dz = with_tilts(np.zeros((len(data), self.config.n_zernikes)), data.tilt_um)
        dz[:, DEFOCUS] += self.detector_defocus_um(data.positions)
        return dz

    def opd_um(self, positions: np.ndarray) -> np.ndarray:
        """Model OPD maps (N, P, P), um, at field positions (zero outside the unit disk)."""
        positions, _ = check_stars(positions, None, self.telescope.n_bins)
        opd = np.einsum("nk,kij->nij", self.zernikes_um(positions), self.basis)
        if self.config.data_driven:
            opd = opd + np.einsum("nf,fij->nij", self.dd_monomials(positions) @ self.dd_mixing,
                                  self.dd_maps_um)
        return opd

    # ----------------------------------------------------------------- prediction
    def _predict_fn(self, kind: str):
        key = ("predict", kind)
        if key not in self._fns:
            optics = self.optics
            use_dd = self.config.data_driven

            def fn(z, dd_w, dd_maps, sed):
                inten = optics.intensity(optics.opd(z, dd_w if use_dd else None, dd_maps))
                mono = optics.sr_normalise(inten) if kind == "sr" else optics.bin_normalise(inten)
                if kind == "mono":
                    return mono
                return optics.polychromatic(mono, sed)

            self._fns[key] = optics.function(fn)
        return self._fns[key]

    def predict(self, positions: np.ndarray, sed_weights: np.ndarray | None = None,
                kind: str = "poly", progress: bool = False, tilt_um: np.ndarray | None = None,
                dz_um: np.ndarray | None = None) -> np.ndarray:
        """Model stamps at field positions (N, 2), unit flux.

        ``kind``: 'poly' (N, stamp, stamp) polychromatic at observation
        resolution (needs ``sed_weights`` (N, n_bins)); 'mono' (N, n_bins,
        stamp, stamp) monochromatic; 'sr' (N, sr, sr) super-resolved
        polychromatic (3x the pixel resolution, no binning). ``tilt_um`` (N, 2): the stars'
        Noll (Z2, Z3) offsets from the stamp's optical axis, um (None: on the axis); ``dz_um``
        (N, n_zernikes): any further per-star Zernike offsets, um (e.g. a derivative's step).
        """
        require(kind in PREDICT_KINDS, "kind", kind, f"one of {list(PREDICT_KINDS)}")
        positions, sed_weights = check_stars(positions, sed_weights, self.telescope.n_bins)
        if kind != "mono":
            require(sed_weights is not None, "sed_weights", None, f"(N, {self.telescope.n_bins}) for kind {kind!r}")
        else:
            sed_weights = np.full((len(positions), self.telescope.n_bins), 1.0 / self.telescope.n_bins)
        z = with_tilts(self.zernikes_um(positions), tilt_um)
        if dz_um is not None:
            z = z + dz_um
        return self._render(z, self.dd_monomials(positions) @ self.dd_mixing, sed_weights, kind, progress)

    def render(self, zernikes_um: np.ndarray, sed_weights: np.ndarray, kind: str = "poly") -> np.ndarray:
        """Stamps of given per-star Zernike coefficients (N, n_zernikes), um, through this model's
        optics (no data-driven part): e.g. the true wavefront of simulated stars."""
        require(kind in PREDICT_KINDS, "kind", kind, f"one of {list(PREDICT_KINDS)}")
        z = np.atleast_2d(np.asarray(zernikes_um, np.float64))
        require(z.shape[1] == self.config.n_zernikes, "zernikes_um", z.shape, f"(N, {self.config.n_zernikes})")
        _, sed_weights = check_stars(np.zeros((len(z), 2)), sed_weights, self.telescope.n_bins)
        return self._render(z, np.zeros((len(z), self.config.dd_features)), sed_weights, kind, False,
                            np.zeros_like(self.dd_maps_um))

    def _render(self, z, dd_w, sed_weights, kind, progress, dd_maps=None) -> np.ndarray:
        fn = self._predict_fn(kind)
        B = self.config.batch_stars
        tf = self.tf
        maps = tf.constant((self.dd_maps_um if dd_maps is None else dd_maps).astype(self.real))
        out = []
        for a in tqdm(range(0, len(z), B), desc=f"predict {kind}", disable=not progress, unit="batch"):
            sl = padded_rows(a, B, len(z))
            res = fn(*(tf.constant(v[sl].astype(self.real)) for v in (z, dd_w)), maps,
                     tf.constant(sed_weights[sl].astype(self.real)))
            out.append(res.numpy()[: min(B, len(z) - a)])
        return np.concatenate(out).astype(np.float64)

    # ----------------------------------------------------------------- the training objective
    def prepare(self, positions, noisy, sed_weights, sigma=None) -> TrainingData:
        """:class:`TrainingData` of these stars for this model (sigma estimated if not given)."""
        return TrainingData.from_stars(positions, noisy, sed_weights, self.telescope.stamp_px,
                                       self.telescope.n_bins, self.config.noise_radius_px, sigma)

    def _loss_grad_fn(self, part: str, tilted: bool = False):
        """Chunk function -> (sum_b w_b mse_b, grads) for part 'param' or 'dd'; ``tilted``: it
        takes each star's Zernike offsets ``dz`` (B, nz) too (a function of its own, so the
        stars on the axis keep the graph that made the committed results)."""
        key = ("grad", part, self.config.data_driven, tilted)
        if key in self._fns:
            return self._fns[key]
        tf = self.tf
        optics = self.optics
        use_dd = self.config.data_driven

        def fn(C, feats, mix, maps, m5, sed, obs, w, dz=None):
            with tf.GradientTape() as tape:
                tape.watch([C, mix, maps])
                z = tf.matmul(feats, C, transpose_b=True)
                if dz is not None:
                    z = z + dz
                dd_w = tf.matmul(m5, mix) if use_dd else None
                model = optics.poly(z, dd_w, maps, sed)
                mse = tf.reduce_mean(tf.square(model - obs), axis=[1, 2])
                loss = tf.reduce_sum(w * mse)
            grads = tape.gradient(loss, [C] if part == "param" else [mix, maps])
            return loss, grads

        self._fns[key] = optics.function(fn)
        return self._fns[key]

    def loss_and_grad(self, part: str, C, feats, mix, maps, m5, data: TrainingData):
        """Weighted MSE (mean over stars) and its gradients, full batch, in float64.

        ``part``: 'param' (gradient w.r.t. ``C``, the coefficients on the
        position features ``feats``) or 'dd' (w.r.t. ``mix`` and ``maps``);
        ``m5`` the data-driven monomials. Chunks of ``batch_stars`` stars.
        """
        B, N = self.config.batch_stars, len(feats)
        dz = self.star_offsets_um(data)
        fn = self._loss_grad_fn(part, dz is not None)
        cst = self.optics.constant
        Ct, mixt, mapst = cst(C), cst(mix), cst(maps)
        sed, obs, w = data.sed_weights, data.noisy, data.weights
        total, grads = 0.0, None
        for a in range(0, N, B):
            sl = padded_rows(a, B, N)
            wb = w[sl].copy()
            wb[min(B, N - a):] = 0.0                     # padding rows carry no weight
            extra = () if dz is None else (cst(dz[sl]),)
            loss, g = fn(Ct, cst(feats[sl]), mixt, mapst, cst(m5[sl]), cst(sed[sl]), cst(obs[sl]), cst(wb), *extra)
            total += float(loss.numpy())
            g = [x.numpy().astype(np.float64) for x in g]
            grads = g if grads is None else [x + y for x, y in zip(grads, g)]
        return total / N, [x / N for x in grads]

    def loss(self, positions, noisy, sed_weights, sigma=None) -> float:
        """Noise-weighted MSE of the current model (the training loss, without the L1 term)."""
        data = self.prepare(positions, noisy, sed_weights, sigma)
        loss, _ = self.loss_and_grad("param", self.C_hat, self.monomials(data.positions), self.dd_mixing,
                                     self.dd_maps_um, self.dd_monomials(data.positions), data)
        return loss

    # ----------------------------------------------------------------- save / load
    def save(self, path: str | Path, provenance: Mapping | None = None) -> Path:
        """Write arrays (group ``model``) and the configuration (JSON attribute) to HDF5."""
        from ..io import write_h5
        from ..params import as_dict

        arrays = {"C_hat_um": self.C_hat}
        if self.config.data_driven:
            arrays.update(dd_mixing=self.dd_mixing, dd_maps_um=self.dd_maps_um)
        if self.config.detector_grid is not None:
            arrays.update(detector_focus_um=self.detector_focus)
        attrs = {"config": json.dumps(as_dict(self.config), sort_keys=True),
                 "telescope": json.dumps(as_dict(self.telescope), sort_keys=True)}
        if provenance is not None:
            attrs["provenance"] = provenance
        return write_h5(path, {"model": arrays}, attrs)

    @classmethod
    def load(cls, path: str | Path) -> "PSFModel":
        """Rebuild a model written by :meth:`save`."""
        from ..io import read_attrs, read_h5

        attrs = read_attrs(path)
        arrays = read_h5(path, "model")
        config = dict(attrs["config"])
        if "model" in config:                      # files of the flat layout named the kind 'model'
            config["kind"] = config.pop("model")
        return cls(Telescope(**attrs["telescope"]), PSFModelConfig(**config), C_hat=arrays["C_hat_um"],
                   dd_mixing=arrays.get("dd_mixing"), dd_maps_um=arrays.get("dd_maps_um"),
                   detector_focus=arrays.get("detector_focus_um"))

