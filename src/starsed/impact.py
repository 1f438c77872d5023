"""Predicted-SED datasets and the PSF-impact experiment (REFERENCE §6 E4).

A base PSF model trained on B true-SED stars gives the PSF at every star; a
PSF-aware classifier built on that PSF (trained on labelled stars
``labeller_train``) labels the ``extra`` stars; each extra star then gets SED
weights according to a *variant*:

``predicted``  the template of the most probable class (the paper);
``soft``       the posterior-weighted mixture of the 13 templates;
``oracle``     its true SED (the upper bound of what classification can give);
``ignorant``   the mean of the 13 templates (what the PSF model gets without
               any classification: the lower bound);
``likelihood`` (and ``likelihood_soft``) as predicted (soft), labelled by the
               label-free likelihood classifier instead of the SVM.

A PSF model is then trained on the base stars (true SEDs, untouched) plus the
first E extra stars, warm-started from the base model, which saw only the
base stars. The training itself is :meth:`starsed.psf_model.PSFModel.fit`.

The warm start keeps the base model's odd wavefront but not its even one
(:func:`centrosymmetric_modes`): images cannot tell a wavefront from its twin,
so a model fitted on few stars gets the sign of its even part wrong over much
of the field, and warm-started training stays in that basin. At the first
added count (``impact.even_reset``) the even part is set to zero and a few
plain gradient passes pick its sign; see :func:`impact_sweep`.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np

from . import psf_model
from .config import require
from .zernike import noll_to_nm

#: test-star arrays the impact errors use: the PSF models' minus the super-resolved stamps. The
#: super-resolved error (reported for S1..S6) would cost 40 % of each of the sweep's evaluations.
TEST_KEYS = tuple(k for k in psf_model.TEST_KEYS if k != "sr")

#: variant -> (labeller whose probabilities it uses, rule); None: no labeller
VARIANTS = {"predicted": ("svm", "argmax"), "soft": ("svm", "mixture"),
            "likelihood": ("likelihood", "argmax"), "likelihood_soft": ("likelihood", "mixture"),
            "oracle": (None, "truth"), "ignorant": (None, "mean")}


def extra_sed_weights(variant: str, probas: Mapping[str, np.ndarray], templates: np.ndarray,
                      true_weights: np.ndarray) -> np.ndarray:
    """SED weights (E, n_bins) of the extra stars under ``variant``.

    ``probas``: {labeller: (E, n_classes) class probabilities}; ``templates``
    (n_classes, n_bins), rows summing to 1; ``true_weights`` (E, n_bins).
    """
    require(variant in VARIANTS, "impact variant", variant, f"one of {list(VARIANTS)}")
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


def augmented_training_set(pool: Mapping[str, np.ndarray], base_n: int, extra_rows: np.ndarray,
                           extra_weights: np.ndarray, n_added: int) -> dict[str, np.ndarray]:
    """Base stars 0..base_n-1 with their true SEDs, then the first ``n_added`` extra stars
    with ``extra_weights``. Returns positions, noisy, sed_weights (and the pool rows)."""
    extra_rows = np.asarray(extra_rows)
    require(0 <= n_added <= len(extra_rows), "number of added stars", n_added,
            f"0..{len(extra_rows)} (the labelled extra stars)")
    require(base_n > 0 and base_n <= int(np.min(extra_rows)), "impact.bases", base_n,
            "a positive count of pool stars before the extra stars")
    rows = np.concatenate([np.arange(base_n), extra_rows[:n_added]])
    weights = np.concatenate([pool["sed_weights"][:base_n], extra_weights[:n_added]])
    return {"rows": rows, "positions": pool["positions"][rows], "noisy": pool["noisy"][rows],
            "sed_weights": weights}


def label_extra_stars(base_model, pool: Mapping[str, np.ndarray], templates: np.ndarray,
                      train_rows: np.ndarray, extra_rows: np.ndarray, seed: int,
                      progress: bool = True) -> dict[str, np.ndarray]:
    """Class probabilities of the extra stars from the base model's PSF.

    ``svm``: the paper's SVM+PSF trained on ``train_rows`` (true labels);
    ``likelihood``: the label-free template fit. Both use the base model's
    monochromatic PSFs at each star's position.
    """
    from .classifiers import LikelihoodClassifier, SVMPSF
    from .features import PSFStats

    rows = np.concatenate([train_rows, extra_rows])
    mono = base_model.predict(pool["positions"][rows], kind="mono", progress=progress)
    stats = PSFStats.from_mono(mono, pool["noisy"][rows])
    n = len(train_rows)
    train, extra = stats.take(np.arange(n)), stats.take(np.arange(n, len(rows)))
    svm = SVMPSF(seed=seed).fit(pool["noisy"][train_rows], pool["labels"][train_rows], stats=train)
    return {
        "svm": svm.predict_proba(pool["noisy"][extra_rows], stats=extra),
        "likelihood": LikelihoodClassifier(templates).predict_proba(pool["noisy"][extra_rows], stats=extra),
    }


def perturbed_start(model, seed: int, amplitude_um: float = 0.01) -> None:
    """Seed 0: the base model as it is; seed s > 0: its coefficients plus U(-a, a) um
    (the paper's initialisation spread), so seeds measure sensitivity to the start."""
    if seed:
        rng = np.random.default_rng(seed)
        model.C_hat = model.C_hat + rng.uniform(-amplitude_um, amplitude_um, model.C_hat.shape)


def centrosymmetric_modes(n_zernikes: int) -> np.ndarray:
    """Boolean mask (n_zernikes,) of the Noll modes with even radial order n, for which
    Z(-r) = Z(r): piston, defocus, astigmatism, spherical, ...

    For a pupil symmetric under r -> -r the PSF of a wavefront phi(r) equals that of
    its twin -phi(-r), which negates exactly these coefficients and keeps the others,
    at every wavelength (so no SED breaks the tie). Only the pupil's asymmetry (the
    Euclid-like spiders) tells the two apart: at zero even part the gradient in these
    modes is that asymmetry's signal alone.
    """
    return np.array([noll_to_nm(j)[0] % 2 == 0 for j in range(1, n_zernikes + 1)])


def reset_even_part(model, data: Mapping[str, np.ndarray], recipe, plain_passes: int,
                    progress: bool = True):
    """Zero the model's centrosymmetric Zernike field and let ``plain_passes`` passes of
    plain L-BFGS (no Gauss-Newton preconditioner, whose curvature in these modes is ~0
    there) on ``data`` choose its sign (fast recipe only; the paper's Adam is a plain
    gradient method already). Returns the recipe with the passes left."""
    plain = plain_passes if recipe.name == "fast" else 0
    require(0 <= plain <= recipe.passes, "impact.even_reset.plain_passes", plain_passes,
            f"0..{recipe.passes} (the passes of that added count)")
    model.C_hat = np.where(centrosymmetric_modes(len(model.C_hat))[:, None], 0.0, model.C_hat)
    if not plain:
        return recipe
    model.fit(data["positions"], data["noisy"], data["sed_weights"],
              replace(recipe, passes=plain, dd_passes=0, precond_stars=0), init="current",
              progress=progress)
    return replace(recipe, passes=recipe.passes - plain)


def impact_section(psf_section: Mapping, impact: Mapping) -> dict:
    """The ``psf_model`` section with one 'training set' per added count (for
    :func:`starsed.psf_model.recipe_from_params`): the PSF-model code and its
    recipes are reused as they are, with the impact's own pass/epoch counts."""
    out = {**psf_section, "training_sets": list(impact["added"])}
    out["fast"] = {**psf_section.get("fast", {}), **impact.get("fast", {})}
    out["paper"] = {**psf_section.get("paper", {}), **impact.get("paper", {})}
    return out


def impact_sweep(base_model_path, pool: Mapping[str, np.ndarray], test: Mapping[str, np.ndarray],
                 base_n: int, extra_rows: np.ndarray, extra_weights: np.ndarray,
                 psf_section: Mapping, impact: Mapping, progress: bool = True) -> dict:
    """Train on base + first E extra stars for every E in ``impact['added']`` and seed.

    Each seed starts from the base model (:func:`perturbed_start`); within a
    seed, E_k starts from the fit of E_(k-1), whose stars are a subset of
    E_k's (an honest warm start, as for S1..S6). At E = ``impact['even_reset']['added']``
    (null: never) the even part is reset first (:func:`reset_even_part`). Returns
    {seed: {E: errors on the test stars + train_seconds}}, E = 0 the base alone.
    """
    import time

    from .psf_model import PSFModel, evaluate, recipe_from_params

    section = impact_section(psf_section, impact)
    test = {k: test[k] for k in TEST_KEYS if k in test}
    reset = impact.get("even_reset") or {}
    reset_at = reset.get("added")
    require(reset_at is None or reset_at in impact["added"], "impact.even_reset.added", reset_at,
            f"null or one of impact.added {list(impact['added'])}")
    base = PSFModel.load(base_model_path)
    base_err = evaluate(base, test)
    keep = ("rel_rmse_pct", "rel_rmse_std_pct", "mono_rel_rmse_pct", "opd_rmse_nm")
    out = {}
    for seed in impact["seeds"]:
        runs = {0: {k: base_err.get(k) for k in keep} | {"train_seconds": 0.0}}
        model = PSFModel.load(base_model_path)
        perturbed_start(model, int(seed))
        for i, n in enumerate(impact["added"]):
            data = augmented_training_set(pool, base_n, extra_rows, extra_weights, int(n))
            recipe = recipe_from_params(section, i)
            recipe = replace(recipe, seed=recipe.seed + 1000 * int(seed))
            t0 = time.perf_counter()
            if n == reset_at:
                recipe = reset_even_part(model, data, recipe, int(reset.get("plain_passes", 0)), progress)
            model.fit(data["positions"], data["noisy"], data["sed_weights"], recipe, init="current",
                      progress=progress)
            err = evaluate(model, test)
            runs[int(n)] = {k: err.get(k) for k in keep} | {"train_seconds": time.perf_counter() - t0}
            if progress:
                print(f"seed {seed} base {base_n} + {n}: {err['rel_rmse_pct']:.3f} %", flush=True)
        out[int(seed)] = runs
    return out


def summarise_sweep(sweep: Mapping) -> dict:
    """{E: {rel_rmse_pct_mean, rel_rmse_pct_std (over seeds), train_seconds, n_seeds}}."""
    seeds = list(sweep)
    out = {}
    for n in sweep[seeds[0]]:
        vals = np.array([sweep[s][n]["rel_rmse_pct"] for s in seeds])
        out[str(n)] = {
            "rel_rmse_pct_mean": float(vals.mean()),
            "rel_rmse_pct_std": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
            "train_seconds": float(np.mean([sweep[s][n]["train_seconds"] for s in seeds])),
            "n_seeds": len(vals),
        }
    return out


def base_model_file(psf_section: Mapping, base: int, models_dir="models/psf"):
    """The PSF model of step 2 trained on exactly the first ``base`` stars (S1 for 50, S2 for 100)."""
    from pathlib import Path

    from .psf_model import set_names

    sizes = [int(n) for n in psf_section["training_sets"]]
    require(base in sizes, "impact.bases", base, f"a size among psf_model.training_sets {sizes}")
    return Path(models_dir) / f"{set_names(len(sizes))[sizes.index(base)]}.h5"
