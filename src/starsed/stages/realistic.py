"""The ``realistic`` stage: the paper's PSF models and PSF-aware classifiers on realistic data.

One exposure like the main one (same seed, same star counts) simulated with every effect of
``realistic.effects`` (:mod:`starsed.realism`) on; then

- PSF models S1..S6 (the ``psf_models`` recipe at ``realistic.training_sets``) trained twice:
  the model that knows these data, with each training star's offset fitted
  (:class:`~starsed.psf_model.offsets.OffsetFit` ``realistic.offsets``), a per-detector focus
  term on the effects' mosaic (``realistic.detector_focus``) and the data-driven part on
  (``realistic.data_driven``: the wavefront is outside the parametric family), and the model
  of the idealised run as it is (offsets ignored: every star taken to sit on the axis; no
  detector term; the ``psf_models`` architecture); both evaluated on the noiseless test stars
  at the test stars' true offsets (the PSF is asked for where the star is);
- the PSF-aware classifiers with the true PSF (``realistic.classifiers``: SVM+PSF, likelihood,
  Bayes limit) over ``realistic.realisations`` realisations of the ``classify`` protocol, once
  with the true PSF rendered at each star's true offset and once at its offset estimated from
  the noisy stamp (the true wavefront at the mean template SED, :func:`estimated_offsets_px`),
  where the likelihood and the Bayes limit refine the offset per class (linearised, from the
  PSF's shift derivatives) and SVM+PSF takes the PSF at the estimated offset: the gap is what
  centroiding costs. ``estimated_offsets_unrefined``: the same without the per-class refinement.

Writes ``metrics/realism.json`` and ``records/realism.json``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from .. import paths
from ..params import Section, param, positive
from ..physics.field import FieldSpec
from ..physics.telescope import Telescope
from ..psf_model.offsets import OffsetFit
from ..realism import Realism
from ..realism.detectors import Detectors
from ..realism.offsets import Offsets
from ..realism.seds import RealisticSEDs
from ..realism.wavefront import ExtraWavefront
from .classify import ClassifyParams
from .psf_models import PSFModelsParams
from .simulate import SimulateParams


def _all_on() -> Realism:
    return Realism(offsets=Offsets(max_px=0.5), detectors=Detectors(piston_rms_um=40.0, tilt_rms_um=20.0),
                   wavefront=ExtraWavefront(share=0.2), seds=RealisticSEDs(mix_max=0.5, ebv_mean=0.05))


CLASSIFIERS = ("svm_psf_gt", "likelihood_gt", "bayes_gt")
#: step (pixels) of the central differences that give the PSF's shift derivatives
SHIFT_STEP_PX = 0.01


@dataclass(frozen=True)
class RealisticParams(Section):
    """The ``realistic`` params section: the ``effects`` (a :class:`~starsed.realism.Realism`),
    the PSF models' ``training_sets``, the offset fit of the PSF models (``offsets``), the
    ``classifiers`` and their ``realisations``, and ``workers`` (processes; the results do not
    depend on it). ``detector_focus``: the fitted models have a per-detector focus term on the
    mosaic of ``effects.detectors`` (when that effect is on); ``data_driven``: the fitted
    models have the data-driven part on."""

    SECTION = "realistic"

    effects: Realism = field(default_factory=_all_on)
    training_sets: tuple[int, ...] = param((50, 100, 200, 500, 1000, 2000),
                                           check=lambda v: len(v) > 0 and all(b > a for a, b in zip(v, v[1:])),
                                           allowed="a non-empty list of increasing positive star counts")
    offsets: OffsetFit = field(default_factory=OffsetFit)
    detector_focus: bool = True
    data_driven: bool = True
    classifiers: tuple[str, ...] = param(CLASSIFIERS, check=lambda v: len(v) > 0 and set(v) <= set(CLASSIFIERS),
                                         allowed=f"a non-empty list among {list(CLASSIFIERS)}")
    realisations: int = param(5, check=positive, allowed="an integer >= 1")
    workers: int = param(2, check=positive, allowed="an integer >= 1 (processes)")


#: the params sections the stage reads, with their dataclasses (dvc.yaml declares the same)
SECTIONS = {"telescope": Telescope, "field": FieldSpec, "simulate": SimulateParams, "psf_models": PSFModelsParams,
            "classify": ClassifyParams, "realistic": RealisticParams}


def check_against_params(r: RealisticParams, s: PSFModelsParams) -> None:
    """The realistic training sets are the first sets of the PSF models (whose schedule they use)."""
    from ..params import require

    n = len(r.training_sets)
    require(list(s.training_sets[:n]) == list(r.training_sets), "realistic.training_sets", list(r.training_sets),
            f"the first sets of psf_models.training_sets {list(s.training_sets)} (their schedule is used)")


def psf_settings(cfg, fitted: bool) -> PSFModelsParams:
    """The PSF models' section at the realistic training sets: the model that knows the data
    (``fitted``: offsets fitted, the detector term and data-driven part as ``realistic`` says)
    or the idealised run's model (offsets ignored)."""
    s, r = cfg.psf_models, cfg.realistic
    check_against_params(r, s)
    n = len(r.training_sets)
    cut = lambda sched: replace(sched, **{f: getattr(sched, f)[:n] for f in sched.PER_SET})  # noqa: E731
    model = s.model
    if fitted:
        grid = r.effects.detectors.grid if (r.detector_focus and r.effects.detectors.active) else None
        model = replace(model, detector_grid=grid, data_driven=model.data_driven or r.data_driven)
    return replace(s, training_sets=tuple(r.training_sets), fast=cut(s.fast), paper=cut(s.paper),
                   offsets=r.offsets if fitted else None, model=model)


