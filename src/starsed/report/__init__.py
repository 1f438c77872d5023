"""Presentation of results: tables (:mod:`.tables`), the paper's macros (:mod:`.macros`), the
curve data of ``dvc plots show`` (:mod:`.plot_data`) and the paper's published numbers
(:mod:`.published`, their only copy). Figures are in :mod:`starsed.plots`."""
