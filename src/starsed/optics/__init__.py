"""The one optical chain: shared kernel builders, the NumPy simulator, the TensorFlow twin.

- :mod:`.kernels`: Fourier matrices and conventions, shared by both array libraries;
- :mod:`.stamps`: binning, normalisation, cropping, SED weighting;
- :mod:`.simulator`: :class:`Optics`, the NumPy forward model (double or single precision);
- :mod:`.tf_optics`: :class:`TFOptics`, the same chain in TensorFlow (imported on use:
  TensorFlow is slow to import).
"""
from .kernels import fft_size, fft_wavelength_um, folded_kernels, mft_matrices, precision_dtypes  # noqa: F401
from .simulator import Optics, SinCos  # noqa: F401
from .stamps import bin_pixels, centre_crop, normalise, polychromatic  # noqa: F401
