"""The ``psf_impact`` stage: a PSF model on base + E classified stars (experiment E4).

For one configuration (base set B, SED variant of :data:`starsed.stages.predict_seds.VARIANTS`)
a PSF model is trained on the base stars (true SEDs, untouched) plus the first
E extra stars with the variant's SED weights, for every E in ``added`` and
every seed, and evaluated on the noiseless test stars. The training itself is
:func:`starsed.psf_model.fit` with the PSF models' own recipe and the
impact's pass counts.

Each seed starts from the base model (:func:`perturbed_start`); within a seed,
E_k starts from the fit of E_(k-1), whose stars are a subset of E_k's (an
honest warm start, as for S1..S6). The warm start keeps the base model's odd
wavefront but not its even one: at E = ``even_reset.added`` the even part is
set to zero and a few plain gradient passes pick its sign
(:func:`starsed.psf_model.reset_even_part`), because images alone cannot tell a
wavefront from its twin.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

import numpy as np

from .. import paths
from ..params import ConfigError, Section, all_non_negative, param, require
from ..psf_model import PSFModel, evaluate, fit, reset_even_part
from ..psf_model.evaluate import TEST_KEYS as MODEL_TEST_KEYS
from ..psf_model.recipes import EvenReset, check_per_set
from .predict_seds import VARIANTS
from .psf_models import PSFModelsParams, set_names

#: test-star arrays the impact errors use: the PSF models' minus the super-resolved stamps. The
#: super-resolved error (reported for S1..S6) would cost 40 % of each of the sweep's evaluations.
TEST_KEYS = tuple(k for k in MODEL_TEST_KEYS if k != "sr")
#: what each point of the sweep keeps of the errors
KEEP = ("rel_rmse_pct", "rel_rmse_std_pct", "rel_rmse_sem_pct", "mono_rel_rmse_pct", "opd_rmse_nm")
#: amplitude of the start perturbation of seeds > 0, um (the paper's initialisation spread)
PERTURBATION_UM = 0.01


@dataclass(frozen=True)
class ImpactPasses(Section):
    """``psf_impact.fast``: L-BFGS passes per added count, the stars of the Gauss-Newton
    preconditioner (``precond_stars``), and whether the chain estimates it once and reuses it
    for every later E (``precond_reuse``); the other settings are psf_models.fast's."""

    SECTION = "psf_impact.fast"
    PER_SET = ("passes", "dd_passes", "precond_every")

    passes: tuple[int, ...] = param((40, 8, 6, 5, 4, 3), check=all_non_negative,
                                    allowed="a list of integers >= 0, one per added count")
    dd_passes: tuple[int, ...] = param((0, 0, 0, 0, 0, 0), check=all_non_negative,
                                       allowed="a list of integers >= 0, one per added count")
    precond_every: tuple[int, ...] = param((0, 0, 0, 0, 0, 0), check=all_non_negative,
                                           allowed="a list of integers >= 0 (0: once), one per added count")
    precond_stars: int = param(300, check=lambda v: v >= 0, allowed="an integer >= 0 (0: no preconditioner)")
    precond_reuse: bool = False


@dataclass(frozen=True)
class ImpactEpochs(Section):
    """``psf_impact.paper``: Adam epochs per added count (the other settings are psf_models.paper's)."""

    SECTION = "psf_impact.paper"
    PER_SET = ("param_epochs", "dd_epochs")

    param_epochs: tuple[tuple[int, ...], ...] = ((50, 50), (45, 45), (45, 45), (45, 45), (30, 30), (20, 20))
    dd_epochs: tuple[tuple[int, ...], ...] = ((600, 400), (600, 300), (500, 300), (400, 200), (200, 100),
                                              (120, 100))


@dataclass(frozen=True)
class ImpactEvenReset(EvenReset):
    """``psf_impact.even_reset``: :class:`~starsed.psf_model.recipes.EvenReset` at ``at`` added stars."""

    SECTION = "psf_impact.even_reset"

    at: int = param(50, check=lambda v: v > 0, allowed="a positive added count (one of psf_impact.added)")


