"""Departures from the idealised simulation: what real Euclid stars do that the paper's do not.

Each effect is one sub-section of the ``realism`` params section and one module here; each is
off by default, and with every effect off the simulator makes the idealised data byte for byte
(its random draws come from their own stream, ``realism.seed``, so the idealised draws are not
touched). ``docs/reference.md`` (section Realism) gives the physics and the units.

- :mod:`.offsets`: stars off the pixel centre, as wavefront tip/tilt;
- :mod:`.detectors`: the focal plane's CCD mosaic, each detector with its own height and tilt
  out of the focal surface: a defocus (Noll Z4) that jumps across detector edges;
- :mod:`.wavefront`: a smooth random wavefront field outside the PSF model's polynomial family;
- :mod:`.seds`: SEDs between neighbouring templates, reddened by interstellar dust, labelled by
  their nearest template;
- :mod:`.effects`: all of them drawn for the stars of one exposure.
"""
from .effects import Realism, StarEffects, draw_effects

__all__ = ["Realism", "StarEffects", "draw_effects"]
