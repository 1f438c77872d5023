"""The ``psf_models`` stage: PSF models S1..S6 on nested training sets (experiment E1).

Each model is trained on the first n stars of the main exposure's pool with
their true SEDs (:func:`train_training_sets`) and evaluated on the noiseless
test stars; the models are saved as plain HDF5 arrays.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Mapping

import numpy as np

from .. import paths
from ..params import ConfigError, Section, param, positive, require
from ..physics.field import FieldSpec
from ..physics.telescope import Telescope
from ..psf_model import PSFModel, PSFModelConfig, evaluate, fit, reset_even_part
from ..psf_model.offsets import OffsetFit, fit_with_offsets
from ..psf_model.evaluate import TEST_KEYS
from ..psf_model.recipes import AdamSchedule, EvenReset, LBFGSSchedule, check_per_set


@dataclass(frozen=True)
class PSFModelsParams(Section):
    """The ``psf_models`` params section.

    ``training_sets``: star counts of the nested sets S1, S2, ... (the first n
    pool stars); ``n_test``: test stars the errors use; ``recipe``: 'fast'
    (:class:`LBFGSSchedule` ``fast``) or 'paper' (:class:`AdamSchedule`
    ``paper``); ``warm_start`` (fast recipe): S(k+1) starts from S(k)'s fit;
    ``even_reset`` (fast recipe, warm start): at that set, the even part of the warm
    start is reset (:class:`~starsed.psf_model.recipes.EvenReset`); ``seed``: set k's
    random start and preconditioner draws use seed + k; ``offsets`` (null: the stars are taken
    to sit on the stamp's optical axis): fit each training star's offset while training
    (:class:`~starsed.psf_model.offsets.OffsetFit`), for stars off the pixel centre.
    """

    SECTION = "psf_models"

    seed: int = 4242
    training_sets: tuple[int, ...] = param((50, 100, 200, 500, 1000, 2000),
                                           check=lambda v: len(v) > 0 and all(n > 0 for n in v)
                                           and all(b > a for a, b in zip(v, v[1:])),
                                           allowed="a non-empty list of increasing positive star counts")
    n_test: int = param(1000, check=positive, allowed="a positive integer")
    recipe: Literal["fast", "paper"] = "fast"
    warm_start: bool = True
    model: PSFModelConfig = field(default_factory=PSFModelConfig)
    fast: LBFGSSchedule = field(default_factory=LBFGSSchedule)
    even_reset: EvenReset | None = None
    paper: AdamSchedule = field(default_factory=AdamSchedule)
    offsets: OffsetFit | None = None

    def check(self, where: str) -> None:
        n = len(self.training_sets)
        check_per_set(self.fast, n, f"{where}.fast")
        check_per_set(self.paper, n, f"{where}.paper")
        r = self.even_reset
        if r is not None:
            require(r.at in self.training_sets[1:], f"{where}.even_reset.at", r.at,
                    f"null or a warm-started set's star count, one of {list(self.training_sets[1:])}")
            available = self.fast.passes[self.training_sets.index(r.at)]
            require(r.plain_passes <= available, f"{where}.even_reset.plain_passes", r.plain_passes,
                    f"0..{available} (the passes of that set)")
        if self.model.detector_grid is not None:
            require(self.offsets is not None, f"{where}.offsets", None,
                    f"an offset fit {{rounds: .., iterations: ..}}: its alternation fits the per-detector focus "
                    f"term of {where}.model.detector_grid = {list(self.model.detector_grid)} (or that grid null)")

    @property
    def names(self) -> list[str]:
        """S1, S2, ... one per training set."""
        return set_names(len(self.training_sets))

    def schedule(self):
        """The schedule of the recipe in force."""
        return self.fast if self.recipe == "fast" else self.paper

    def model_config(self, field_spec: FieldSpec) -> PSFModelConfig:
        """The model architecture on the field of ``field_spec``."""
        return replace(self.model, field_size=field_spec.size)


#: the params sections the stage reads, with their dataclasses (dvc.yaml declares the same)
SECTIONS = {"telescope": Telescope, "field": FieldSpec, "psf_models": PSFModelsParams}


def set_names(n_sets: int) -> list[str]:
    """Names of the nested training sets: S1, S2, ..."""
    return [f"S{i + 1}" for i in range(n_sets)]


def check_against_params(s: PSFModelsParams, telescope: Telescope, n_pool: int, n_test: int) -> None:
    """Constraints between this section and the others: the sets fit in the pool, the test
    stars exist, the model pupils divide the telescope's."""
    require(s.training_sets[-1] <= n_pool, "psf_models.training_sets", list(s.training_sets),
            f"at most the {n_pool} stars of the pool (simulate.n_pool)")
    require(s.n_test <= n_test, "psf_models.n_test", s.n_test, f"at most the {n_test} test stars (simulate.n_test)")
    for name, P in (("psf_models.model.pupil_samples", s.model.pupil_samples),
                    ("psf_models.fast.precond_pupil_samples", s.fast.precond_pupil_samples)):
        require(telescope.pupil_samples % P == 0, name, P,
                f"a divisor of telescope.pupil_samples = {telescope.pupil_samples}")


def train_training_sets(telescope: Telescope, train: Mapping[str, np.ndarray], test: Mapping[str, np.ndarray],
                        s: PSFModelsParams, config: PSFModelConfig, progress: bool = True) -> tuple[dict, dict]:
    """Experiment E1: one model per nested training set (the first n stars of ``train``).

    With recipe 'fast' and ``warm_start``, set k+1 starts from set k's fit (set k
    is a subset of set k+1); ``train_seconds`` is then the time of that set's own
    training, and ``cumulative_seconds`` includes the sets it was warm-started from.
    Returns (results {name: metrics}, models {name: PSFModel}).
    """
    n_pool = len(train["positions"])
    require(s.training_sets[-1] <= n_pool, "psf_models.training_sets", list(s.training_sets),
            f"at most the {n_pool} stars of the pool")
    warm = s.warm_start and s.recipe == "fast"
    schedule = s.schedule()
    results, models, prev, cumulative, precond = {}, {}, None, 0.0, None
    for i, (name, n) in enumerate(zip(s.names, s.training_sets)):
        model = PSFModel(telescope, config)
        if warm and prev is not None:
            model.set_arrays(**prev.arrays())
        data = model.prepare(train["positions"][:n], train["noisy"][:n], train["sed_weights"][:n])
        recipe, t0 = schedule.recipe(i), time.perf_counter()
        if warm and prev is not None and s.even_reset is not None and n == s.even_reset.at:
            recipe = reset_even_part(model, data, recipe, s.even_reset.plain_passes, s.seed + i, progress)
        init = "current" if (warm and prev is not None) else "random"
        if s.offsets is None:
            report = fit(model, data, recipe, seed=s.seed + i, init=init, progress=progress,
                         preconditioner=precond if warm else None)
        else:
            report, _ = fit_with_offsets(model, data, recipe, s.offsets.rounds, s.offsets.iterations,
                                         seed=s.seed + i, init=init, progress=progress,
                                         detector_iterations=s.offsets.detector_iterations,
                                         detector_prior_um=s.offsets.detector_prior_um)
        report.seconds = time.perf_counter() - t0          # the reset's passes included
        precond = report.preconditioner
        cumulative = (cumulative if warm else 0.0) + report.seconds
        err = evaluate(model, test)
        results[name] = {
            "n_train": n,
            "rel_rmse_pct": err["rel_rmse_pct"], "rel_rmse_std_pct": err["rel_rmse_std_pct"],
            "rel_rmse_sem_pct": err["rel_rmse_sem_pct"], "sr_rel_rmse_pct": err.get("sr_rel_rmse_pct"), "sr_rel_rmse_std_pct": err.get("sr_rel_rmse_std_pct"),
            "mono_rel_rmse_pct": err.get("mono_rel_rmse_pct"), "opd_rmse_nm": err.get("opd_rmse_nm"),
            "e1_rmse": err.get("e1_rmse"), "e2_rmse": err.get("e2_rmse"), "r2_rmse": err.get("r2_rmse"),
            "shape_stars": err.get("shape_stars"),
            "train_seconds": report.seconds, "cumulative_seconds": cumulative,
            "passes": report.passes, "final_loss": report.final_loss,
            "warm_start_from": s.names[i - 1] if (warm and i > 0) else None,
            "recipe": s.recipe,
            "per_star": err["per_star"], "sr_per_star": err.get("sr_per_star"),
        }
        models[name] = model
        prev = model
        if progress:
            print(f"{name}: n={n} err={err['rel_rmse_pct']:.3f}% sr={err.get('sr_rel_rmse_pct', float('nan')):.3f}% "
                  f"train={report.seconds:.1f}s", file=sys.stderr, flush=True)
    return results, models


TRAIN_KEYS = ("positions", "sed_weights", "noisy")
#: per model: results (metrics/psf_models.json) and timings (records/psf_models.json)
METRIC_KEYS = ("n_train", "rel_rmse_pct", "rel_rmse_std_pct", "rel_rmse_sem_pct", "sr_rel_rmse_pct", "sr_rel_rmse_std_pct",
               "mono_rel_rmse_pct", "opd_rmse_nm", "e1_rmse", "e2_rmse", "r2_rmse", "shape_stars",
               "passes", "final_loss", "warm_start_from", "recipe")
RECORD_KEYS = ("train_seconds", "cumulative_seconds")


def run(cfg, simulate_path: str | Path = paths.MAIN, models_dir: str | Path = paths.PSF_MODELS_DIR,
        root=".", progress: bool = True) -> dict:
    """Train S1..S6 on the pool, evaluate on the test stars, save the models.

    Writes ``<models_dir>/S<k>.h5`` (one model each, with provenance),
    ``<models_dir>/test_errors.h5`` (per-star errors), the metrics ({name: {n_train,
    rel_rmse_pct, ...}}, returned), the headline (error per model) and the record
    (train seconds) under ``root``.
    """
    from ..io import h5_rows, provenance, read_h5, write_h5, write_results

    s = cfg.psf_models
    n_test = h5_rows(simulate_path, "test")
    n_pool = h5_rows(simulate_path, "train")
    check_against_params(s, cfg.telescope, n_pool, n_test)
    train = read_h5(simulate_path, "train", list(TRAIN_KEYS), rows=slice(0, s.training_sets[-1]))
    test = read_h5(simulate_path, "test", list(TEST_KEYS), rows=slice(0, s.n_test))
    results, models = train_training_sets(cfg.telescope, train, test, s, s.model_config(cfg.field), progress)
    models_dir = Path(models_dir)
    prov = provenance(cfg, seed=s.seed, inputs={"simulate": str(simulate_path)})
    for name, model in models.items():
        model.save(models_dir / f"{name}.h5", provenance=prov)
    write_h5(models_dir / "test_errors.h5",
             {name: {"rel_rmse": r["per_star"], "sr_rel_rmse": r["sr_per_star"]} for name, r in results.items()},
             {"provenance": prov})
    metrics = {name: {k: r[k] for k in METRIC_KEYS} for name, r in results.items()}
    record = {name: {k: r[k] for k in RECORD_KEYS} for name, r in results.items()}
    record["total_train_seconds"] = float(sum(r["train_seconds"] for r in results.values()))
    write_results("psf_models", root, metrics=metrics, record=record,
                  headline={name: r["rel_rmse_pct"] for name, r in results.items()})
    return metrics


def result_rows(results: Mapping[str, Mapping]) -> list[dict]:
    """Rows for the PSF-model table: ours (mean over the test stars, to the precision of its
    standard error; the spread over stars; the super-resolved error; the wavefront error; the
    shape errors e1, e2 in units of 1e-3 and R^2 in %) beside the paper's pixel error at the same
    star count."""
    from ..report.precision import rounded
    from ..report.published import PSF_ERROR

    rows = []
    for name, r in results.items():
        paper = PSF_ERROR.get(r["n_train"], (None, None))
        sem = r["rel_rmse_sem_pct"]
        rows.append({"model": name, "n_train": r["n_train"], "rel_rmse_pct": rounded(r["rel_rmse_pct"], sem),
                     "rel_rmse_std_pct": rounded(r["rel_rmse_std_pct"], sem),
                     "sr_rel_rmse_pct": rounded(r["sr_rel_rmse_pct"], sem) if r.get("sr_rel_rmse_pct") else None,
                     "opd_rmse_nm": r.get("opd_rmse_nm"), "paper_rel_rmse_pct": paper[0],
                     **{f"{k}_scaled": (None if r.get(k) is None else float(r[k]) * scale)
                        for k, scale in SHAPE_SCALES.items()}})
    return rows


#: the shape errors in the table: e1, e2 RMSE in units of 1e-3, the relative R^2 RMSE in %
SHAPE_SCALES = {"e1_rmse": 1e3, "e2_rmse": 1e3, "r2_rmse": 1e2}
TABLE_COLUMNS = [("model", "model"), ("n_train", "training stars"), ("rel_rmse_pct", "pixel error [%]"),
                 ("rel_rmse_std_pct", "std over stars [%]"), ("sr_rel_rmse_pct", "super-resolved [%]"),
                 ("opd_rmse_nm", "wavefront [nm]"), ("e1_rmse_scaled", "e1 RMSE [1e-3]"),
                 ("e2_rmse_scaled", "e2 RMSE [1e-3]"), ("r2_rmse_scaled", "size RMSE [%]"),
                 ("paper_rel_rmse_pct", "paper, pixel [%]")]
TABLE_FORMATS = {"opd_rmse_nm": ".1f", "paper_rel_rmse_pct": ".3f", "e1_rmse_scaled": ".2f",
                 "e2_rmse_scaled": ".2f", "r2_rmse_scaled": ".2f"}


def model_files(s: PSFModelsParams, models_dir: str | Path = paths.PSF_MODELS_DIR) -> dict[str, Path]:
    """{'S1': path, ...} of the models this section trains."""
    return {name: Path(models_dir) / f"{name}.h5" for name in s.names}


def require_models(names, s: PSFModelsParams, where: str, models_dir: str | Path = paths.PSF_MODELS_DIR
                   ) -> dict[str, Path]:
    """The saved models ``names`` ('S1', ...): each must be one the section trains, and its file
    must exist (else the error says where it was looked for and how to make it)."""
    files = model_files(s, models_dir)
    out = {}
    for name in names:
        require(name in files, where, list(names), f"names among {list(files)} (one per psf_models.training_sets)")
        if not files[name].is_file():
            raise ConfigError(f"PSF model {name} ({where}) not found at {files[name]}; make it with "
                              f"`dvc repro psf_models`")
        out[name] = files[name]
    return out
