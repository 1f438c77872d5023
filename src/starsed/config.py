"""Load ``params.yaml``, apply the selected profile, validate with clear errors.

``params.yaml`` holds base sections grouped by stage and a ``profiles`` map of
overrides; ``profile`` names the override set in force. Every error names the
parameter and the allowed values.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

PROFILES = ("smoke", "default", "paper")


class ConfigError(ValueError):
    """A parameter is missing or outside its allowed values."""


def find_params(start: str | os.PathLike | None = None) -> Path:
    """Locate ``params.yaml`` in ``start`` (default: cwd) or any parent folder."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "params.yaml").is_file():
            return folder / "params.yaml"
    raise FileNotFoundError(
        f"params.yaml not found in {here} or any parent folder; run from the repository root"
    )


def _merge(base: dict, override: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if key not in out:
            raise ConfigError(f"profile override '{where}.{key}' names no base parameter; "
                              f"allowed: {sorted(out)}")
        if isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = _merge(out[key], value, f"{where}.{key}")
        else:
            out[key] = value
    return out


def resolve(raw: dict, profile: str | None = None) -> dict:
    """Base sections with the profile's overrides applied (``profile`` key set)."""
    profile = profile or raw.get("profile", "default")
    profiles = raw.get("profiles", {})
    if profile not in profiles:
        raise ConfigError(f"unknown profile {profile!r}; allowed: {sorted(profiles)}")
    base = {k: v for k, v in raw.items() if k not in ("profile", "profiles")}
    out = _merge(base, profiles[profile], f"profiles.{profile}")
    out["profile"] = profile
    return out


def load_params(path: str | os.PathLike | None = None, profile: str | None = None) -> dict:
    """Read ``params.yaml`` (found upwards from cwd if ``path`` is None) and resolve it."""
    path = Path(path) if path else find_params()
    with open(path) as fh:
        raw = yaml.safe_load(fh)
    return resolve(raw, profile)


def require(cond: bool, name: str, value: Any, allowed: str) -> None:
    """Raise :class:`ConfigError` naming ``name``, its value and what is allowed."""
    if not cond:
        raise ConfigError(f"parameter {name} = {value!r} is invalid; allowed: {allowed}")


@dataclass(frozen=True)
class Telescope:
    """Instrument and sampling. Lengths carry their unit in the name."""

    diameter_m: float = 1.2
    focal_length_m: float = 24.5
    pixel_um: float = 12.0
    stamp_px: int = 32
    oversampling: int = 3
    sr_stamp: int = 64
    pupil_samples: int = 256
    band_nm: tuple[float, float] = (550.0, 900.0)
    n_bins: int = 8
    axis_offset_px: tuple[float, float] = (0.0, 0.0)
    obscurations: str = "euclid"

    def __post_init__(self):
        for name in ("diameter_m", "focal_length_m", "pixel_um"):
            v = getattr(self, name)
            require(v > 0, f"telescope.{name}", v, "a positive number")
        for name in ("stamp_px", "oversampling", "pupil_samples", "n_bins", "sr_stamp"):
            v = getattr(self, name)
            require(isinstance(v, (int, np.integer)) and v > 0, f"telescope.{name}", v,
                    "a positive integer")
        lo, hi = self.band_nm
        require(0 < lo < hi, "telescope.band_nm", self.band_nm, "[low, high] with 0 < low < high")
        require(self.obscurations in ("euclid", "none"), "telescope.obscurations",
                self.obscurations, "'euclid' or 'none'")
        require(self.sr_stamp <= self.grid_samples, "telescope.sr_stamp", self.sr_stamp,
                f"at most stamp_px x oversampling = {self.grid_samples}")

    @classmethod
    def from_params(cls, section: dict) -> "Telescope":
        d = dict(section)
        d["band_nm"] = tuple(float(v) for v in d["band_nm"])
        d["axis_offset_px"] = tuple(float(v) for v in d.get("axis_offset_px", (0.0, 0.0)))
        unknown = set(d) - set(cls.__dataclass_fields__)
        require(not unknown, "telescope", sorted(unknown),
                f"keys among {sorted(cls.__dataclass_fields__)}")
        return cls(**d)

    @property
    def grid_samples(self) -> int:
        """Side of the oversampled optical grid (stamp_px x oversampling)."""
        return self.stamp_px * self.oversampling

    @property
    def sample_um(self) -> float:
        """Focal-plane sample of the oversampled grid, um (4 um for Euclid)."""
        return self.pixel_um / self.oversampling

    @property
    def bin_edges_nm(self) -> np.ndarray:
        """Edges of the ``n_bins`` equal wavelength bins, nm."""
        return np.linspace(*self.band_nm, self.n_bins + 1)

    @property
    def wavelengths_um(self) -> np.ndarray:
        """Bin centres, um (571.875 + 43.75 k nm for Euclid VIS)."""
        e = self.bin_edges_nm
        return 0.5 * (e[:-1] + e[1:]) / 1000.0


@dataclass(frozen=True)
class FieldSpec:
    """Random polynomial wavefront field (REFERENCE §2)."""

    n_zernikes: int = 45
    degree: int = 4
    size: float = 1000.0
    anchors_per_side: int = 5
    mode_norm_um: float = 0.05
    wfe_fraction: float = 0.8

    def __post_init__(self):
        require(isinstance(self.n_zernikes, (int, np.integer)) and self.n_zernikes >= 1,
                "field.n_zernikes", self.n_zernikes, "an integer >= 1")
        require(isinstance(self.degree, (int, np.integer)) and self.degree >= 0,
                "field.degree", self.degree, "an integer >= 0")
        require(self.size > 0, "field.size", self.size, "a positive number")
        n_mono = (self.degree + 1) * (self.degree + 2) // 2
        require(self.anchors_per_side ** 2 >= n_mono, "field.anchors_per_side",
                self.anchors_per_side, f"at least sqrt({n_mono}) anchors per side for degree {self.degree}")
        require(self.mode_norm_um >= 0, "field.mode_norm_um", self.mode_norm_um, "a number >= 0")
        require(self.wfe_fraction >= 0, "field.wfe_fraction", self.wfe_fraction, "a number >= 0")

    @classmethod
    def from_params(cls, section: dict) -> "FieldSpec":
        unknown = set(section) - set(cls.__dataclass_fields__)
        require(not unknown, "field", sorted(unknown), f"keys among {sorted(cls.__dataclass_fields__)}")
        return cls(**section)
