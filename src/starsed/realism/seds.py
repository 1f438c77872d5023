"""SEDs that are not the templates: mixtures of neighbouring templates, reddened by dust.

A star drawn as template k gets the SED

    s = (1 - t) T_k + t T_j,   t ~ U(0, mix_max),  j = k - 1 or k + 1 at random
                               (the one neighbour at either end of the sequence),

with T the unit-flux templates on 1 nm bins over the band, so s has unit flux and lies
between T_k and T_j in every bin; t <= 1/2 keeps it on T_k's side. Then interstellar
reddening: F(lambda) -> F(lambda) 10^(-0.4 E(B-V) R_V k(lambda)) with k = A(lambda) / A(V)
of the extinction law ``law`` (the ``dust_extinction`` package) at R_V = ``r_v``, and
E(B-V) ~ Exponential(mean ``ebv_mean``) mag; the reddened SED is renormalised to unit flux.

Each star keeps its true SED (binned to the telescope's bins, what the simulator renders) and
is labelled by its nearest template: the one of least L2 distance between unit-flux 1 nm SEDs
over the band, which is what the PSF's chromaticity sees (reddening can move a star to a
cooler label). Its drawn template stays as ``spectral_type``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..params import ConfigError, Section, non_negative, param
from ..physics.seds import integrate_bins

#: extinction laws offered (classes of ``dust_extinction.parameter_averages``), with their R_V range
LAWS = {"CCM89": (2.0, 6.0), "F99": (2.0, 6.0), "F19": (2.5, 6.0), "G23": (2.5, 6.0)}


@dataclass(frozen=True)
class RealisticSEDs(Section):
    """``realism.seds``: mixing of neighbouring templates up to ``mix_max`` (0..0.5) and reddening
    with mean E(B-V) ``ebv_mean`` (mag) by the extinction ``law`` at ``r_v`` (both 0: every SED
    exactly a template, the idealised data)."""

    SECTION = "realism.seds"

    mix_max: float = param(0.0, check=lambda v: 0.0 <= v <= 0.5, allowed="a number in [0, 0.5]")
    ebv_mean: float = param(0.0, check=non_negative, allowed="a number of magnitudes >= 0")
    law: str = param("G23", check=lambda v: v in LAWS, allowed=f"one of {list(LAWS)}")
    r_v: float = param(3.1, check=lambda v: 2.0 <= v <= 6.0, allowed="a number in the law's range (2.5-6 for "
                       "F19 and G23, 2-6 otherwise)")

    def check(self, where: str) -> None:
        lo, hi = LAWS[self.law]
        if not lo <= self.r_v <= hi:
            raise ConfigError(f"parameter {where}.r_v = {self.r_v!r} is invalid; allowed: {lo}..{hi} for "
                              f"{where}.law = {self.law!r}")

    @property
    def active(self) -> bool:
        return self.mix_max > 0 or self.ebv_mean > 0


def extinction_curve(law: str, r_v: float, wavelength_nm: np.ndarray) -> np.ndarray:
    """A(lambda) / A(V) of ``law`` at ``r_v`` on ``wavelength_nm``."""
    import astropy.units as u
    from dust_extinction import parameter_averages

    model = getattr(parameter_averages, law)(Rv=r_v)
    return np.asarray(model(np.asarray(wavelength_nm, np.float64) * u.nm), np.float64)


def redden(seds: np.ndarray, ebv: np.ndarray, r_v: float, curve: np.ndarray) -> np.ndarray:
    """SEDs (N, n_nm) reddened by E(B-V) ``ebv`` (N,) with A(lambda)/A(V) ``curve``, unit flux."""
    out = seds * 10.0 ** (-0.4 * np.asarray(ebv)[:, None] * r_v * curve[None, :])
    return out / out.sum(axis=1, keepdims=True)


def mix(templates: np.ndarray, labels: np.ndarray, t: np.ndarray, neighbour: np.ndarray) -> np.ndarray:
    """(1 - t) T_label + t T_neighbour, (N, n_nm)."""
    return (1.0 - t)[:, None] * templates[labels] + t[:, None] * templates[neighbour]


def neighbours(labels: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """k - 1 or k + 1 at random, the one neighbour at either end."""
    step = np.where(rng.random(len(labels)) < 0.5, -1, 1)
    step = np.where(labels == 0, 1, np.where(labels == n_classes - 1, -1, step))
    return labels + step


def nearest_template(seds: np.ndarray, templates: np.ndarray) -> np.ndarray:
    """Index of the template of least L2 distance to each SED (both unit flux, same bins)."""
    d = np.sum(seds ** 2, 1)[:, None] - 2.0 * seds @ templates.T + np.sum(templates ** 2, 1)[None, :]
    return np.argmin(d, axis=1)


def realistic_seds(spec: RealisticSEDs, templates_1nm: np.ndarray, edges_1nm: np.ndarray,
                   bin_edges_nm: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> dict:
    """Per star: ``sed_weights`` (N, n_bins, unit sum) of its true SED, ``labels`` (nearest
    template), ``spectral_type`` (the drawn one), ``mix_fraction``, ``mix_with`` and ``ebv``.

    ``templates_1nm`` (n_classes, n_nm): unit-flux templates on the 1 nm bins of edges
    ``edges_1nm`` (:func:`starsed.physics.seds.one_nm_edges`); ``bin_edges_nm``: the telescope's
    wavelength bins.
    """
    labels = np.asarray(labels)
    n = len(labels)
    other = neighbours(labels, len(templates_1nm), rng)
    t = rng.uniform(0.0, spec.mix_max, n)
    ebv = rng.exponential(spec.ebv_mean, n) if spec.ebv_mean > 0 else np.zeros(n)
    s = mix(templates_1nm, labels, t, other)
    if spec.ebv_mean > 0:
        s = redden(s, ebv, spec.r_v, extinction_curve(spec.law, spec.r_v, 0.5 * (edges_1nm[1:] + edges_1nm[:-1])))
    w = integrate_bins(edges_1nm, s, np.asarray(bin_edges_nm, np.float64))
    return {"sed_weights": w / w.sum(axis=1, keepdims=True), "labels": nearest_template(s, templates_1nm),
            "spectral_type": labels, "mix_fraction": t, "mix_with": other, "ebv": ebv}