def psf_task(task) -> dict:
    """A worker's task: the S-sets with the offsets fitted (True) or ignored (False)."""
    from ..parallel import shared
    from .psf_models import train_training_sets

    d = shared()
    s = d["psf"][task]
    results, _ = train_training_sets(d["telescope"], d["train"], d["test"], s, s.model_config(d["field"]),
                                     progress=False)
    return {name: {"rel_rmse_pct": r["rel_rmse_pct"], "train_seconds": r["train_seconds"]}
            for name, r in results.items()}


def estimated_offsets_px(telescope: Telescope, field_spec: FieldSpec, zernikes_um: np.ndarray, noisy: np.ndarray,
                         template_weights: np.ndarray, pupil_samples: int = 128, iterations: int = 4) -> np.ndarray:
    """Each star's offset (N, 2), pixels, fitted to its noisy stamp with its true wavefront at the
    mean template SED (the classifier does not know the star's SED): the true PSF's offsets as
    a centroiding step would give them, through the PSF model's optics at ``pupil_samples``."""
    from ..psf_model import PSFModel, PSFModelConfig
    from ..psf_model.offsets import gauss_newton_tilts
    from ..psf_model.model import with_tilts
    from ..realism.offsets import shift_per_tilt_px

    optics = PSFModel(telescope, PSFModelConfig(pupil_samples=pupil_samples, n_zernikes=field_spec.n_zernikes,
                                                field_size=field_spec.size))
    sed = np.repeat(np.mean(template_weights, axis=0, keepdims=True), len(noisy), axis=0)
    per_um = shift_per_tilt_px(telescope, pupil_samples)
    t = gauss_newton_tilts(lambda t: optics.render(with_tilts(zernikes_um, t), sed), noisy,
                           np.zeros((len(noisy), 2)), iterations, max_step_um=0.5 / per_um)
    return t * per_um


def offsets_task(rows) -> np.ndarray:
    from ..parallel import shared

    d = shared()
    return estimated_offsets_px(d["telescope"], d["field"], d["zernikes_um"][rows], d["noisy"][rows],
                                d["template_weights"], d["pupil_samples"])


def true_mono_at(telescope: Telescope, field_spec: FieldSpec, zernikes_um: np.ndarray, offsets_px: np.ndarray,
                 precision: str = "single", chunk: int = 16) -> np.ndarray:
    """The true monochromatic stamps (N, L, m, m) of stars with wavefront ``zernikes_um`` at
    ``offsets_px`` (the simulator's optics)."""
    from ..optics import Optics
    from ..psf_model.model import with_tilts
    from ..realism.offsets import tilt_um

    optics = Optics(telescope, field_spec.n_zernikes, precision)
    z = with_tilts(zernikes_um, tilt_um(offsets_px, telescope))
    return np.concatenate([optics.stamps(z[a:a + chunk])["mono"] for a in range(0, len(z), chunk)])


