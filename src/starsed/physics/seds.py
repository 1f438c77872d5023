"""Pickles (1998) SED templates: checksummed fetch, reading and binning.

The 13 main-sequence templates are fetched from their canonical pinned URLs
(see ``SOURCES``) or, when the environment variable ``STARSED_DATA_MIRROR``
names a folder, copied from there; every file is verified against its SHA-256
before use. ``nflam`` is F_lambda normalised at 555.6 nm, sampled every 0.5 nm;
each sample is taken to hold over [lambda, lambda + 0.5 nm) (the convention
that reproduces the reference ``SEDs.npy`` exactly).
"""
from __future__ import annotations

import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import sha256
from ..params import Section, param

BASE_URL = ("https://raw.githubusercontent.com/CosmoStat/wf-psf/"
            "64c146c92d47ae1dd8ee2c3c99f9335b8cbbc7c4/data/SEDs/Pickles_input/")
MIRROR_ENV = "STARSED_DATA_MIRROR"

#: class name -> (file name, SHA-256), hot to cool; labels are the row order.
TEMPLATES = {
    "O5V": ("J_PASP_110_863_o5v.dat.gz.fits", "5700fcfbf3ad4c949e373455fd2f613060ab80d968a85a4f50fb6b327b204a9b"),
    "B0V": ("J_PASP_110_863_b0v.dat.gz.fits", "bec135e626616f344cc9d456f541299e3657d437c84d500bfe68e10645eab30b"),
    "B5-7V": ("J_PASP_110_863_b57v.dat.gz.fits", "18b87334d098d580bc8fa70b6aca99c39f9556b43eacc0d003304564244c660b"),
    "A0V": ("J_PASP_110_863_a0v.dat.gz.fits", "b834fd5eddb0ad7a8297f003054c649c5b4f35aabaf190d68c1272004f637909"),
    "A5V": ("J_PASP_110_863_a5v.dat.gz.fits", "35219dbf0e9c6855413ff2321faf7cdc0b587f4e50879e344e3627dcb6882bb7"),
    "F0V": ("J_PASP_110_863_f0v.dat.gz.fits", "bf4970340337a45f5373ac60f610f9316b38eac5a32e3f0f86558f70cbdf7457"),
    "F5V": ("J_PASP_110_863_f5v.dat.gz.fits", "8f3ce2d0bcdef3b186ee7e55108e685e206f707d9f30e65345ff2ca451b3b8b2"),
    "G0V": ("J_PASP_110_863_g0v.dat.gz.fits", "7c43dee12d04268e5aeec77af317a684dd5e29d093f349b5ca829ce39d051b36"),
    "G5V": ("J_PASP_110_863_g5v.dat.gz.fits", "85ca0f6bfa2ec3bbbf946099eb7eaa12f8b14f9a059b33f4a77e0f3bca7f4255"),
    "K0V": ("J_PASP_110_863_k0v.dat.gz.fits", "c1af37f0bd20f64a9f8b086d58454a75717f3db4d0e168508dd7210eee5a34e2"),
    "K5V": ("J_PASP_110_863_k5v.dat.gz.fits", "f5f2b856ef2766c9c620d2f6fb4baed9a856038db1f6388eae5813aecfa5f850"),
    "M0V": ("J_PASP_110_863_m0v.dat.gz.fits", "1cbba45ddbe94cc93b5a79b2f24f1e69eeb22b91103b3e51fc41b9400518e6e6"),
    "M5V": ("J_PASP_110_863_m5v.dat.gz.fits", "bae7c1ef793d7f8053edcab320b620782468f4403cf5c4256b939a5de7aed21b"),
}
SAMPLE_NM = 0.5  # spacing of the Pickles tables


class SEDError(RuntimeError):
    """A template is missing, corrupt, or does not cover the requested band."""


@dataclass(frozen=True)
class SEDs(Section):
    """The ``seds`` params section: the templates used, hot to cool; labels are their order."""

    SECTION = "seds"

    classes: tuple[str, ...] = param(tuple(TEMPLATES),
                                     check=lambda v: len(v) >= 2 and len(set(v)) == len(v)
                                     and all(c in TEMPLATES for c in v),
                                     allowed=f"at least two distinct classes among {list(TEMPLATES)}")


def _check_classes(classes) -> None:
    unknown = [c for c in classes if c not in TEMPLATES]
    if unknown:
        raise SEDError(f"seds.classes has unknown classes {unknown}; allowed: {list(TEMPLATES)}")


