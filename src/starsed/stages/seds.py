"""The ``seds`` stage: the SED templates, checksummed, binned to 1 nm and to the simulation's bins."""
from __future__ import annotations

from .. import paths
from ..io import provenance, write_h5, write_results
from ..physics.seds import SEDs, build_table
from ..physics.telescope import Telescope

#: the params sections the stage reads, with their dataclasses (dvc.yaml declares the same)
SECTIONS = {"telescope": Telescope, "seds": SEDs}


def run(cfg, out: str = paths.SEDS, cache_dir: str = paths.SED_CACHE, root=".") -> dict:
    """Fetch, verify and bin the templates of ``seds.classes``; write ``out`` and
    ``metrics/seds.json`` (each class's weights in the wavelength bins); return the arrays."""
    t = cfg.telescope
    classes = list(cfg.seds.classes)
    arrays, inputs = build_table(classes, t.band_nm, t.bin_edges_nm, cache_dir=cache_dir)
    write_h5(out, {"seds": arrays}, {"classes": classes, "provenance": provenance(cfg, None, inputs)})
    write_results("seds", root, metrics={"bin_centres_nm": [round(1000 * w, 6) for w in t.wavelengths_um],
                                          "weights": {c: [round(float(v), 6) for v in row]
                                                      for c, row in zip(classes, arrays["weights"])}})
    return arrays