@dataclass(frozen=True)
class PSFImpactParams(Section):
    """The ``psf_impact`` params section: the SED ``variants`` of the added stars
    (:data:`starsed.stages.predict_seds.VARIANTS`), ``added`` counts E (increasing),
    ``seeds`` (0: the base model as it is; s > 0: plus U(-0.01, 0.01) um), pass or epoch
    counts per E, the even-part reset (null: off), and ``workers``: processes for the
    chains, each single-threaded, so the results do not depend on it."""

    SECTION = "psf_impact"

    variants: tuple[str, ...] = param(("predicted", "soft", "oracle", "ignorant"),
                                      check=lambda v: len(v) > 0 and len(set(v)) == len(v)
                                      and all(x in VARIANTS for x in v),
                                      allowed=f"distinct variants among {list(VARIANTS)}")

    added: tuple[int, ...] = param((50, 100, 200, 500, 1000, 2000),
                                   check=lambda v: len(v) > 0 and v[0] > 0 and all(b > a for a, b in zip(v, v[1:])),
                                   allowed="a non-empty list of increasing positive star counts")
    seeds: tuple[int, ...] = param((0,), check=lambda v: len(v) > 0 and len(set(v)) == len(v) and min(v) >= 0,
                                   allowed="a non-empty list of distinct integers >= 0")
    fast: ImpactPasses = field(default_factory=ImpactPasses)
    even_reset: ImpactEvenReset | None = None
    paper: ImpactEpochs = field(default_factory=ImpactEpochs)
    workers: int = param(2, check=lambda v: v >= 1, allowed="an integer >= 1 (processes; the results do not "
                         "depend on it)")

    def check(self, where: str) -> None:
        n = len(self.added)
        check_per_set(self.fast, n, f"{where}.fast")
        check_per_set(self.paper, n, f"{where}.paper")
        r = self.even_reset
        if r is not None:
            if r.at not in self.added:
                raise ConfigError(f"parameter {where}.even_reset.at = {r.at!r} is invalid; allowed: null or "
                                  f"one of {where}.added {list(self.added)}")
            available = self.fast.passes[self.added.index(r.at)]
            if r.plain_passes > available:
                raise ConfigError(f"parameter {where}.even_reset.plain_passes = {r.plain_passes!r} is invalid; "
                                  f"allowed: 0..{available} (the passes of that added count)")


#: the params sections the stage reads, with their dataclasses (dvc.yaml declares the same)
SECTIONS = {"psf_models": PSFModelsParams, "psf_impact": PSFImpactParams}


def schedule(psf: PSFModelsParams, impact: PSFImpactParams):
    """The PSF models' schedule with the impact's per-E pass (or epoch) counts."""
    if psf.recipe == "fast":
        return replace(psf.fast, passes=impact.fast.passes, dd_passes=impact.fast.dd_passes,
                       precond_every=impact.fast.precond_every, precond_stars=impact.fast.precond_stars,
                       precond_reuse=impact.fast.precond_reuse)
    return replace(psf.paper, param_epochs=impact.paper.param_epochs, dd_epochs=impact.paper.dd_epochs)


def augmented_training_set(pool: Mapping[str, np.ndarray], base_n: int, extra_rows: np.ndarray,
                           extra_weights: np.ndarray, n_added: int) -> dict[str, np.ndarray]:
    """Base stars 0..base_n-1 with their true SEDs, then the first ``n_added`` extra stars
    with ``extra_weights``. Returns positions, noisy, sed_weights (and the pool rows)."""
    extra_rows = np.asarray(extra_rows)
    require(0 <= n_added <= len(extra_rows), "number of added stars", n_added,
            f"0..{len(extra_rows)} (the labelled extra stars)")
    require(base_n > 0 and base_n <= int(np.min(extra_rows)), "base", base_n,
            "a positive count of pool stars before the extra stars")
    rows = np.concatenate([np.arange(base_n), extra_rows[:n_added]])
    weights = np.concatenate([pool["sed_weights"][:base_n], extra_weights[:n_added]])
    return {"rows": rows, "positions": pool["positions"][rows], "noisy": pool["noisy"][rows],
            "sed_weights": weights}


