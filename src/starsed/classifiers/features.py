"""Per-star quantities derived from a PSF model (docs/reference.md, Classifiers).

Given the 8 unit-flux monochromatic PSFs ``H_k`` (N, 8, 32, 32) of a PSF model
at each star's position and the noisy stars (N, 32, 32):

- similarity features (the paper's SVM input):
  ``d_k = sum_pixels (H_k - star)^2`` and ``s_k = (1 - d_k) / sum_j (1 - d_j)``;
- model stars, one per SED class: ``M_c = sum_k w_ck H_k`` with ``w`` the
  (13, 8) binned-SED table;
- :class:`PSFStats`, the few numbers per star (``<star, H_k>``, ``<H_k, H_l>``,
  ``||star||^2``) from which both the similarity features and every class's
  template-fit residual follow exactly, so a PSF model's 8 stamps per star need
  not be kept in memory, built from the stamps (:meth:`PSFStats.from_mono`) or chunk
  by chunk from any function giving them (:meth:`PSFStats.from_predictor`).

The noise estimate from a stamp's outer pixels is :func:`starsed.physics.noise.robust_sigma`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..params import require

__all__ = ["similarity_distances", "similarity_from_distances", "similarity_features", "model_stars",
           "PSFStats"]


def _check_pair(mono: np.ndarray, stars: np.ndarray) -> None:
    require(mono.ndim == 4, "mono shape", mono.shape, "(N, n_bins, n, n)")
    require(stars.shape == (mono.shape[0],) + mono.shape[2:], "stars shape", stars.shape,
            f"(N, n, n) matching mono {mono.shape}")


def similarity_distances(mono: np.ndarray, stars: np.ndarray) -> np.ndarray:
    """``d_k = sum over pixels of (H_k - star)^2``, shape (N, n_bins), float64."""
    mono, stars = np.asarray(mono), np.asarray(stars)
    _check_pair(mono, stars)
    diff = mono.astype(np.float64) - stars.astype(np.float64)[:, None]
    return np.einsum("nkij,nkij->nk", diff, diff)


def similarity_from_distances(d: np.ndarray) -> np.ndarray:
    """``s_k = (1 - d_k) / sum_j (1 - d_j)`` (rows sum to 1)."""
    one_minus = 1.0 - np.asarray(d, np.float64)
    return one_minus / one_minus.sum(axis=-1, keepdims=True)


def similarity_features(mono: np.ndarray, stars: np.ndarray) -> np.ndarray:
    """The paper's similarity features ``s`` (N, n_bins) from mono PSFs and noisy stars."""
    return similarity_from_distances(similarity_distances(mono, stars))


def model_stars(mono: np.ndarray, sed_weights: np.ndarray) -> np.ndarray:
    """Model star of every class at every star: ``M_c = sum_k w_ck H_k``, (N, n_classes, n, n).

    ``sed_weights`` (n_classes, n_bins), rows summing to 1, so every model star
    has the unit flux of the monochromatic PSFs.
    """
    mono, w = np.asarray(mono), np.asarray(sed_weights, np.float64)
    require(w.ndim == 2 and w.shape[1] == mono.shape[1], "sed_weights shape", w.shape,
            f"(n_classes, {mono.shape[1]}) to match mono's {mono.shape[1]} bins")
    return np.einsum("ck,nkij->ncij", w, mono.astype(np.float64))