def run(cfg, seds_path=paths.SEDS, out_dir: str = "data/realistic", root=".", progress: bool = True) -> dict:
    """Simulate the realistic exposure, train and evaluate the PSF models both ways, classify with
    true and estimated offsets; write ``metrics/realism.json`` (returned) and its record."""
    from ..classifiers.features import PSFStats
    from ..io import provenance, read_h5, write_h5, write_results
    from ..parallel import run_tasks
    from .classify import run_classification, summarise_runs
    from .psf_models import TRAIN_KEYS
    from .simulate import exposure_plans, simulate_exposure

    r, telescope, field_spec = cfg.realistic, cfg.telescope, cfg.field
    psf = {True: psf_settings(cfg, True), False: psf_settings(cfg, False)}
    seconds = {}
    t0 = time.perf_counter()
    seds = read_h5(seds_path, "seds")
    plan = exposure_plans(cfg.simulate)["main"]
    data = simulate_exposure(telescope, field_spec, seds["weights"], plan, cfg.simulate.precision,
                             cfg.simulate.chunk_stars, progress, realism=r.effects, seds_table=seds)
    summary = data.pop("realism")
    write_h5(f"{out_dir}/main.h5", data, {"exposure": "main (realistic)", "seed": plan.seed,
                                          "provenance": provenance(cfg, plan.seed, {"seds": str(seds_path)})})
    seconds["simulate"] = time.perf_counter() - t0

    # PSF models, offsets fitted and ignored (one process each)
    t0 = time.perf_counter()
    n_max = r.training_sets[-1]
    train = {k: data["train"][k][:n_max] for k in TRAIN_KEYS}
    test_keys = ("positions", "sed_weights", "noiseless", "mono", "zernikes_um", "offsets_px")
    test = {k: data["test"][k][:cfg.psf_models.n_test] for k in test_keys if k in data["test"]}
    shared = {"telescope": telescope, "field": field_spec, "train": train, "test": test, "psf": psf}
    fitted, ignored = run_tasks(psf_task, [True, False], r.workers, shared, desc="PSF models (realistic)",
                                progress=progress)
    seconds["psf_models"] = time.perf_counter() - t0

    # classification with the true PSF at the true and at the estimated offsets
    t0 = time.perf_counter()
    c = replace(cfg.classify, realisations=r.realisations, workers=r.workers)
    start, stop = c.classifier_stars
    pool_keys = ("noisy", "labels", "snr", "sigma", "zernikes_um", "offsets_px", "mono")
    pool = {k: np.concatenate([data["train"][k][start:stop], data["test"][k]]) for k in pool_keys}
    parts = np.array_split(np.arange(len(pool["noisy"])), max(1, 4 * r.workers))
    shared = {"telescope": telescope, "field": field_spec, "zernikes_um": pool["zernikes_um"],
              "noisy": pool["noisy"], "template_weights": seds["weights"],
              "pupil_samples": cfg.psf_models.model.pupil_samples}
    est = np.concatenate(run_tasks(offsets_task, parts, r.workers, shared, desc="offsets (true PSF)",
                                   progress=progress))
    centroid_err = est - pool["offsets_px"]
    render = lambda off: true_mono_at(telescope, field_spec, pool["zernikes_um"], off,  # noqa: E731
                                      cfg.simulate.precision, cfg.simulate.chunk_stars)
    mono_est = render(est)
    dmono = np.stack([(render(est + e) - render(est - e)) / (2 * SHIFT_STEP_PX)
                      for e in SHIFT_STEP_PX * np.eye(2)], axis=2)            # (N, L, 2, m, m) per pixel
    seconds["offsets"] = time.perf_counter() - t0
    classification = {}
    shifted = replace(c, likelihood=replace(c.likelihood, shift=True))
    variants = {"true_offsets": (pool["mono"], None, c), "estimated_offsets": (mono_est, dmono, shifted),
                "estimated_offsets_unrefined": (mono_est, None, c)}
    for name, (mono, dm, c_v) in variants.items():
        t1 = time.perf_counter()
        stats = {"gt": PSFStats.from_mono(mono, pool["noisy"], dmono=dm)}
        out = run_classification(pool, stats, seds["weights"], c_v, keys=list(r.classifiers), progress=progress)
        classification[name] = summarise_runs(out["runs"])
        seconds[f"classify_{name}"] = time.perf_counter() - t1

    metrics = {
        "psf_models": {k: {"offsets_fitted": fitted[k]["rel_rmse_pct"], "offsets_ignored": ignored[k]["rel_rmse_pct"]}
                       for k in fitted},
        "classification": {k: {name: classification[name][k]["accuracy_mean"] for name in classification}
                           for k in r.classifiers},
        "classification_spread": {k: {name: classification[name][k]["accuracy_std"] for name in classification}
                                  for k in r.classifiers},
        "within_one": {k: {name: classification[name][k]["within_one_mean"] for name in classification}
                       for k in r.classifiers},
        "offset_estimate_rmse_px": float(np.sqrt(np.mean(centroid_err ** 2))),
        "exposure": {k: round(v, 4) for k, v in summary.items()},
        "realisations": r.realisations,
        "params": {"effects": provenance(cfg)["params"]["realistic"]["effects"],
                   "fitted_model": {k: provenance(cfg)["params"]["realistic"][k]
                                    for k in ("offsets", "detector_focus", "data_driven")}},
    }
    record = {"seconds": seconds, "train_seconds": {"offsets_fitted": {k: v["train_seconds"] for k, v in fitted.items()},
                                                     "offsets_ignored": {k: v["train_seconds"]
                                                                         for k, v in ignored.items()}}}
    write_results("realism", root, metrics=metrics, record=record)
    return metrics


def main(argv=None) -> None:
    import argparse

    from ..params import load_sections
    from ..runtime import configure

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=None)
    args = parser.parse_args(argv)
    configure(0, tensorflow=True)
    run(load_sections(SECTIONS, args.profile))


if __name__ == "__main__":
    main()