def fetch_templates(cache_dir: str | os.PathLike, classes=tuple(TEMPLATES),
                    mirror: str | os.PathLike | None = None) -> dict[str, Path]:
    """Make the FITS templates of ``classes`` available in ``cache_dir``; verify SHA-256.

    Sources, in order: the cache itself, the mirror folder (``mirror`` or
    ``$STARSED_DATA_MIRROR``), the pinned canonical URL. Returns class -> path.
    """
    _check_classes(classes)
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    mirror = mirror or os.environ.get(MIRROR_ENV)
    out = {}
    for cls in classes:
        name, digest = TEMPLATES[cls]
        target = cache / name
        if not (target.is_file() and sha256(target) == digest):
            tried = [str(target)]
            if mirror:
                src = Path(mirror) / name
                tried.append(str(src))
                if not src.is_file():
                    raise SEDError(f"template {name} ({cls}) not found in the mirror {mirror} "
                                   f"(${MIRROR_ENV}); looked in: {tried}. Point ${MIRROR_ENV} at a "
                                   f"folder holding the files of {BASE_URL}, or unset it to download.")
                shutil.copyfile(src, target)
            else:
                tried.append(BASE_URL + name)
                try:
                    urllib.request.urlretrieve(BASE_URL + name, target)
                except OSError as err:
                    raise SEDError(f"could not download {BASE_URL + name} ({err}); looked in: "
                                   f"{tried}. Without internet, set ${MIRROR_ENV} to a folder "
                                   f"holding the files (e.g. shared/data/pickles).") from err
            got = sha256(target)
            if got != digest:
                target.unlink()
                raise SEDError(f"checksum mismatch for {name} ({cls}) from {tried[-1]}: "
                               f"expected sha256 {digest}, got {got}; the file was removed from "
                               f"the cache. Re-fetch it from {BASE_URL + name}.")
        out[cls] = target
    return out


def read_template(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength_nm, nflam) of one Pickles FITS table."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        table = hdul[1].data
        return np.asarray(table["lambda"], np.float64) / 10.0, np.asarray(table["nflam"], np.float64)


def integrate_bins(edges_src: np.ndarray, values: np.ndarray, edges_dst: np.ndarray) -> np.ndarray:
    """Integral of a piecewise-constant function over each destination bin.

    ``values[..., i]`` holds on [edges_src[i], edges_src[i+1]); destination bins
    must lie inside the source range.
    """
    if edges_dst[0] < edges_src[0] - 1e-9 or edges_dst[-1] > edges_src[-1] + 1e-9:
        raise SEDError(f"wavelengths {edges_dst[0]:.2f}-{edges_dst[-1]:.2f} nm lie outside the "
                       f"templates' range {edges_src[0]:.2f}-{edges_src[-1]:.2f} nm")
    # cumulative integral at the source edges, linear in between
    cum = np.concatenate([np.zeros(values.shape[:-1] + (1,)),
                          np.cumsum(values * np.diff(edges_src), axis=-1)], axis=-1)
    at = np.stack([np.interp(edges_dst, edges_src, c) for c in cum.reshape(-1, cum.shape[-1])])
    return np.diff(at, axis=-1).reshape(values.shape[:-1] + (len(edges_dst) - 1,))


def sample_edges(wavelength_nm: np.ndarray) -> np.ndarray:
    """Edges [lambda_i, lambda_i + step) of the tabulated samples, nm."""
    return np.append(wavelength_nm, wavelength_nm[-1] + SAMPLE_NM)


def binned_seds(paths: dict[str, Path], edges_nm: np.ndarray) -> np.ndarray:
    """Templates integrated over the bins ``edges_nm``, each row normalised to sum 1."""
    rows = []
    for cls, path in paths.items():
        wl, flux = read_template(path)
        rows.append(integrate_bins(sample_edges(wl), flux, np.asarray(edges_nm, np.float64)))
    rows = np.array(rows)
    return rows / rows.sum(axis=1, keepdims=True)


def one_nm_edges(band_nm: tuple[float, float]) -> np.ndarray:
    """1 nm bin edges over the band (350 bins for 550-900 nm)."""
    lo, hi = band_nm
    return np.arange(lo, hi + 0.5, 1.0)


def build_table(classes, band_nm, bin_edges_nm, cache_dir, mirror=None) -> tuple[dict, dict]:
    """Fetch, verify and bin the templates of ``classes``.

    Returns (arrays, inputs): arrays holds ``seds_1nm`` (n_classes, n_nm) on
    1 nm bins over ``band_nm``, ``wavelength_nm`` (bin centres), ``bin_edges_nm``
    and ``weights`` (n_classes, n_bins), each row summing to 1; inputs maps
    file names to their cached paths (for provenance).
    """
    paths = fetch_templates(cache_dir, classes, mirror)
    edges_1nm = one_nm_edges(band_nm)
    arrays = {
        "seds_1nm": binned_seds(paths, edges_1nm),
        "wavelength_nm": 0.5 * (edges_1nm[1:] + edges_1nm[:-1]),
        "bin_edges_nm": np.asarray(bin_edges_nm, np.float64),
        "weights": binned_seds(paths, bin_edges_nm),
    }
    return arrays, {p.name: str(p) for p in paths.values()}