@dataclass(frozen=True)
class PSFStats:
    """Sufficient statistics of a PSF model at each star, for features and template fits.

    ``xh`` (N, K): ``<star, H_k>``; ``gram`` (N, K, K): ``<H_k, H_l>``;
    ``xx`` (N,): ``||star||^2``; all float64. Build with :meth:`from_mono`. With the
    derivatives ``D_ka = dH_k / d(shift_a)`` of the monochromatic PSFs w.r.t. a sub-pixel
    shift along x, y (``dmono``), also ``xd`` (N, K, 2) ``<star, D_ka>``, ``hd`` (N, K, K, 2)
    ``<H_k, D_la>`` and ``dd`` (N, K, 2, K, 2) ``<D_ka, D_lb>``: the template fit can then
    refine each star's offset per class (:meth:`template_residuals` with ``shift``).
    """

    xh: np.ndarray
    gram: np.ndarray
    xx: np.ndarray
    xd: np.ndarray | None = None
    hd: np.ndarray | None = None
    dd: np.ndarray | None = None

    FIELDS = ("xh", "gram", "xx", "xd", "hd", "dd")

    @classmethod
    def from_mono(cls, mono: np.ndarray, stars: np.ndarray, chunk: int = 2048,
                  dmono: np.ndarray | None = None) -> "PSFStats":
        """From monochromatic PSFs ``mono`` (N, K, n, n) at each star, and optionally their
        shift derivatives ``dmono`` (N, K, 2, n, n), per pixel of shift along (x, y)."""
        mono, stars = np.asarray(mono), np.asarray(stars)
        _check_pair(mono, stars)
        n, k = mono.shape[:2]
        npx = mono.shape[2] * mono.shape[3]
        xh, gram = np.empty((n, k)), np.empty((n, k, k))
        if dmono is not None:
            require(dmono.shape == (n, k, 2) + mono.shape[2:], "dmono shape", dmono.shape,
                    f"{(n, k, 2) + mono.shape[2:]}: d(mono)/d(shift x, y)")
            xd, hd, dd = np.empty((n, k, 2)), np.empty((n, k, k, 2)), np.empty((n, k, 2, k, 2))
        for a in range(0, n, chunk):
            h = mono[a:a + chunk].astype(np.float64).reshape(-1, k, npx)
            x = stars[a:a + chunk].astype(np.float64).reshape(len(h), -1)
            xh[a:a + chunk] = np.einsum("nkp,np->nk", h, x)
            gram[a:a + chunk] = np.einsum("nkp,nlp->nkl", h, h)
            if dmono is not None:
                d = dmono[a:a + chunk].astype(np.float64).reshape(-1, k, 2, npx)
                xd[a:a + chunk] = np.einsum("nkap,np->nka", d, x)
                hd[a:a + chunk] = np.einsum("nkp,nlap->nkla", h, d)
                dd[a:a + chunk] = np.einsum("nkap,nlbp->nkalb", d, d)
        xx = np.einsum("nij,nij->n", stars.astype(np.float64), stars.astype(np.float64))
        if dmono is None:
            return cls(xh, gram, xx)
        return cls(xh, gram, xx, xd, hd, dd)

    @classmethod
    def from_predictor(cls, predict_mono: Callable[[np.ndarray], np.ndarray], positions: np.ndarray,
                       stars: np.ndarray, chunk: int = 1000, noiseless: np.ndarray | None = None,
                       sed_weights: np.ndarray | None = None, progress: bool = False,
                       desc: str = "PSF model"):
        """The statistics of a PSF model given as ``predict_mono(positions (n, 2)) -> (n, 8, n_px, n_px)``
        (unit-flux monochromatic stamps) for ``stars`` at ``positions``, computed ``chunk``
        stars at a time so the monochromatic stamps never all sit in memory (a tqdm bar
        ``desc`` with ``progress``).

        With ``noiseless`` (N, n_px, n_px) and ``sed_weights`` (N, 8) it also returns the
        model's per-star relative pixel RMSE against the noiseless stamps
        (docs/reference.md, Metrics) as ``(stats, errors)``.
        """
        from tqdm.auto import tqdm

        from ..metrics.psf import relative_rmse

        positions, stars = np.asarray(positions), np.asarray(stars)
        require(len(positions) == len(stars), "positions", positions.shape, f"one per star ({len(stars)})")
        with_err = noiseless is not None
        require(not with_err or sed_weights is not None, "sed_weights", None, "(N, 8) when noiseless is given")
        parts, errors = [], []
        for a in tqdm(range(0, len(stars), chunk), desc=desc, disable=not progress, unit="chunk"):
            mono = np.asarray(predict_mono(positions[a:a + chunk]))
            parts.append(cls.from_mono(mono, stars[a:a + chunk]))
            if with_err:
                poly = np.einsum("nk,nkij->nij", np.asarray(sed_weights[a:a + chunk], np.float64), mono)
                errors.append(relative_rmse(poly, np.asarray(noiseless[a:a + chunk], np.float64)))
        stats = cls.concatenate(parts)
        return (stats, np.concatenate(errors)) if with_err else stats

    @classmethod
    def concatenate(cls, parts) -> "PSFStats":
        """The statistics of consecutive groups of stars, joined."""
        return cls(*(None if getattr(parts[0], f) is None else np.concatenate([getattr(p, f) for p in parts])
                     for f in cls.FIELDS))

    def __len__(self) -> int:
        return len(self.xx)

    def take(self, rows) -> "PSFStats":
        """The statistics of a subset of stars (indices or a slice)."""
        return PSFStats(*(None if getattr(self, f) is None else getattr(self, f)[rows] for f in self.FIELDS))

    def distances(self) -> np.ndarray:
        """``d_k = ||H_k||^2 - 2 <H_k, star> + ||star||^2`` (N, K), equal to :func:`similarity_distances`."""
        return np.einsum("nkk->nk", self.gram) - 2.0 * self.xh + self.xx[:, None]

    def similarity(self) -> np.ndarray:
        """The similarity features ``s`` (N, K), equal to :func:`similarity_features`."""
        return similarity_from_distances(self.distances())

    def template_residuals(self, sed_weights: np.ndarray, flux: str = "free", shift: bool = False) -> np.ndarray:
        """``chi2_c = ||star - a_c M_c||^2`` for each class (N, n_classes).

        ``flux='free'``: ``a_c`` is the least-squares amplitude
        ``<star, M_c> / ||M_c||^2``; ``flux='unit'``: ``a_c = 1`` (stars and
        model stars both have unit flux). ``shift``: each class also refines the star's
        offset, linearised, M_c(s) = M_c + s_x D_cx + s_y D_cy (D_ca = sum_k w_ck D_ka):
        the residual of the least-squares fit of (a_c, a_c s) ('free', linear in a_c and
        b = a_c s) or of s with a_c = 1 ('unit'). Needs the shift derivatives.
        """
        require(flux in ("free", "unit"), "flux", flux, "'free' or 'unit'")
        w = np.asarray(sed_weights, np.float64)
        require(w.ndim == 2 and w.shape[1] == self.xh.shape[1], "sed_weights shape", w.shape,
                f"(n_classes, {self.xh.shape[1]})")
        xm = self.xh @ w.T                                   # <star, M_c>
        mm = np.einsum("ck,nkl,cl->nc", w, self.gram, w)     # ||M_c||^2
        if shift:
            require(self.xd is not None, "PSFStats", "without shift derivatives", "from_mono(..., dmono=...)")
            xd = np.einsum("ck,nka->nca", w, self.xd)                 # <star, D_ca>
            md = np.einsum("ck,nkla,cl->nca", w, self.hd, w)          # <M_c, D_ca>
            dd = np.einsum("ck,nkalb,cl->ncab", w, self.dd, w)        # <D_ca, D_cb>
            if flux == "free":                                        # columns [M_c, D_cx, D_cy]
                G = np.empty(xm.shape + (3, 3))
                G[..., 0, 0], G[..., 0, 1:], G[..., 1:, 0], G[..., 1:, 1:] = mm, md, md, dd
                b = np.concatenate([xm[..., None], xd], axis=-1)
            else:                                                     # residual star - M_c on D_c
                G, b = dd, xd - md
                base = self.xx[:, None] - 2.0 * xm + mm
            G = G + 1e-12 * np.trace(G, axis1=-2, axis2=-1)[..., None, None] * np.eye(G.shape[-1])
            fit = np.einsum("nca,nca->nc", b, np.linalg.solve(G, b[..., None])[..., 0])
            return np.maximum((self.xx[:, None] if flux == "free" else base) - fit, 0.0)
        if flux == "free":
            return np.maximum(self.xx[:, None] - xm ** 2 / mm, 0.0)
        return np.maximum(self.xx[:, None] - 2.0 * xm + mm, 0.0)
