"""The ``seds`` stage: the SED templates, checksummed, binned to 1 nm and to the simulation's bins."""
from __future__ import annotations

from .. import paths
from ..io import provenance, write_h5
from ..physics.seds import SEDs, build_table
from ..physics.telescope import Telescope

#: the params sections the stage reads, with their dataclasses (dvc.yaml declares the same)
SECTIONS = {"telescope": Telescope, "seds": SEDs}


def run(cfg, out: str = paths.SEDS, cache_dir: str = paths.SED_CACHE) -> dict:
    """Fetch, verify and bin the templates of ``seds.classes``; write ``out``; return its arrays."""
    t = cfg.telescope
    classes = list(cfg.seds.classes)
    arrays, inputs = build_table(classes, t.band_nm, t.bin_edges_nm, cache_dir=cache_dir)
    write_h5(out, {"seds": arrays}, {"classes": classes, "provenance": provenance(cfg, None, inputs)})
    return arrays