def perturbed_start(model, seed: int, amplitude_um: float = PERTURBATION_UM) -> None:
    """Seed 0: the base model as it is; seed s > 0: its coefficients plus U(-a, a) um
    (the paper's initialisation spread), so seeds measure sensitivity to the start."""
    if seed:
        rng = np.random.default_rng(seed)
        model.C_hat = model.C_hat + rng.uniform(-amplitude_um, amplitude_um, model.C_hat.shape)


def impact_chain(base_model_path, pool: Mapping[str, np.ndarray], test: Mapping[str, np.ndarray],
                 base_n: int, extra_rows: np.ndarray, extra_weights: np.ndarray, psf: PSFModelsParams,
                 impact: PSFImpactParams, seed: int, progress: bool = True) -> dict:
    """One seed's chain: from the base model (:func:`perturbed_start`), a fit on base + first E
    extra stars for every E in ``impact.added``, each warm-started from the last (the even
    part reset at ``impact.even_reset.added``). Returns {E: errors on the test stars +
    train_seconds}."""
    sched = schedule(psf, impact)
    test = {k: test[k] for k in TEST_KEYS if k in test}
    reset = impact.even_reset
    model = PSFModel.load(base_model_path)
    perturbed_start(model, int(seed))
    runs, precond = {}, None
    for i, n in enumerate(impact.added):
        stars = augmented_training_set(pool, base_n, extra_rows, extra_weights, int(n))
        data = model.prepare(stars["positions"], stars["noisy"], stars["sed_weights"])
        recipe = sched.recipe(i)
        run_seed = psf.seed + i + 1000 * int(seed)
        t0 = time.perf_counter()
        if reset is not None and n == reset.at:
            recipe = reset_even_part(model, data, recipe, reset.plain_passes, run_seed, progress)
        precond = fit(model, data, recipe, seed=run_seed, init="current", progress=progress,
                      preconditioner=precond).preconditioner
        err = evaluate(model, test)
        runs[int(n)] = {k: err.get(k) for k in KEEP} | {"train_seconds": time.perf_counter() - t0}
        if progress:
            print(f"seed {seed} base {base_n} + {n}: {err['rel_rmse_pct']:.3f} %", file=sys.stderr, flush=True)
    return runs


def base_errors(base_model_path, test: Mapping[str, np.ndarray]) -> dict:
    """The base model's errors on the test stars (the point E = 0 of every chain)."""
    err = evaluate(PSFModel.load(base_model_path), {k: test[k] for k in TEST_KEYS if k in test})
    return {k: err.get(k) for k in KEEP} | {"train_seconds": 0.0}


def impact_sweep(base_model_path, pool: Mapping[str, np.ndarray], test: Mapping[str, np.ndarray],
                 base_n: int, extra_rows: np.ndarray, extra_weights: np.ndarray, psf: PSFModelsParams,
                 impact: PSFImpactParams, progress: bool = True) -> dict:
    """Every seed's chain in this process. Returns {seed: {E: errors + train_seconds}},
    E = 0 the base alone."""
    base = base_errors(base_model_path, test)
    return {int(seed): {0: base} | impact_chain(base_model_path, pool, test, base_n, extra_rows, extra_weights,
                                                psf, impact, int(seed), progress)
            for seed in impact.seeds}


def summarise_sweep(sweep: Mapping) -> dict:
    """{E: {rel_rmse_pct_mean, rel_rmse_pct_std (over seeds, ddof 1), rel_rmse_pct_min, _max, n_seeds}}."""
    seeds = list(sweep)
    out = {}
    for n in sweep[seeds[0]]:
        vals = np.array([sweep[s][n]["rel_rmse_pct"] for s in seeds])
        out[str(n)] = {
            "rel_rmse_pct_mean": float(vals.mean()),
            "rel_rmse_pct_std": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
            "rel_rmse_pct_min": float(vals.min()), "rel_rmse_pct_max": float(vals.max()),
            "n_seeds": len(vals),
        }
    return out


def sweep_seconds(sweep: Mapping) -> dict:
    """{seed: {E: train seconds}} and their mean over seeds per E (the record of a sweep)."""
    seeds = list(sweep)
    per_seed = {str(s): {str(n): r["train_seconds"] for n, r in sweep[s].items()} for s in seeds}
    mean = {str(n): float(np.mean([sweep[s][n]["train_seconds"] for s in seeds])) for n in sweep[seeds[0]]}
    return {"per_seed": per_seed, "mean": mean, "total": float(sum(v for r in per_seed.values() for v in r.values()))}


