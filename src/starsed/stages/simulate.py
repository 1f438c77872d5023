"""The ``simulate`` stage: simulated exposures, one random wavefront field each, many stars.

Per star: position (field units), class label, SED weights, SNR, noise sigma,
Zernike coefficients (um), the 8 unit-flux monochromatic stamps, the noiseless
and noisy polychromatic stamps, and (for the splits asked) the super-resolved
polychromatic stamp. Stars are simulated in chunks with a progress bar; memory
holds one chunk of pupil fields at a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from tqdm import tqdm

from .. import paths
from ..optics import Optics, polychromatic
from ..params import Section, param, positive, require
from ..physics.field import FieldSpec, random_field, wfe_rms_um, zernike_coefficients
from ..physics.noise import sigma_for_snr, star_noise
from ..physics.telescope import Telescope, centroid_px
from ..realism import Realism, draw_effects


@dataclass(frozen=True)
class SimulateParams(Section):
    """The ``simulate`` params section: the main exposure (``n_pool`` pool stars and
    ``n_test`` test stars) and a second one (``n_test_second`` test stars, another field)."""

    SECTION = "simulate"

    seed_main: int = 20250101
    seed_second: int = 20250202
    n_pool: int = param(12000, check=positive, allowed="a positive integer",
                        doc="PSF-model (0..1999) + classifier training stars")
    n_test: int = param(1000, check=positive, allowed="a positive integer")
    n_test_second: int = param(1000, check=positive, allowed="a positive integer")
    snr_range: tuple[float, float] = param((20.0, 110.0), check=lambda v: 0 < v[0] <= v[1],
                                           allowed="[low, high] with 0 < low <= high")
    precision: Literal["single", "double"] = "single"
    chunk_stars: int = param(16, check=positive, allowed="a positive integer",
                             doc="stars per optics batch (bounds memory; 8-16 fastest on 2 cores)")


#: the params sections the stage reads, with their dataclasses (dvc.yaml declares the same)
SECTIONS = {"telescope": Telescope, "field": FieldSpec, "simulate": SimulateParams, "realism": Realism}


@dataclass(frozen=True)
class ExposurePlan:
    """What to draw for one exposure: stars per split, seed, SNR range."""

    splits: dict[str, int]
    seed: int
    snr_range: tuple[float, float] = (20.0, 110.0)
    sr_splits: tuple[str, ...] = ("test",)

    def __post_init__(self):
        for name, n in self.splits.items():
            require(isinstance(n, (int, np.integer)) and n > 0, f"number of {name} stars", n,
                    "a positive integer")
        lo, hi = self.snr_range
        require(0 < lo <= hi, "simulate.snr_range", list(self.snr_range),
                "[low, high] with 0 < low <= high")


def simulate_exposure(telescope: Telescope, field: FieldSpec, sed_weights: np.ndarray,
                      plan: ExposurePlan, precision: str = "single", chunk_stars: int = 16,
                      progress: bool = True, optics: Optics | None = None, realism: Realism | None = None,
                      seds_table: dict | None = None) -> dict:
    """Draw a field and the stars of every split; returns ``{'field': ..., split: arrays}``.

    ``sed_weights`` (n_classes, n_bins): each template integrated over the
    telescope's wavelength bins, rows summing to 1. ``realism``: the realistic effects
    (:mod:`starsed.realism`; None or all off: the idealised exposure), drawn after, and apart
    from, the idealised draws; their per-star arrays join each split, their exposure draws the
    'field' group. ``seds_table``: the seds stage's arrays (needed by realistic SEDs).
    """
    sed_weights = np.asarray(sed_weights, np.float64)
    require(sed_weights.shape[1] == telescope.n_bins, "sed_weights bins", sed_weights.shape[1],
            f"telescope.n_bins = {telescope.n_bins}")
    require(chunk_stars > 0, "simulate.chunk_stars", chunk_stars, "a positive integer")
    rng = np.random.default_rng(plan.seed)
    C, anchors = random_field(field, rng)
    total = sum(plan.splits.values())
    positions = rng.uniform(0.0, field.size, (total, 2))
    labels = rng.integers(0, len(sed_weights), total)
    snr = rng.uniform(*plan.snr_range, total)
    zernikes = zernike_coefficients(C, positions, field.degree, field.size)
    weights = sed_weights[labels]
    render, per_star = zernikes, {}
    out = {"field": {"C_um": C, "anchors": anchors}}
    if realism is not None and realism.active:
        require(seds_table is not None or not realism.seds.active, "seds_table", None,
                "the seds stage's arrays (realism.seds is on)")
        eff = draw_effects(realism, telescope, field, C, positions, zernikes, labels, weights, seds_table, plan.seed)
        zernikes, render, weights, labels, per_star = (eff.zernikes_um, eff.render_um, eff.sed_weights, eff.labels,
                                                       eff.per_star)
        out["field"].update(eff.exposure)
        out["realism"] = eff.summary                      # numbers for the metrics, not stored per star
    optics = optics or Optics(telescope, field.n_zernikes, precision)
    n, start = telescope.stamp_px, 0
    bar = tqdm(total=total, desc=f"simulate (seed {plan.seed})", unit="star", disable=not progress)
    for split, count in plan.splits.items():
        sr = split in plan.sr_splits
        arrays = {
            "positions": positions[start:start + count],
            "labels": labels[start:start + count],
            "snr": snr[start:start + count],
            "zernikes_um": zernikes[start:start + count],
            "sed_weights": weights[start:start + count],
            "mono": np.empty((count, telescope.n_bins, n, n), np.float32),
            "noiseless": np.empty((count, n, n), np.float32),
            "noisy": np.empty((count, n, n), np.float32),
            "sigma": np.empty(count),
        }
        arrays.update({k: v[start:start + count] for k, v in per_star.items()})
        if sr:
            arrays["sr"] = np.empty((count, telescope.sr_stamp, telescope.sr_stamp), np.float32)
        for a in range(0, count, chunk_stars):
            b = min(a + chunk_stars, count)
            stamps = optics.stamps(render[start + a:start + b], sr=sr)
            w = arrays["sed_weights"][a:b]
            clean = polychromatic(stamps["mono"].astype(np.float64), w)
            sigma = sigma_for_snr(clean, arrays["snr"][a:b])
            noise = np.stack([star_noise(plan.seed, start + i, (n, n)) for i in range(a, b)])
            arrays["mono"][a:b] = stamps["mono"]
            arrays["noiseless"][a:b] = clean
            arrays["noisy"][a:b] = clean + sigma[:, None, None] * noise
            arrays["sigma"][a:b] = sigma
            if sr:
                arrays["sr"][a:b] = polychromatic(stamps["mono_sr"].astype(np.float64), w)
            bar.update(b - a)
        out[split] = arrays
        start += count
    bar.close()
    return out


def exposure_plans(s: SimulateParams) -> dict[str, ExposurePlan]:
    """The main exposure (splits 'train': the pool, 'test') and the second one ('test')."""
    return {
        "main": ExposurePlan({"train": s.n_pool, "test": s.n_test}, s.seed_main, s.snr_range),
        "second": ExposurePlan({"test": s.n_test_second}, s.seed_second, s.snr_range),
    }


def run(cfg, seds_file: str = paths.SEDS, out_dir: str = paths.SIMULATE_DIR, root=".",
        progress: bool = True) -> dict:
    """Simulate both exposures, write ``<out_dir>/{main,second}.h5``, the stage metrics (returned)
    and its record (timings) under ``root``.

    ``cfg``: the checked :data:`SECTIONS` (:func:`starsed.params.load_sections`).
    """
    import time
    from pathlib import Path

    from ..io import provenance, read_attrs, read_h5, write_h5, write_results
    from ..params import Sections

    telescope, field, s, realism = cfg.telescope, cfg.field, cfg.simulate, cfg.realism
    seds = read_h5(seds_file, "seds")
    optics = Optics(telescope, field.n_zernikes, s.precision)
    prov_inputs = {"seds": str(seds_file)}
    # an idealised exposure records the sections that shaped it: the realism section only when one
    # of its effects is on (so the idealised data keep their bytes whatever realism's other values)
    prov_cfg = cfg if realism.active else Sections(cfg.profile, {n: getattr(cfg, n) for n in cfg.names
                                                                 if n != "realism"})
    n_stars, wfe, seconds, effects = 0, [], 0.0, {}
    for name, plan in exposure_plans(s).items():
        t0 = time.perf_counter()
        data = simulate_exposure(telescope, field, seds["weights"], plan, s.precision, s.chunk_stars,
                                 progress, optics, realism, seds)
        seconds += time.perf_counter() - t0
        if "realism" in data:
            effects[name] = data.pop("realism")
        attrs = {"exposure": name, "seed": plan.seed, "classes": read_attrs(seds_file)["classes"],
                 "provenance": provenance(prov_cfg, plan.seed, prov_inputs)}
        write_h5(Path(out_dir) / f"{name}.h5", data, attrs)
        for split in plan.splits:
            n_stars += plan.splits[split]
            wfe.append(wfe_rms_um(data[split]["zernikes_um"]))
    zero = optics.stamps(np.zeros((1, field.n_zernikes)))["mono"][0]
    flat = np.full(telescope.n_bins, 1.0 / telescope.n_bins)
    centre = centroid_px(polychromatic(zero[None].astype(np.float64), flat[None])[0])
    metrics = {
        "n_stars": n_stars,
        "mean_wfe_rms_nm": round(1000 * float(np.concatenate(wfe).mean()), 3),
        "centroid_px": [round(float(v), 4) for v in centre],
        "centroid_offset_px": [round(float(v), 4) for v in centre - np.asarray(telescope.axis_px)],
        "precision": s.precision,
    }
    if realism.active:
        metrics["realism"] = {"effects": realism.effects,
                              "exposures": {k: {m: round(v, 4) for m, v in e.items()} for k, e in effects.items()}}
    write_results("simulate", root, metrics=metrics,
                  record={"seconds": round(seconds, 1), "stars_per_s": round(n_stars / seconds, 1)})
    return metrics
