"""Metrics: PSF-model errors (:mod:`.psf`), PSF shapes (:mod:`.shapes`) and classification scores (:mod:`.classification`)."""
from .classification import *  # noqa: F401,F403
from .psf import *  # noqa: F401,F403
from .shapes import *  # noqa: F401,F403
