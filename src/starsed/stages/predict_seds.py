"""The ``predict_seds`` stage: predicted-SED datasets of the extra stars (experiment E4;
docs/reference.md, Experiments).

For each base set B (the PSF model of the ``psf_models`` stage trained on the
first B true-SED stars: S1 for 50, S2 for 100), a PSF-aware classifier built on
the base model's PSF labels the extra stars (pool rows ``extra_rows``): the
paper's SVM+PSF trained on the labelled stars ``labeller_rows``, and the
label-free likelihood classifier. Each extra star then gets SED weights
according to a *variant* (:data:`VARIANTS`):

``predicted``  the template of the most probable class (the paper);
``soft``       the posterior-weighted mixture of the 13 templates;
``oracle``     its true SED (the upper bound of what classification can give);
``ignorant``   the mean of the 13 templates (what the PSF model gets without
               any classification: the lower bound);
``likelihood`` (and ``likelihood_soft``) as predicted (soft), labelled by the
               label-free likelihood classifier instead of the SVM.

The ``psf_impact`` stage trains PSF models on the base stars plus these.
"""
from __future__ import annotations

import sys

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from .. import paths
from ..params import Section, param, require, row_range
from .psf_models import PSFModelsParams, require_models

__all__ = ["PredictSEDsParams", "SECTIONS", "VARIANTS", "check_against_params", "base_model_names",
           "extra_sed_weights", "label_extra_stars", "run"]


@dataclass(frozen=True)
class PredictSEDsParams(Section):
    """The ``predict_seds`` params section: ``seed`` of the SVM labeller (Platt
    cross-validation); ``bases``: base sets, each one of ``psf_models.training_sets``;
    ``labeller_rows``: pool rows [start, stop) whose known classes train the SVM
    labeller; ``extra_rows``: pool rows [start, stop) that are labelled (and added by
    ``psf_impact``), after every base set's stars and apart from the labeller's."""

    SECTION = "predict_seds"

    seed: int = 777
    bases: tuple[int, ...] = param((50, 100), check=lambda v: len(v) > 0 and all(b > 0 for b in v),
                                   allowed="a non-empty list of positive star counts (psf_models.training_sets)")
    labeller_rows: tuple[int, int] = param((4000, 12000), check=row_range,
                                           allowed="pool rows [start, stop) with 0 <= start < stop")
    extra_rows: tuple[int, int] = param((2000, 4000), check=row_range,
                                        allowed="pool rows [start, stop) with 0 <= start < stop")

    def check(self, where: str) -> None:
        (a, b), (c, d) = self.labeller_rows, self.extra_rows
        require(not (a < d and c < b), f"{where}.labeller_rows", [a, b],
                f"pool rows [start, stop) apart from {where}.extra_rows [{c}, {d})")
        require(max(self.bases) <= c, f"{where}.bases", list(self.bases),
                f"star counts at most {where}.extra_rows start = {c} (the base stars come before the extra stars)")


#: the params sections the stage reads, with their dataclasses (dvc.yaml declares the same)
SECTIONS = {"psf_models": PSFModelsParams, "predict_seds": PredictSEDsParams}

#: variant -> (labeller whose probabilities it uses, rule); None: no labeller
VARIANTS = {"predicted": ("svm", "argmax"), "soft": ("svm", "mixture"),
            "likelihood": ("likelihood", "argmax"), "likelihood_soft": ("likelihood", "mixture"),
            "oracle": (None, "truth"), "ignorant": (None, "mean")}


def base_model_names(p: PredictSEDsParams, psf: PSFModelsParams) -> dict[int, str]:
    """{base: the name of the psf_models model trained on exactly the first ``base`` stars}."""
    sizes = list(psf.training_sets)
    for base in p.bases:
        require(base in sizes, "predict_seds.bases", list(p.bases),
                f"base sets among psf_models.training_sets {sizes}")
    return {base: psf.names[sizes.index(base)] for base in p.bases}


def check_against_params(p: PredictSEDsParams, psf: PSFModelsParams, n_pool: int) -> None:
    """Constraints between this section and the others: every base set is a model of the
    ``psf_models`` stage, the rows lie inside the main pool of ``n_pool`` stars."""
    base_model_names(p, psf)
    for name, rows in (("labeller_rows", p.labeller_rows), ("extra_rows", p.extra_rows)):
        require(rows[1] <= n_pool, f"predict_seds.{name}", list(rows),
                f"[start, stop) rows inside the main pool of {n_pool} stars (simulate.n_pool)")


