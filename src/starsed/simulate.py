"""Simulated exposures (REFERENCE §3): one random wavefront field, many stars.

Per star: position (field units), class label, SED weights, SNR, noise sigma,
Zernike coefficients (um), the 8 unit-flux monochromatic stamps, the noiseless
and noisy polychromatic stamps, and (for the splits asked) the super-resolved
polychromatic stamp. Stars are simulated in chunks with a progress bar; memory
holds one chunk of pupil fields at a time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from .config import FieldSpec, Telescope, require
from .field import random_field, zernike_coefficients
from .optics import Optics, polychromatic

#: params sections the simulation depends on (dvc.yaml's `simulate` stage)
STAGE_SECTIONS = ("telescope", "field", "simulate")


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


def noise_sigma(stamps: np.ndarray, snr: np.ndarray) -> np.ndarray:
    """Per-star Gaussian sigma: sigma^2 = sum(star^2) / (SNR x n_pixels)."""
    n_pix = stamps.shape[-1] * stamps.shape[-2]
    power = np.sum(np.square(stamps, dtype=np.float64), axis=(-2, -1))
    return np.sqrt(power / (snr * n_pix))


def star_noise(seed: int, star_index: int, shape: tuple[int, int]) -> np.ndarray:
    """Unit white noise of one star, from (seed, star index): independent of chunking."""
    return np.random.default_rng([seed, star_index]).standard_normal(shape)


def simulate_exposure(telescope: Telescope, field: FieldSpec, sed_weights: np.ndarray,
                      plan: ExposurePlan, precision: str = "single", chunk_stars: int = 16,
                      progress: bool = True, optics: Optics | None = None) -> dict:
    """Draw a field and the stars of every split; returns ``{'field': ..., split: arrays}``.

    ``sed_weights`` (n_classes, n_bins): each template integrated over the
    telescope's wavelength bins, rows summing to 1.
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
    optics = optics or Optics(telescope, field.n_zernikes, precision)
    out = {"field": {"C_um": C, "anchors": anchors}}
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
        if sr:
            arrays["sr"] = np.empty((count, telescope.sr_stamp, telescope.sr_stamp), np.float32)
        for a in range(0, count, chunk_stars):
            b = min(a + chunk_stars, count)
            stamps = optics.stamps(arrays["zernikes_um"][a:b], sr=sr)
            w = arrays["sed_weights"][a:b]
            clean = polychromatic(stamps["mono"].astype(np.float64), w)
            sigma = noise_sigma(clean, arrays["snr"][a:b])
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


def centroid_px(image: np.ndarray) -> np.ndarray:
    """Intensity centroid (x, y) of the last two axes, 0-based pixel-centre coordinates."""
    n_y, n_x = image.shape[-2:]
    total = image.sum(axis=(-2, -1))
    x = np.tensordot(image.sum(axis=-2), np.arange(n_x), axes=(-1, 0)) / total
    y = np.tensordot(image.sum(axis=-1), np.arange(n_y), axes=(-1, 0)) / total
    return np.stack([x, y], axis=-1)


def nominal_axis_px(telescope: Telescope) -> np.ndarray:
    """Where the optical axis falls in the stamp, (x, y) pixels (16 - 1/3 by default)."""
    from .optics import axis_samples

    q = telescope.oversampling
    return (np.asarray(axis_samples(telescope)) - (q - 1) / 2) / q


def plans_from_params(params: dict) -> dict[str, ExposurePlan]:
    """The main and second exposures of REFERENCE §3, from the ``simulate`` section."""
    s = params["simulate"]
    snr = tuple(float(v) for v in s["snr_range"])
    return {
        "main": ExposurePlan({"train": s["n_pool"], "test": s["n_test"]}, int(s["seed_main"]), snr),
        "second": ExposurePlan({"test": s["n_test_second"]}, int(s["seed_second"]), snr),
    }


def run_stage(params: dict, seds_file, out_dir, progress: bool = True) -> dict:
    """Simulate both exposures, write ``<out_dir>/{main,second}.h5``; return stage metrics."""
    import time
    from pathlib import Path

    from .field import wfe_rms_um
    from .io import provenance, read_attrs, read_h5, write_h5

    telescope = Telescope.from_params(params["telescope"])
    field = FieldSpec.from_params(params["field"])
    s = params["simulate"]
    seds = read_h5(seds_file, "seds")
    optics = Optics(telescope, field.n_zernikes, s["precision"])
    prov_inputs = {"seds": str(seds_file)}
    n_stars, wfe, seconds = 0, [], 0.0
    for name, plan in plans_from_params(params).items():
        t0 = time.perf_counter()
        data = simulate_exposure(telescope, field, seds["weights"], plan, s["precision"],
                                 int(s["chunk_stars"]), progress, optics)
        seconds += time.perf_counter() - t0
        attrs = {"exposure": name, "seed": plan.seed, "classes": read_attrs(seds_file)["classes"],
                 "provenance": provenance(params, plan.seed, prov_inputs, STAGE_SECTIONS)}
        write_h5(Path(out_dir) / f"{name}.h5", data, attrs)
        for split in plan.splits:
            n_stars += plan.splits[split]
            wfe.append(wfe_rms_um(data[split]["zernikes_um"]))
    zero = optics.stamps(np.zeros((1, field.n_zernikes)))["mono"][0]
    flat = np.full(telescope.n_bins, 1.0 / telescope.n_bins)
    centre = centroid_px(polychromatic(zero[None].astype(np.float64), flat[None])[0])
    return {
        "n_stars": n_stars,
        "seconds": round(seconds, 1),
        "stars_per_s": round(n_stars / seconds, 1),
        "mean_wfe_rms_nm": round(1000 * float(np.concatenate(wfe).mean()), 3),
        "centroid_px": [round(float(v), 4) for v in centre],
        "centroid_offset_px": [round(float(v), 4) for v in centre - nominal_axis_px(telescope)],
        "precision": s["precision"],
    }
