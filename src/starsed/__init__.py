"""starsed: stellar SEDs from single wide-band images, and their use in PSF modelling."""
__version__ = "0.1.0"
