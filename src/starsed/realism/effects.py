"""Every realistic effect drawn for the stars of one exposure (the ``realism`` params section)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..params import Section
from ..physics.field import FieldSpec, zernike_coefficients
from ..physics.seds import one_nm_edges
from ..physics.telescope import Telescope
from . import detectors as det
from . import offsets as off
from . import seds as sed
from . import wavefront as wf


@dataclass(frozen=True)
class Realism(Section):
    """The ``realism`` params section: ``seed`` of every effect's draws and one sub-section per
    effect (:mod:`starsed.realism`); all off reproduces the idealised simulation byte for byte."""

    SECTION = "realism"

    seed: int = 20251201
    offsets: off.Offsets = field(default_factory=off.Offsets)
    detectors: det.Detectors = field(default_factory=det.Detectors)
    wavefront: wf.ExtraWavefront = field(default_factory=wf.ExtraWavefront)
    seds: sed.RealisticSEDs = field(default_factory=sed.RealisticSEDs)

    @property
    def effects(self) -> dict[str, bool]:
        """{effect: on?} in a fixed order."""
        return {name: getattr(self, name).active for name in ("offsets", "detectors", "wavefront", "seds")}

    @property
    def active(self) -> bool:
        return any(self.effects.values())


@dataclass
class StarEffects:
    """What the effects do to the stars of one exposure (N stars, all splits in order).

    ``zernikes_um`` (N, nz): the wavefront of each star's PSF (idealised field + random field +
    detector defocus); ``render_um``: that plus each star's tip/tilt offset, what the optics
    render; ``sed_weights`` and ``labels``: the true SEDs and their labels; ``per_star``: the
    extra arrays stored per star (offsets_px, detector, spectral_type, mix_fraction, mix_with,
    ebv: those of the effects on); ``exposure``: the exposure's draws (detector mosaic, random
    field features); ``summary``: a few numbers for the stage metrics.
    """

    zernikes_um: np.ndarray
    render_um: np.ndarray
    sed_weights: np.ndarray
    labels: np.ndarray
    per_star: dict[str, np.ndarray]
    exposure: dict[str, np.ndarray]
    summary: dict[str, float]


def draw_effects(spec: Realism, telescope: Telescope, field_spec: FieldSpec, C_um: np.ndarray,
                 positions: np.ndarray, zernikes_um: np.ndarray, labels: np.ndarray, sed_weights: np.ndarray,
                 seds_table: dict, exposure_seed: int) -> StarEffects:
    """Draw the effects of ``spec`` for stars at ``positions`` (field units) with drawn ``labels``
    and template ``sed_weights``, in an exposure whose idealised field is ``C_um`` (its
    coefficients at the stars: ``zernikes_um``).

    The draws come from ``numpy.random.default_rng([spec.seed, exposure_seed])``, one stream per
    exposure, in a fixed order (random field, mosaic, offsets, SEDs), each only when its
    effect is on. ``seds_table``: the seds stage's arrays (``seds_1nm``, on the band's 1 nm bins).
    """
    rng = np.random.default_rng([spec.seed, exposure_seed])
    size, n = field_spec.size, len(positions)
    zern = np.array(zernikes_um, np.float64)
    per_star, exposure, summary = {}, {}, {}
    if spec.wavefront.active:
        feats = wf.scaled(wf.draw_features(spec.wavefront, field_spec.n_zernikes, rng), spec.wavefront,
                          lambda p: zernike_coefficients(C_um, p, field_spec.degree, size), size)
        zern = zern + wf.evaluate(feats, positions)
        exposure.update({f"wavefront_{k}": v for k, v in feats.items()})
        summary["wavefront_outside_family_share"] = wf.outside_family_share(feats, field_spec.degree, size)
    if spec.detectors.active:
        mosaic = det.draw_mosaic(spec.detectors, rng)
        z4 = det.defocus_um(spec.detectors, mosaic, positions, size, telescope)
        zern[:, det.DEFOCUS] += z4
        per_star["detector"] = det.detector_index(spec.detectors, positions, size)
        exposure.update({f"detector_{k}": v for k, v in mosaic.items()})
        summary["detector_defocus_rms_nm"] = 1000.0 * float(np.sqrt(np.mean(z4 ** 2)))
    render = zern.copy()
    if spec.offsets.active:
        shift = off.offsets_px(spec.offsets, n, rng)
        render[:, list(off.TIP_TILT)] += off.tilt_um(shift, telescope)
        per_star["offsets_px"] = shift
    if spec.seds.active:
        s = sed.realistic_seds(spec.seds, seds_table["seds_1nm"], one_nm_edges(telescope.band_nm),
                               telescope.bin_edges_nm, labels, rng)
        sed_weights, labels = s.pop("sed_weights"), s.pop("labels")
        per_star.update(s)
        summary["label_changed_fraction"] = float(np.mean(labels != s["spectral_type"]))
    return StarEffects(zern, render, np.asarray(sed_weights, np.float64), np.asarray(labels), per_star,
                       exposure, summary)
