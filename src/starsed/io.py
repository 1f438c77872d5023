"""Artefacts as plain data: HDF5 with provenance attributes, stable JSON.

Files are written to a temporary file of a unique name beside the target and
renamed (:func:`atomic_path`), so an interrupted run never leaves a half-written
artefact in place of a good one, two writers never share a temporary file, and
a failed write removes its own. HDF5 object times are
not recorded, so the same arrays give the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np

PACKAGES = ("starsed", "numpy", "scipy", "h5py", "astropy", "tensorflow", "keras", "scikit-learn")


def sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def versions(packages=PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape the results (and Python)."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def provenance(cfg, seed: Any = None, inputs: Mapping[str, str] | None = None) -> dict:
    """What made an artefact: the params sections its stage reads, seed, package versions,
    input SHA-256s.

    ``cfg``: the stage's checked sections (:class:`starsed.params.Sections`; the
    same ones its ``dvc.yaml`` entry declares), stored with the profile name, so
    editing another stage's parameters leaves the artefact's bytes unchanged.
    """
    return {
        "params": cfg.plain(),
        "seed": seed,
        "versions": versions(),
        "inputs": {name: sha256(path) for name, path in sorted((inputs or {}).items())},
    }


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a fresh temporary path beside ``path``; on success it replaces ``path``
    atomically, on an exception it is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)                 # mkstemp makes it private; artefacts are for reading
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_h5(path: str | os.PathLike, groups: Mapping[str, Mapping[str, np.ndarray]],
             attrs: Mapping[str, Any] | None = None) -> Path:
    """Write ``{group: {name: array}}`` and root attributes (JSON-encoded if not scalar)."""
    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=False) as fh:
        for key, value in (attrs or {}).items():
            fh.attrs[key] = value if isinstance(value, (int, float, str)) else json.dumps(value, sort_keys=True)
        for gname, arrays in groups.items():
            g = fh.require_group(gname)
            for name, arr in arrays.items():
                g.create_dataset(name, data=np.asarray(arr), track_times=False)
    return path


def _open_group(fh, path: Path, group: str):
    if group not in fh:
        raise KeyError(f"{path} has no group {group!r}; it has {sorted(fh)}")
    return fh[group]


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run the DVC stage that makes it (`dvc repro`)")
    return path


def h5_rows(path: str | os.PathLike, group: str, name: str = "labels") -> int:
    """Number of rows of one array of a group (its shape only: nothing is read)."""
    path = _existing(path)
    with h5py.File(path, "r") as fh:
        return int(_open_group(fh, path, group)[name].shape[0])


def read_h5(path: str | os.PathLike, group: str, names=None, rows=None) -> dict[str, np.ndarray]:
    """Arrays of one group (all, or ``names``), optionally only ``rows`` (a slice or sorted indices)."""
    path = _existing(path)
    with h5py.File(path, "r") as fh:
        g = _open_group(fh, path, group)
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
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_plain(obj), indent=2, sort_keys=True) + "\n")
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text file atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def write_results(name: str, root: str | os.PathLike = ".", metrics: Any = None, headline: Any = None,
                  record: Any = None) -> None:
    """A stage's result files under ``root``: ``metrics/<name>.json`` (its results),
    ``metrics/headline/<name>.json`` (the few numbers of ``dvc metrics show``) and
    ``records/<name>.json`` (what ran: timings and provenance, which change from run to
    run and which no later stage reads). Those given as None are not written."""
    from . import paths

    root = Path(root)
    for rel, obj in ((paths.metrics_file(name), metrics), (paths.headline_file(name), headline),
                     (paths.record_file(name), record)):
        if obj is not None:
            write_json(root / rel, obj)


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())
