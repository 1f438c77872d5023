"""The ``validate`` stage: the whole ``params.yaml`` checked before any stage runs.

Every section is read by its strict dataclass (:mod:`starsed.params`), then the
constraints between sections are checked (training sets inside the pool, test
stars that exist, model pupils that divide the telescope's, PSF models that the
``psf_models`` stage makes, rows of the predicted-SED datasets inside the
pool, ...). It is the first stage of the graph, so a bad parameter stops
``dvc repro`` before DVC removes any other stage's outputs. Writes the checked
parameters of the profile in force, with every default filled in
(``build/params.json``), which the ``seds`` stage depends on (that is what puts
this stage first).

``python -m starsed.stages.validate [--profile NAME]``
"""
from __future__ import annotations

import argparse
import sys

from ..params import ConfigError, Sections, load_params, require, sections_from
from . import classify, impact_summary, predict_seds, psf_impact, psf_models, realistic, seds, simulate

MODULES = (seds, simulate, psf_models, classify, predict_seds, psf_impact, impact_summary, realistic)
OUTPUT = "build/params.json"


def all_sections() -> dict[str, type]:
    """{section: dataclass} over every stage."""
    out: dict[str, type] = {}
    for module in MODULES:
        for name, cls in module.SECTIONS.items():
            assert out.setdefault(name, cls) is cls, f"two dataclasses for section {name}"
    return out


def check_between(cfg: Sections) -> None:
    """Constraints between sections (each stage checks its inputs' shapes again when it runs)."""
    sim, psf = cfg.simulate, cfg.psf_models
    psf_models.check_against_params(psf, cfg.telescope, sim.n_pool, sim.n_test)
    classify.check_against_params(cfg.classify, psf, cfg.telescope, sim.n_pool, sim.n_test)
    predict_seds.check_against_params(cfg.predict_seds, psf, sim.n_pool)
    realistic.check_against_params(cfg.realistic, psf)
    n_extra = cfg.predict_seds.extra_rows[1] - cfg.predict_seds.extra_rows[0]
    require(cfg.psf_impact.added[-1] <= n_extra, "psf_impact.added", list(cfg.psf_impact.added),
            f"at most the {n_extra} labelled extra stars (predict_seds.extra_rows)")


def validate(params: dict) -> Sections:
    """Check resolved ``params`` (:func:`starsed.params.load_params`); return every section."""
    classes = all_sections()
    unknown = sorted(set(params) - set(classes) - {"profile"})
    if unknown:
        raise ConfigError(f"unknown params section {unknown[0]}; allowed: {sorted(classes)}")
    cfg = sections_from(params, classes)
    check_between(cfg)
    return cfg


def main(argv=None) -> int:
    from ..io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=None, help="override params.yaml's profile")
    args = parser.parse_args(argv)
    try:
        cfg = validate(load_params(profile=args.profile))
    except ConfigError as err:
        print(f"params.yaml: {err}", file=sys.stderr)
        return 2
    write_json(OUTPUT, cfg.plain())
    print(f"params.yaml (profile {cfg.profile}) is valid; checked parameters in {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
