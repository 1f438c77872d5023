"""One module per pipeline stage, named like the stage, its params section and its notebook.

Each module declares ``SECTIONS`` ({params section: dataclass}, the sections it
reads, which its ``dvc.yaml`` entry declares too) and ``run(cfg, ...)``, which
checks what depends on its inputs before any expensive step, does the stage's
work and writes its outputs. The notebook ``notebooks/<stage>.ipynb`` loads the
sections (:func:`starsed.params.load_sections`), calls ``run`` and shows the
results. :mod:`.validate` checks the whole ``params.yaml`` first.

    seds -> simulate -> psf_models -> classify -> predict_seds -> psf_impact -> impact_summary -> paper
"""

#: the stages in pipeline order (dvc.yaml's stages, less `validate`)
STAGES = ("seds", "simulate", "psf_models", "classify", "predict_seds", "psf_impact", "impact_summary", "paper")