def base_model_file(psf: PSFModelsParams, base: int, models_dir=paths.PSF_MODELS_DIR) -> Path:
    """The PSF model of the psf_models stage trained on exactly the first ``base`` stars
    (S1 for 50, S2 for 100)."""
    sizes = list(psf.training_sets)
    require(base in sizes, "base", base, f"a size among psf_models.training_sets {sizes}")
    return Path(models_dir) / f"{set_names(len(sizes))[sizes.index(base)]}.h5"


def configuration_name(base: int, variant: str) -> str:
    """'base50_predicted': a configuration's name (its metrics file: metrics/psf_impact/base50/predicted.json)."""
    return f"base{base}_{variant}"


def chain_task(task) -> dict:
    """A worker's task (:mod:`starsed.parallel`): ('base', None) the base model's errors, or
    (variant, seed) one chain."""
    from ..parallel import shared

    d = shared()
    variant, seed = task
    if variant == "base":
        return base_errors(d["model_file"], d["test"])
    return impact_chain(d["model_file"], d["pool"], d["test"], d["base"], d["rows"], d["weights"][variant],
                        d["psf"], d["impact"], seed, progress=False)


def run(cfg, base: int, simulate_path=paths.MAIN, models_dir=paths.PSF_MODELS_DIR, root=".",
        progress: bool = True) -> dict:
    """Every configuration of base ``base``: one chain per (variant in ``psf_impact.variants``,
    seed), run by ``psf_impact.workers`` single-threaded processes (the results do not
    depend on how many). Writes ``metrics/psf_impact/base<B>/<variant>.json`` per variant
    and ``records/psf_impact/base<B>.json`` (train seconds); returns {variant: result}."""
    from ..io import h5_rows, read_h5, write_results
    from ..parallel import run_tasks

    psf, impact = cfg.psf_models, cfg.psf_impact
    model_file = base_model_file(psf, base, models_dir)
    dataset = paths.predict_seds_file(base)
    if not Path(dataset).is_file():
        raise FileNotFoundError(f"{dataset} not found (base {base}); make it with `dvc repro predict_seds` "
                                f"(predict_seds.bases must include {base})")
    if not Path(model_file).is_file():
        raise FileNotFoundError(f"{model_file} not found (base {base}); make it with `dvc repro psf_models`")
    extra = read_h5(dataset, "extra")
    require(impact.added[-1] <= len(extra["rows"]), "psf_impact.added", list(impact.added),
            f"at most the {len(extra['rows'])} labelled extra stars (predict_seds.extra_rows)")
    require(psf.n_test <= h5_rows(simulate_path, "test"), "psf_models.n_test",
            psf.n_test, "at most the test stars of the main exposure")
    last = int(extra["rows"].max()) + 1
    shared = {"model_file": str(model_file), "base": base, "rows": extra["rows"], "psf": psf, "impact": impact,
              "weights": {v: extra[f"weights_{v}"] for v in impact.variants},
              "pool": read_h5(simulate_path, "train", ["positions", "noisy", "sed_weights"], rows=slice(0, last)),
              "test": read_h5(simulate_path, "test", list(TEST_KEYS), rows=slice(0, psf.n_test))}
    tasks = [("base", None)] + [(v, int(s)) for v in impact.variants for s in impact.seeds]
    done = dict(zip(tasks, run_tasks(chain_task, tasks, impact.workers, shared, desc=f"PSF impact, base {base}",
                                     progress=progress)))
    out, seconds = {}, {}
    for variant in impact.variants:
        sweep = {s: {0: done[("base", None)]} | done[(variant, s)] for s in impact.seeds}
        out[variant] = {"base": base, "variant": variant, "errors": summarise_sweep(sweep),
                        "per_seed": {str(s): {str(n): {k: v for k, v in point.items() if k != "train_seconds"}
                                              for n, point in r.items()} for s, r in sweep.items()}}
        write_results(f"psf_impact/base{base}/{variant}", root, metrics=out[variant])
        seconds[variant] = sweep_seconds(sweep)
    write_results(f"psf_impact/base{base}", root, record={"train_seconds": seconds})
    return out
