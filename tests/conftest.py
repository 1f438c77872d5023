import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from starsed.physics.field import FieldSpec
from starsed.physics.telescope import Telescope

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The SED mirror named by $STARSED_DATA_MIRROR (CI sets it), else the shared copy."""
    path = Path(os.environ.get("STARSED_DATA_MIRROR", ROOT.parent / "shared" / "data" / "pickles")).resolve()
    if not path.is_dir():
        pytest.fail(f"SED mirror not found at {path}; set STARSED_DATA_MIRROR to a folder "
                    "holding the Pickles FITS files (see shared/data/pickles/SOURCES.md)")
    return path


@pytest.fixture(scope="session")
def sed_weights(mirror, tmp_path_factory) -> np.ndarray:
    from starsed.physics.seds import binned_seds, fetch_templates

    paths = fetch_templates(tmp_path_factory.mktemp("seds"), mirror=mirror)
    return binned_seds(paths, Telescope().bin_edges_nm)


@pytest.fixture
def small_telescope() -> Telescope:
    """Euclid-like optics on a coarse pupil (P = 32): fast, same conventions."""
    return dataclasses.replace(Telescope(), pupil_samples=32)


@pytest.fixture
def field_spec() -> FieldSpec:
    return FieldSpec()
