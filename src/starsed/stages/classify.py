"""The ``classify`` stage: every SED classifier on the true PSF and the PSF models (experiments E2, E3).

E2: ``realisations`` reshuffles of the pooled classifier stars (main-pool rows
``classifier_stars`` + the main test stars), re-split into ``n_train`` /
``n_test``; every method is trained and tested on each (mean and std over
realisations). E3: every trained classifier also predicts the second exposure
(PSF-aware methods with that exposure's true PSF). The methods are those of
:mod:`starsed.classifiers`: PCA+MLP, CNN+MLP, SVM+PSF and the likelihood per PSF
('gt' = the true PSF, 's1'.. = the models S1.. of the ``psf_models`` stage), the
stacked SVM for the PSFs in ``stacked`` and the Bayes limit (docs/reference.md,
Classifiers and Metrics).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .. import paths
from ..classifiers import (CNNClassifier, CNNConfig, Classifier, LikelihoodClassifier, LikelihoodConfig,
                           PCAMLPCommittee, PCAMLPConfig, PSFStats, SVMConfig, SVMPSF, StackedSVM)
from ..classifiers.base import timer
from ..metrics.classification import within_one_decision
from ..params import ConfigError, Section, increasing, param, positive, require, row_range
from ..physics.noise import background_mask
from ..physics.telescope import Telescope
from .psf_models import PSFModelsParams, require_models

__all__ = ["ClassifyParams", "SECTIONS", "check_against_params", "realisation_splits", "method_keys",
           "make_classifier", "method_aux", "run_classification", "summarise_runs", "load_pool",
           "psf_model_stats", "run", "stage_metrics", "method_label", "classification_rows",
           "CLASSIFICATION_COLUMNS", "CLASSIFICATION_FORMATS", "bayes_gap_rows", "BAYES_COLUMNS",
           "per_class_mean", "confusion_total", "snr_curve", "reliability_data"]


@dataclass(frozen=True)
class ClassifyParams(Section):
    """The ``classify`` params section.

    ``seed``: realisation r shuffles with (seed, r), its classifiers use seed + r;
    ``classifier_stars``: main-pool rows [start, stop) pooled with the main test
    stars; ``n_train`` / ``n_test``: stars per realisation; ``psf_models``: the
    models of the ``psf_models`` stage to classify with (each must exist);
    ``stacked``: PSFs ('gt' or lower-cased model names) of the stacked SVM;
    ``snr_edges``: bins of the accuracy-vs-SNR figure; one section per method; ``workers``:
    processes that train the (realisation, method) fits, each single-threaded, so the
    results do not depend on it.
    """

    SECTION = "classify"

    seed: int = 20250303
    realisations: int = param(10, check=positive, allowed="an integer >= 1")
    classifier_stars: tuple[int, int] = param((2000, 12000), check=row_range,
                                              allowed="main-pool rows [start, stop) with 0 <= start < stop")
    n_train: int = param(10000, check=positive, allowed="a positive integer")
    n_test: int = param(1000, check=positive, allowed="a positive integer")
    psf_models: tuple[str, ...] = param(("S1", "S2", "S3", "S4", "S5", "S6"),
                                        check=lambda v: len(set(v)) == len(v),
                                        allowed="distinct names of psf_models' models (S1, S2, ...)")
    stacked: tuple[str, ...] = ("gt",)
    snr_edges: tuple[float, ...] = param((20.0, 35.0, 50.0, 65.0, 80.0, 95.0, 110.0),
                                         check=lambda v: len(v) >= 2 and increasing(v),
                                         allowed="an increasing list of at least 2 SNR values")
    pca_mlp: PCAMLPConfig = field(default_factory=PCAMLPConfig)
    cnn: CNNConfig = field(default_factory=CNNConfig)
    svm: SVMConfig = field(default_factory=SVMConfig)
    likelihood: LikelihoodConfig = field(default_factory=LikelihoodConfig)
    workers: int = param(2, check=positive, allowed="an integer >= 1 (processes; the results do not depend on it)")

    def check(self, where: str) -> None:
        psfs = self.psf_names
        for name in self.stacked:
            require(name in psfs, f"{where}.stacked", list(self.stacked),
                    f"names among {psfs} ('gt': the true PSF, or a lower-cased {where}.psf_models name)")
        require(self.pca_mlp.n_components <= self.n_train, f"{where}.pca_mlp.n_components",
                self.pca_mlp.n_components, f"at most {where}.n_train = {self.n_train}")

    @property
    def psf_names(self) -> list[str]:
        """The PSFs the methods use: 'gt' then the lower-cased model names."""
        return ["gt"] + [m.lower() for m in self.psf_models]


#: the params sections the stage reads, with their dataclasses (dvc.yaml declares the same)
SECTIONS = {"telescope": Telescope, "psf_models": PSFModelsParams, "classify": ClassifyParams}


def check_against_params(c: ClassifyParams, psf: PSFModelsParams, telescope: Telescope, n_pool: int,
                         n_test: int) -> None:
    """Constraints between this section and the others: the models are psf_models' ones, the
    classifier stars lie in the main pool (``n_pool`` stars, ``n_test`` test stars), the
    realisations fit in the pooled stars, the stamps are large enough for every method."""
    for name in c.psf_models:
        require(name in psf.names, "classify.psf_models", list(c.psf_models),
                f"names among {psf.names} (one per psf_models.training_sets)")
    start, stop = c.classifier_stars
    require(stop <= n_pool, "classify.classifier_stars", [start, stop],
            f"[start, stop) rows inside the main pool of {n_pool} stars (simulate.n_pool)")
    pooled = stop - start + n_test
    require(c.n_train + c.n_test <= pooled, "classify.n_train", c.n_train,
            f"at most {pooled - c.n_test}: the {pooled} pooled stars (classify.classifier_stars rows + the "
            f"{n_test} test stars) less classify.n_test = {c.n_test}")
    n = telescope.stamp_px
    require(c.pca_mlp.n_components <= min(c.n_train, n * n), "classify.pca_mlp.n_components",
            c.pca_mlp.n_components, f"at most min(classify.n_train, pixels) = {min(c.n_train, n * n)}")
    require(c.cnn.crop <= n, "classify.cnn.crop", c.cnn.crop, f"at most telescope.stamp_px = {n}")
    r = c.likelihood.outer_radius_px
    require(background_mask(n, r, (n / 2, n / 2)).sum() >= 16, "classify.likelihood.outer_radius_px", r,
            f"a radius leaving at least 16 pixels of the {n}x{n} stamp outside it")


# --------------------------------------------------------------------------- experiments E2, E3
def realisation_splits(n_total: int, n_train: int, n_test: int, n_realisations: int,
                       seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """E2's realisations: ``n_total`` pooled stars reshuffled (seed ``[seed, r]``) and
    re-split into ``n_train`` / ``n_test`` sorted indices, for r = 0..n_realisations-1."""
    require(isinstance(n_realisations, (int, np.integer)) and n_realisations >= 1, "classify.realisations",
            n_realisations, "an integer >= 1")
    require(n_train >= 1 and n_test >= 1 and n_train + n_test <= n_total, "classify.n_train + classify.n_test",
            (n_train, n_test), f"positive, at most the {n_total} pooled stars")
    out = []
    for r in range(n_realisations):
        perm = np.random.default_rng([seed, r]).permutation(n_total)
        out.append((np.sort(perm[:n_train]), np.sort(perm[n_train:n_train + n_test])))
    return out


def method_keys(psf_names, stacked=()) -> list[str]:
    """Method keys for a list of PSF names ('gt', 's1', ...): pixel-only methods, SVM+PSF and
    likelihood per PSF, the stacked SVM for the PSFs in ``stacked``, and the Bayes limit."""
    keys = ["pca_mlp", "cnn_mlp"]
    keys += [f"svm_psf_{m}" for m in psf_names]
    keys += [f"likelihood_{m}" for m in psf_names]
    keys += [f"svm_like_{m}" for m in psf_names if m in stacked]
    return keys + ["bayes_gt"]


def make_classifier(key: str, c: ClassifyParams, sed_weights, seed: int, progress: bool = False) -> Classifier:
    """A fresh classifier for a method key, configured by the ``classify`` section ``c``."""
    if key == "pca_mlp":
        return PCAMLPCommittee(c.pca_mlp, seed=seed, progress=progress)
    if key == "cnn_mlp":
        return CNNClassifier(c.cnn, seed=seed, progress=progress)
    if key.startswith("svm_psf_"):
        return SVMPSF(c.svm, seed=seed)
    if key.startswith("svm_like_"):
        return StackedSVM(sed_weights, c.svm, c.likelihood, seed=seed)
    if key.startswith("likelihood_"):
        return LikelihoodClassifier(sed_weights, c.likelihood)
    if key == "bayes_gt":
        return LikelihoodClassifier.bayes_limit(sed_weights, shift=c.likelihood.shift)
    raise ConfigError(f"unknown classifier method {key!r}; allowed: pca_mlp, cnn_mlp, svm_psf_<psf>, "
                      f"likelihood_<psf>, svm_like_<psf>, bayes_gt")


def method_aux(key: str, stats, sigma) -> dict:
    """What a method needs besides pixels: the PSF statistics of its PSF, and sigma
    (the true one for the Bayes limit; None = estimated from the stamp otherwise)."""
    if key in ("pca_mlp", "cnn_mlp"):
        return {}
    psf = key.rsplit("_", 1)[1]
    aux = {"stats": stats[psf]}
    if key == "bayes_gt":
        aux["sigma"] = sigma
    return aux


def _take(aux: dict, rows) -> dict:
    return {k: (v.take(rows) if isinstance(v, PSFStats) else np.asarray(v)[rows]) for k, v in aux.items()}


def _scores(labels, pred, proba) -> dict:
    from ..metrics.classification import summary

    out = summary(labels, pred, proba)
    return {k: float(v) for k, v in out.items()}


#: rough cost of one fit, for ordering the tasks longest first (seconds on one core)
TASK_COST = {"cnn_mlp": 40.0, "pca_mlp": 25.0, "svm_psf": 8.0, "svm_like": 9.0, "likelihood": 0.5, "bayes": 0.5}


def _task_cost(task) -> float:
    key = task[1]
    return next((v for k, v in TASK_COST.items() if key.startswith(k)), 1.0)


def classify_once(task) -> dict:
    """One (realisation, method) of E2 and E3, in a worker process (:mod:`starsed.parallel`):
    fit on the realisation's training stars, predict its test stars and the second exposure."""
    from ..parallel import shared

    r, key = task
    d = shared()
    pool, stats, c = d["pool"], d["stats"], d["c"]
    tr, te = d["splits"][r]
    clf = make_classifier(key, c, d["sed_weights"], seed=int(c.seed) + r)
    aux = method_aux(key, stats, pool["sigma"])
    t0 = timer()
    clf.fit(pool["noisy"][tr], pool["labels"][tr], **_take(aux, tr))
    t1 = timer()
    aux_te = _take(aux, te)
    proba = clf.predict_proba(pool["noisy"][te], **aux_te)
    pred = clf.predict(pool["noisy"][te], **aux_te)
    t2 = timer()
    out = {"scores": _scores(pool["labels"][te], pred, proba) | {"fit_seconds": t1 - t0, "predict_seconds": t2 - t1},
           "pred": {"pred": pred, "proba": proba, "pred_w1": within_one_decision(proba)}}
    if hasattr(clf, "epochs_run"):  # Keras methods: epochs until early stopping
        out["scores"]["epochs"] = float(clf.epochs_run)
    second = d["second"]
    if second is not None and key in d["gen_keys"]:
        aux2 = {}
        if aux:  # PSF-aware: the second exposure's true PSF
            aux2["stats"] = d["second_stats"]["gt"]
            if "sigma" in aux:
                aux2["sigma"] = second["sigma"]
        t3 = timer()
        p2 = clf.predict_proba(second["noisy"], **aux2)
        y2 = clf.predict(second["noisy"], **aux2)
        out["gen_scores"] = _scores(second["labels"], y2, p2) | {"fit_seconds": 0.0,
                                                                  "predict_seconds": timer() - t3}
        out["gen_pred"] = {"pred": y2, "proba": p2, "pred_w1": within_one_decision(p2)}
    if key == "pca_mlp" and r == len(d["splits"]) - 1:
        out["pca"] = clf.pca                       # the last realisation's PCA, for its figure
    return out


