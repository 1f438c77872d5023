"""PSF-model error metrics (REFERENCE §7)."""
