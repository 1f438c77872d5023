"""Artefacts as plain data: HDF5 with provenance attributes, stable JSON.

Files are written to a temporary name and renamed, so an interrupted run never
leaves a half-written artefact in place of a good one. HDF5 object times are
not recorded, so the same arrays give the same bytes.
"""
from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np

PACKAGES = ("starsed", "numpy", "scipy", "h5py", "astropy", "tensorflow", "keras", "scikit-learn")


def versions(packages=PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape the results (and Python)."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def provenance(params: Mapping, seed: Any = None, inputs: Mapping[str, str] | None = None,
               sections: tuple[str, ...] | None = None) -> dict:
    """What made an artefact: resolved params, seed, package versions, input SHA-256s.

    ``sections``: the params sections the artefact depends on (the stage's own,
    as listed in dvc.yaml), stored with the profile name; editing another
    stage's parameters then leaves the artefact's bytes unchanged. None: all.
    """
    from .seds import sha256

    if sections is not None:
        missing = [name for name in sections if name not in params]
        if missing:
            raise ValueError(f"provenance sections {missing} are not in the params; "
                           f"allowed: the sections present, {sorted(params)}")
        params = {"profile": params.get("profile"), **{name: params[name] for name in sections}}
    return {
        "params": params,
        "seed": seed,
        "versions": versions(),
        "inputs": {name: sha256(path) for name, path in sorted((inputs or {}).items())},
    }


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def write_h5(path: str | os.PathLike, groups: Mapping[str, Mapping[str, np.ndarray]],
             attrs: Mapping[str, Any] | None = None) -> Path:
    """Write ``{group: {name: array}}`` and root attributes (JSON-encoded if not scalar)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    with h5py.File(tmp, "w", track_order=False) as fh:
        for key, value in (attrs or {}).items():
            fh.attrs[key] = value if isinstance(value, (int, float, str)) else json.dumps(value, sort_keys=True)
        for gname, arrays in groups.items():
            g = fh.require_group(gname)
            for name, arr in arrays.items():
                g.create_dataset(name, data=np.asarray(arr), track_times=False)
    os.replace(tmp, path)
    return path


def read_h5(path: str | os.PathLike, group: str, names=None, rows=None) -> dict[str, np.ndarray]:
    """Arrays of one group (all, or ``names``), optionally only ``rows`` (a slice or sorted indices)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run the DVC stage that makes it (`dvc repro`)")
    with h5py.File(path, "r") as fh:
        if group not in fh:
            raise KeyError(f"{path} has no group {group!r}; it has {sorted(fh)}")
        g = fh[group]
        names = list(g) if names is None else names
        return {n: (g[n][()] if rows is None else g[n][rows]) for n in names}


def read_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """Root attributes, JSON values decoded."""
    out = {}
    with h5py.File(path, "r") as fh:
        for key, value in fh.attrs.items():
            if isinstance(value, (str, bytes)):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    pass
            out[key] = value
    return out


def _plain(obj):
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Stable JSON (sorted keys, 2-space indent, trailing newline)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    tmp.write_text(json.dumps(_plain(obj), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())