def run_classification(pool: dict, stats: dict, sed_weights, c: ClassifyParams, second: dict | None = None,
                       second_stats: dict | None = None, progress: bool = True, keys: list | None = None) -> dict:
    """Experiments E2 (realisations) and E3 (generalisation).

    ``pool``: the pooled classifier stars (training + test), arrays ``noisy``
    (N, n, n), ``labels``, ``snr``, ``sigma``; ``stats``: {psf name: PSFStats over
    the pool} ('gt' = the true PSF, 's1'..: PSF models). ``second``/``second_stats``:
    the second exposure's stars and its true-PSF statistics {'gt': PSFStats}; every
    trained classifier also predicts them (PSF-aware methods with the second
    exposure's true PSF; likelihood_s* are left out there: with the true PSF they
    equal likelihood_gt).

    Every (realisation, method) is one task of :func:`classify_once`, run by
    ``c.workers`` single-threaded processes: the results do not depend on ``workers``.
    ``keys``: only these methods (default: every method of :func:`method_keys`).

    Returns ``keys``, ``splits`` (train/test indices per realisation), ``runs``
    {key: [scores per realisation]}, ``generalisation_runs``, ``predictions``
    {key: {'pred', 'proba', 'pred_w1'} arrays (R, n_test[, 13])},
    ``second_predictions`` likewise, and ``pca`` (the PCA of the last realisation).
    """
    from ..parallel import longest_first, run_tasks

    psf_names = list(stats)
    require("gt" in stats, "stats", psf_names, "a dict with at least 'gt' (the true PSF)")
    require(second is None or (second_stats is not None and "gt" in second_stats), "second_stats",
            second_stats, "{'gt': PSFStats of the second exposure} when second is given")
    every = method_keys(psf_names, [m.lower() for m in c.stacked])
    require(keys is None or set(keys) <= set(every), "keys", keys, f"methods among {every}")
    keys = every if keys is None else [k for k in every if k in keys]
    n_total = len(pool["labels"])
    splits = realisation_splits(n_total, c.n_train, c.n_test, c.realisations, c.seed)
    gen_keys = [k for k in keys if not (k.startswith("likelihood_") and k != "likelihood_gt")] if second else []
    tasks = [(r, key) for r in range(len(splits)) for key in keys]
    shared = {"pool": {k: pool[k] for k in ("noisy", "labels", "sigma")}, "stats": stats, "c": c,
              "sed_weights": sed_weights, "splits": splits, "second": second, "second_stats": second_stats,
              "gen_keys": gen_keys}
    ordered = longest_first(tasks, _task_cost)
    results = dict(zip(ordered, run_tasks(classify_once, ordered, c.workers, shared, desc="train classifiers",
                                          progress=progress)))
    runs = {k: [results[(r, k)]["scores"] for r in range(len(splits))] for k in keys}
    gen_runs = {k: [results[(r, k)]["gen_scores"] for r in range(len(splits))] for k in gen_keys}
    stack = lambda name, ks: {k: {n: np.stack([results[(r, k)][name][n] for r in range(len(splits))])  # noqa: E731
                                  for n in ("pred", "proba", "pred_w1")} for k in ks}
    pca = results.get((len(splits) - 1, "pca_mlp"), {}).get("pca")
    return {"keys": keys, "splits": splits, "runs": runs, "generalisation_runs": gen_runs,
            "predictions": stack("pred", keys), "second_predictions": stack("gen_pred", gen_keys), "pca": pca}