def extra_sed_weights(variant: str, probas: Mapping[str, np.ndarray], templates: np.ndarray,
                      true_weights: np.ndarray) -> np.ndarray:
    """SED weights (E, n_bins) of the extra stars under ``variant``.

    ``probas``: {labeller: (E, n_classes) class probabilities}; ``templates``
    (n_classes, n_bins), rows summing to 1; ``true_weights`` (E, n_bins).
    """
    require(variant in VARIANTS, "psf_impact variant", variant, f"one of {list(VARIANTS)}")
    labeller, rule = VARIANTS[variant]
    templates = np.asarray(templates, np.float64)
    true_weights = np.asarray(true_weights, np.float64)
    if rule == "truth":
        return true_weights.copy()
    if rule == "mean":
        return np.repeat(templates.mean(axis=0, keepdims=True), len(true_weights), axis=0)
    proba = np.asarray(probas[labeller], np.float64)
    if rule == "argmax":
        return templates[np.argmax(proba, axis=1)]
    w = (proba / proba.sum(axis=1, keepdims=True)) @ templates
    return w / w.sum(axis=1, keepdims=True)


def label_extra_stars(base_model, pool: Mapping[str, np.ndarray], templates: np.ndarray,
                      train_rows: np.ndarray, extra_rows: np.ndarray, seed: int,
                      progress: bool = True) -> dict[str, np.ndarray]:
    """Class probabilities of the extra stars from the base model's PSF.

    ``svm``: the paper's SVM+PSF (the paper's C and gamma, :class:`~starsed.classifiers.SVMConfig`)
    trained on ``train_rows`` (true labels); ``likelihood``: the label-free template fit
    (free flux, sigma from the stamps). Both use the base model's monochromatic PSFs at each
    star's position (``base_model.predict(positions, kind='mono', progress=...)``).
    """
    from ..classifiers import SVMPSF, LikelihoodClassifier, PSFStats, SVMConfig

    rows = np.concatenate([train_rows, extra_rows])
    mono = base_model.predict(pool["positions"][rows], kind="mono", progress=progress)
    stats = PSFStats.from_mono(mono, pool["noisy"][rows])
    n = len(train_rows)
    train, extra = stats.take(np.arange(n)), stats.take(np.arange(n, len(rows)))
    svm = SVMPSF(SVMConfig(), seed=seed).fit(pool["noisy"][train_rows], pool["labels"][train_rows], stats=train)
    return {
        "svm": svm.predict_proba(pool["noisy"][extra_rows], stats=extra),
        "likelihood": LikelihoodClassifier(templates).predict_proba(pool["noisy"][extra_rows], stats=extra),
    }


POOL_KEYS = ("positions", "noisy", "labels", "sed_weights")


def run(cfg, main_path=paths.MAIN, seds_path=paths.SEDS, models_dir=paths.PSF_MODELS_DIR,
        out_dir=paths.PREDICT_SEDS_DIR, root=".", progress: bool = True) -> dict:
    """Label the extra stars with each base model and write ``<out_dir>/base<B>.h5``
    (group ``extra``: rows, labels, the labellers' probabilities and the SED weights of every
    variant; attributes base, base_model, provenance) and the labelling accuracies
    ``metrics/predict_seds.json`` under ``root`` ({'base<B>': {labeller: {accuracy,
    within_one}}}), which it returns.

    ``cfg``: the checked :data:`SECTIONS`. Every constraint (and every base model's file) is
    checked before anything is read or labelled.
    """
    from ..io import h5_rows, provenance, read_h5, write_h5, write_results
    from ..metrics.classification import accuracy, within_one_accuracy
    from ..psf_model import PSFModel

    p, psf = cfg.predict_seds, cfg.psf_models
    names = base_model_names(p, psf)
    files = require_models(list(names.values()), psf, "predict_seds.bases", models_dir)
    check_against_params(p, psf, h5_rows(main_path, "train"))
    pool = read_h5(main_path, "train", list(POOL_KEYS))
    templates = read_h5(seds_path, "seds")["weights"]
    labeller_rows = np.arange(*p.labeller_rows)
    extra_rows = np.arange(*p.extra_rows)
    scores = {}
    for base in p.bases:
        path = files[names[base]]
        model = PSFModel.load(path)
        probas = label_extra_stars(model, pool, templates, labeller_rows, extra_rows, p.seed, progress)
        truth = pool["labels"][extra_rows]
        arrays = {"rows": extra_rows, "labels": truth, "proba_svm": probas["svm"],
                  "proba_likelihood": probas["likelihood"]}
        for variant in VARIANTS:
            arrays[f"weights_{variant}"] = extra_sed_weights(variant, probas, templates,
                                                             pool["sed_weights"][extra_rows])
        write_h5(Path(out_dir) / Path(paths.predict_seds_file(base)).name, {"extra": arrays},
                 {"base": base, "base_model": str(path),
                  "provenance": provenance(cfg, p.seed, {"simulate": str(main_path), "base_model": str(path)})})
        scores[f"base{base}"] = {name: {"accuracy": accuracy(truth, q.argmax(1)),
                                        "within_one": within_one_accuracy(truth, q.argmax(1))}
                                 for name, q in probas.items()}
        if progress:
            print(base, scores[f"base{base}"], file=sys.stderr, flush=True)
    write_results("predict_seds", root, metrics=scores)
    return scores