def cnn_architecture(c: ClassifyParams):
    """The CNN's Keras model as configured (untrained: its figure draws the layers)."""
    return CNNClassifier(c.cnn).build()


def summarise_runs(runs: dict) -> dict:
    """Mean and std over realisations for every method: accuracy, within_one, f1, top2,
    ece, within_one_opt (the within-one decision's within-one accuracy) and ``seconds``
    (mean fit + predict time per realisation; for generalisation runs, prediction only)."""
    out = {}
    for key, rs in runs.items():
        d = {}
        for name in ("accuracy", "within_one", "f1", "top2", "ece", "within_one_opt", "epochs"):
            vals = np.array([r[name] for r in rs if name in r])
            if len(vals):
                d[f"{name}_mean"] = float(vals.mean())
                d[f"{name}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        if rs and "fit_seconds" in rs[0]:
            d["seconds"] = float(np.mean([r["fit_seconds"] + r["predict_seconds"] for r in rs]))
            d["fit_seconds"] = float(np.mean([r["fit_seconds"] for r in rs]))
        d["realisations"] = len(rs)
        out[key] = d
    return out


# --------------------------------------------------------------------------- the stage
POOL_KEYS = ("noisy", "labels", "snr", "sigma", "positions", "mono", "noiseless", "sed_weights")
SECOND_KEYS = ("noisy", "labels", "snr", "sigma", "mono")
#: stars per PSF-model prediction (bounds the memory of the monochromatic stamps)
PSF_CHUNK = 1000


def load_pool(main_path, c: ClassifyParams) -> dict:
    """The pooled classifier stars: main-pool rows ``classifier_stars`` [start, stop) then the
    main test stars (all). Arrays of :data:`POOL_KEYS` plus ``is_test``."""
    from ..io import read_h5

    start, stop = c.classifier_stars
    a = read_h5(main_path, "train", list(POOL_KEYS), rows=slice(start, stop))
    require(len(a["labels"]) == stop - start, "classify.classifier_stars", [start, stop],
            f"rows inside the main pool ({len(a['labels'])} read)")
    b = read_h5(main_path, "test", list(POOL_KEYS))
    pool = {k: np.concatenate([a[k], b[k]]) for k in POOL_KEYS}
    pool["is_test"] = np.r_[np.zeros(len(a["labels"]), bool), np.ones(len(b["labels"]), bool)]
    return pool


def psf_model_stats(path, pool: dict, progress: bool = False) -> tuple[PSFStats, np.ndarray]:
    """:class:`PSFStats` of the PSF model saved at ``path`` over the pool's stars, predicted
    :data:`PSF_CHUNK` stars at a time, and the model's per-star relative pixel RMSE against the
    noiseless stamps (with the stars' true SEDs)."""
    from ..psf_model import PSFModel

    model = PSFModel.load(path)
    return PSFStats.from_predictor(lambda positions: np.asarray(model.predict(positions, kind="mono")),
                                   pool["positions"], pool["noisy"], chunk=PSF_CHUNK,
                                   noiseless=pool["noiseless"], sed_weights=pool["sed_weights"],
                                   progress=progress, desc=f"PSF model {path}")


def run(cfg, main_path=paths.MAIN, second_path=paths.SECOND, seds_path=paths.SEDS,
        models_dir=paths.PSF_MODELS_DIR, root=".", progress: bool = True) -> dict:
    """E2 and E3 for every method, on the true PSF and the PSF models ``classify.psf_models``.

    ``cfg``: the checked :data:`SECTIONS` (:func:`starsed.params.load_sections`). Every
    constraint is checked before any PSF statistics or fit (a named PSF model that is
    missing is an error). Writes, under ``root``, ``metrics/classification.json``
    (:func:`stage_metrics`), its headline (accuracy of the main methods) and its record
    (seconds per method, provenance: :func:`stage_record`).

    Returns :func:`run_classification`'s dict plus ``summary`` / ``generalisation``
    (:func:`summarise_runs`), ``psf_errors`` {'s1': mean relative pixel RMSE in % on the
    main test stars}, ``psf_seconds`` {name: s to evaluate the model on the pool},
    ``labels``/``snr`` of
    the pool, ``second_labels``/``second_snr``, ``similarity_gt`` (pool features, for
    figure 5), ``sed_weights``, ``n_pool``, ``example_stars`` and ``metrics``.
    """
    from ..io import h5_rows, provenance, read_h5, write_results

    c = cfg.classify
    files = require_models(c.psf_models, cfg.psf_models, "classify.psf_models", models_dir)
    check_against_params(c, cfg.psf_models, cfg.telescope, h5_rows(main_path, "train"), h5_rows(main_path, "test"))
    h5_rows(second_path, "test")
    sed_weights = read_h5(seds_path, "seds", ["weights"])["weights"]
    pool = load_pool(main_path, c)
    second = read_h5(second_path, "test", list(SECOND_KEYS))
    stats = {"gt": PSFStats.from_mono(pool.pop("mono"), pool["noisy"])}
    second_stats = {"gt": PSFStats.from_mono(second.pop("mono"), second["noisy"])}
    psf_errors, psf_seconds = {}, {}
    for name, path in files.items():
        t0 = timer()
        stats[name.lower()], err = psf_model_stats(path, pool, progress)
        psf_errors[name.lower()] = float(100.0 * err[pool["is_test"]].mean())
        psf_seconds[name.lower()] = timer() - t0
    out = run_classification(pool, stats, sed_weights, c, second, second_stats, progress)
    out.update(summary=summarise_runs(out["runs"]), generalisation=summarise_runs(out["generalisation_runs"]),
               psf_errors=psf_errors, psf_seconds=psf_seconds,
               labels=pool["labels"], snr=pool["snr"], second_labels=second["labels"],
               second_snr=second["snr"], similarity_gt=stats["gt"].similarity(), sed_weights=sed_weights,
               n_pool=len(pool["labels"]), example_stars=pool["noisy"][pool["is_test"]][:4])
    metrics = stage_metrics(out)
    record = stage_record(out)
    record["provenance"] = provenance(cfg, seed=c.seed, inputs={
        "main": str(main_path), "second": str(second_path), "seds": str(seds_path)})
    write_results("classification", root, metrics=metrics, record=record, headline=stage_headline(metrics))
    out["metrics"] = metrics
    return out


def stage_metrics(result) -> dict:
    """``metrics/classification.json``: per method the E2 means/stds, the ``generalisation``
    block (E3), PSF-model errors and the Bayes-limit gaps (no timings: :func:`stage_record`)."""
    keep = ("accuracy_mean", "accuracy_std", "within_one_mean", "within_one_std", "f1_mean", "f1_std",
            "top2_mean", "top2_std", "ece_mean", "within_one_opt_mean", "within_one_opt_std",
            "realisations", "epochs_mean")
    out = {k: {f: v[f] for f in keep if f in v} for k, v in result["summary"].items()}
    out["generalisation"] = {k: {f: v[f] for f in keep if f in v} for k, v in result["generalisation"].items()}
    out["psf_model_error_pct"] = result["psf_errors"]
    out["bayes_gap"] = {r["method"]: {"accuracy": r["accuracy_gap"], "within_one": r["within_one_gap"]}
                        for r in bayes_gap_rows(result["summary"])}
    return out


def stage_record(result) -> dict:
    """``records/classification.json``: mean seconds per realisation (fit + predict, and fit
    alone) per method, the seconds to evaluate each PSF model on the pool, their total."""
    seconds = {k: {f: v[f] for f in ("seconds", "fit_seconds") if f in v} for k, v in result["summary"].items()}
    total = float(sum(v.get("seconds", 0.0) for v in result["summary"].values()) * max(1, len(result["splits"]))
                  + sum(result["psf_seconds"].values()))
    return {"per_realisation": seconds, "psf_model_seconds": result["psf_seconds"], "total_seconds": total}


#: methods of the headline (``dvc metrics show``): accuracy of the baselines, the paper's method
#: with the largest model and the true PSF, and the Bayes limit
HEADLINE = ("pca_mlp", "cnn_mlp", "svm_psf_s6", "svm_psf_gt", "bayes_gt")


def stage_headline(metrics: dict) -> dict:
    """Accuracy (mean over realisations) of the :data:`HEADLINE` methods present."""
    return {k: metrics[k]["accuracy_mean"] for k in HEADLINE if k in metrics}


# --------------------------------------------------------------------------- tables and figure data
LABELS = {"pca_mlp": "PCA+MLP", "cnn_mlp": "CNN+MLP", "bayes_gt": "Bayes limit"}


def method_label(key: str) -> str:
    """Human-readable method name: 'svm_psf_s3' -> 'SVM+PSF S3'."""
    if key in LABELS:
        return LABELS[key]
    for prefix, name in (("svm_psf_", "SVM+PSF"), ("likelihood_", "likelihood"), ("svm_like_", "stacked SVM")):
        if key.startswith(prefix):
            return f"{name} {key[len(prefix):].upper()}"
    return key


def _order(keys) -> list[str]:
    def rank(k):
        psf = k.rsplit("_", 1)[-1]
        p = int(psf[1:]) if psf[1:].isdigit() else 99  # S1..S6, then GT (as in the paper's table)
        fam = next((i for i, f in enumerate(("pca", "cnn", "svm_psf", "likelihood", "svm_like", "bayes"))
                    if k.startswith(f)), 9)
        return (fam, p)
    return sorted(keys, key=rank)


def _pm(d: dict, name: str):
    if name not in d:
        return None
    return f"{d[name]:.3f}" + (f" ± {d[name + '_std']:.3f}" if name + "_std" in d else "")


def classification_rows(summary: dict, published: dict | None = None) -> list[dict]:
    """Rows of the classification table: ours (mean +- std over realisations) beside the
    paper's published numbers ``published`` (default
    :data:`starsed.report.published.CLASSIFICATION`; None where the paper has none)."""
    if published is None:
        from ..report.published import CLASSIFICATION as published
    rows = []
    for key in _order(summary):
        s, p = summary[key], published.get(key, {})
        rows.append({
            "method": method_label(key),
            "f1": s.get("f1_mean"), "accuracy": f"{s['accuracy_mean']:.3f} ± {s.get('accuracy_std', 0):.3f}",
            "within_one": f"{s['within_one_mean']:.3f} ± {s.get('within_one_std', 0):.3f}",
            "top2": s.get("top2_mean"), "within_one_opt": s.get("within_one_opt_mean"),
            "paper_f1": p.get("f1"),
            "paper_accuracy": _pm(p, "accuracy"), "paper_within_one": _pm(p, "within_one"),
        })
    return rows


CLASSIFICATION_COLUMNS = [("method", "method"), ("f1", "F1"), ("accuracy", "accuracy"),
                          ("within_one", "within-one"), ("top2", "top-2"),
                          ("within_one_opt", "w1 decision"), ("paper_f1", "paper F1"),
                          ("paper_accuracy", "paper accuracy"), ("paper_within_one", "paper within-one")]
CLASSIFICATION_FORMATS = {"f1": ".3f", "top2": ".3f", "within_one_opt": ".3f", "paper_f1": ".3f"}


def bayes_gap_rows(summary: dict) -> list[dict]:
    """Each method's gap to the Bayes limit (``bayes_gt``): limit minus method, for accuracy
    (argmax decisions) and within-one accuracy (the limit with the within-one decision)."""
    if "bayes_gt" not in summary:
        return []
    b = summary["bayes_gt"]
    acc_lim = b["accuracy_mean"]
    w1_lim = b.get("within_one_opt_mean", b["within_one_mean"])
    rows = []
    for key in _order(summary):
        if key == "bayes_gt":
            continue
        s = summary[key]
        rows.append({"method": method_label(key), "accuracy": s["accuracy_mean"],
                     "accuracy_gap": acc_lim - s["accuracy_mean"], "within_one": s["within_one_mean"],
                     "within_one_gap": w1_lim - s["within_one_mean"],
                     "within_one_opt_gap": (w1_lim - s["within_one_opt_mean"]) if "within_one_opt_mean" in s else None})
    return rows


BAYES_COLUMNS = [("method", "method"), ("accuracy", "accuracy"), ("accuracy_gap", "gap to Bayes (accuracy)"),
                 ("within_one", "within-one"), ("within_one_gap", "gap to Bayes (within-one)"),
                 ("within_one_opt_gap", "gap, w1 decision")]


def _test_labels(result: dict, which: str, n: int) -> list:
    if which == "predictions":
        return [result["labels"][te] for _, te in result["splits"]]
    return [result["second_labels"]] * n


def per_class_mean(result: dict, key: str, which: str = "predictions") -> dict:
    """Per-class recall, F1 and within-one of a method, averaged over realisations."""
    from ..metrics.classification import per_class_scores

    preds = result[which][key]["pred"]
    scores = [per_class_scores(y, p) for y, p in zip(_test_labels(result, which, len(preds)), preds)]
    return {m: np.mean([s[m] for s in scores], axis=0) for m in ("recall", "f1", "within_one")}


def confusion_total(result: dict, key: str, which: str = "predictions") -> np.ndarray:
    """Confusion matrix of a method summed over realisations."""
    from ..metrics.classification import confusion_matrix

    preds = result[which][key]["pred"]
    return sum(confusion_matrix(y, p) for y, p in zip(_test_labels(result, which, len(preds)), preds))


def snr_curve(result: dict, key: str, edges) -> dict:
    """Accuracy / within-one in SNR bins, stars of all realisations' test sets pooled."""
    from ..metrics.classification import accuracy_by_snr

    y = np.concatenate([result["labels"][te] for _, te in result["splits"]])
    snr = np.concatenate([result["snr"][te] for _, te in result["splits"]])
    return accuracy_by_snr(y, np.concatenate(result["predictions"][key]["pred"]), snr, edges)


def reliability_data(result: dict, key: str, n_bins: int = 10) -> tuple[dict, float]:
    """Reliability curve and ECE of a method, test stars of all realisations pooled."""
    from ..metrics.classification import expected_calibration_error, reliability_curve

    y = np.concatenate([result["labels"][te] for _, te in result["splits"]])
    p = np.concatenate(result["predictions"][key]["proba"])
    return reliability_curve(y, p, n_bins), expected_calibration_error(y, p, n_bins)
