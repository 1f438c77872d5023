"""PSF-impact chains, time and accuracy: params.yaml's recipe against a candidate, same stars.

Runs the psf_impact stage's own chain (:func:`starsed.stages.psf_impact.impact_chain`:
base model, even-part reset, warm-chained fits over ``psf_impact.added``) for a few
(variant, seed) chains of one base set, first with ``params.yaml``'s ``psf_impact``
section (the baseline), then with that section changed by ``--candidate`` (a JSON
object of overrides of ``psf_impact``, e.g. ``'{"fast": {"passes": [30, 6, 5, 4, 4, 4]}}'``;
with ``--reuse-after E`` the candidate chain also reuses the preconditioner of the last
E <= E at every later E), in this one process, one after the other, on the same stars and the same TF threads.
Where the time goes is measured too: full-batch loss+gradient passes, Gauss-Newton
Hessians and test-star evaluations.

Ends with

    RESULT time_ratio=<baseline s / candidate s> max_error_ratio=<max over chains and E of
    candidate error / baseline error> ...

Needs ``data/simulate/main.h5``, ``data/predict_seds/base<B>.h5`` and ``models/psf``
(``dvc repro predict_seds``). A worker of the stage runs single-threaded: ``--threads 1``
times a chain as the stage runs it.
Usage: ``python benchmarks/bench_psf_impact.py [--base 50] [--variants predicted] [--seeds 1 2]
[--threads 1] [--candidate JSON] [--reuse-after E]``
"""
from __future__ import annotations

import argparse
import collections
import json
import time

import numpy as np

from starsed.runtime import configure


class Timers:
    """Wall time of the chain's three costly pieces (and the stars of each pass), by monkeypatching them."""

    def __init__(self):
        self.seconds = collections.Counter()
        self.star_passes = 0

    def install(self):
        import starsed.psf_model.lbfgs as lbfgs
        import starsed.psf_model.model as model
        import starsed.stages.psf_impact as impact

        def timed(fn, key):
            def wrapper(*args, **kwargs):
                t0 = time.perf_counter()
                out = fn(*args, **kwargs)
                self.seconds[key] += time.perf_counter() - t0
                if key == "passes":                   # loss_and_grad(self, part, C, feats, ...)
                    self.star_passes += len(args[3])
                return out
            return wrapper

        model.PSFModel.loss_and_grad = timed(model.PSFModel.loss_and_grad, "passes")
        lbfgs.gauss_newton_hessian = timed(lbfgs.gauss_newton_hessian, "hessians")
        impact.evaluate = timed(impact.evaluate, "evaluations")

    def snapshot(self) -> tuple[collections.Counter, int]:
        return collections.Counter(self.seconds), self.star_passes


def reuse_chain(model_file, pool, test, base_n, rows, weights, psf, impact, seed, fresh_until: int) -> dict:
    """The stage's chain with ``precond_reuse`` in every fit: one Gauss-Newton preconditioner per fit
    (not one per ``precond_every`` passes) up to E = ``fresh_until``, and from the first E above it
    on, the plain-basis preconditioner of the last fit at E <= ``fresh_until``, reused instead of
    estimated (the stars of E_(k-1) are a subset of E_k's)."""
    from dataclasses import replace

    from starsed.psf_model import PSFModel, fit, reset_even_part
    from starsed.stages import psf_impact

    sched = psf_impact.schedule(psf, impact)
    test = {k: test[k] for k in psf_impact.TEST_KEYS if k in test}
    model = PSFModel.load(model_file)
    psf_impact.perturbed_start(model, int(seed))
    runs, precond = {}, None
    for i, n in enumerate(impact.added):
        stars = psf_impact.augmented_training_set(pool, base_n, rows, weights, int(n))
        data = model.prepare(stars["positions"], stars["noisy"], stars["sed_weights"])
        recipe, run_seed, t0 = replace(sched.recipe(i), precond_reuse=True), psf.seed + i + 1000 * int(seed), \
            time.perf_counter()
        if impact.even_reset is not None and n == impact.even_reset.at:
            recipe = reset_even_part(model, data, recipe, impact.even_reset.plain_passes, run_seed, False)
        report = fit(model, data, recipe, seed=run_seed, init="current", progress=False,
                     preconditioner=precond if n > fresh_until else None)
        precond = report.preconditioner
        err = psf_impact.evaluate(model, test)              # the stage's (timed) evaluate
        runs[int(n)] = {k: err.get(k) for k in psf_impact.KEEP} | {"train_seconds": time.perf_counter() - t0}
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=50, help="base set (predict_seds.bases)")
    parser.add_argument("--variants", nargs="+", default=["predicted"], help="SED variants of the added stars")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2], help="chain seeds")
    parser.add_argument("--threads", type=int, default=1, help="TF threads (a stage worker uses 1)")
    parser.add_argument("--candidate", default="{}", help="JSON overrides of the psf_impact section")
    parser.add_argument("--reuse-after", type=int, default=None,
                        help="the candidate reuses the preconditioner of the last E <= this at every later E")
    args = parser.parse_args()
    configure(0, tensorflow=True, threads=args.threads)

    from starsed import paths
    from starsed.io import read_h5
    from starsed.params import _merge, from_params, load_params, sections_from
    from starsed.stages import psf_impact

    params = load_params()
    cfg = sections_from(params, psf_impact.SECTIONS)              # what the stage reads
    psf, baseline = cfg.psf_models, cfg.psf_impact
    # the candidate: the section with --candidate's overrides, merged (and checked) as a profile's are
    candidate = from_params(psf_impact.PSFImpactParams, _merge(params["psf_impact"], json.loads(args.candidate),
                                                                "psf_impact"), "psf_impact")
    extra = read_h5(paths.predict_seds_file(args.base), "extra")
    pool = read_h5(paths.MAIN, "train", ["positions", "noisy", "sed_weights"], rows=slice(0, int(extra["rows"].max()) + 1))
    test = read_h5(paths.MAIN, "test", list(psf_impact.TEST_KEYS), rows=slice(0, psf.n_test))
    model_file = psf_impact.base_model_file(psf, args.base)

    timers = Timers()
    timers.install()
    results = {}
    for label, section in (("baseline", baseline), ("candidate", candidate)):
        seconds_before, passes_before = timers.snapshot()
        t0, runs = time.perf_counter(), {}
        for variant in args.variants:
            for seed in args.seeds:
                chain_args = (model_file, pool, test, args.base, extra["rows"], extra[f"weights_{variant}"], psf,
                              section, seed)
                if label == "candidate" and args.reuse_after is not None:
                    runs[(variant, seed)] = reuse_chain(*chain_args, args.reuse_after)
                else:
                    runs[(variant, seed)] = psf_impact.impact_chain(*chain_args, progress=False)
        seconds = time.perf_counter() - t0
        seconds_after, passes_after = timers.snapshot()
        parts = seconds_after - seconds_before
        star_passes = passes_after - passes_before
        results[label] = {"seconds": seconds, "runs": runs}
        print(f"{label}: {seconds:.1f} s for {len(runs)} chains; passes {parts.get('passes', 0):.1f} s "
              f"({star_passes} star-passes, {1e3 * parts.get('passes', 0) / max(star_passes, 1):.2f} ms each), "
              f"Hessians {parts.get('hessians', 0):.1f} s, evaluations {parts.get('evaluations', 0):.1f} s",
              flush=True)
        for (variant, seed), r in runs.items():
            print(f"  {variant} seed {seed}: " + " ".join(f"+{n} {p['rel_rmse_pct']:.3f}% ({p['train_seconds']:.0f} s)"
                                                          for n, p in r.items()), flush=True)
    ratios = [results["candidate"]["runs"][c][n]["rel_rmse_pct"] / results["baseline"]["runs"][c][n]["rel_rmse_pct"]
              for c in results["baseline"]["runs"] for n in results["baseline"]["runs"][c]]
    mean_err = {k: float(np.mean([p["rel_rmse_pct"] for r in v["runs"].values() for p in r.values()]))
                for k, v in results.items()}
    print(f"RESULT time_ratio={results['baseline']['seconds'] / results['candidate']['seconds']:.2f} "
          f"max_error_ratio={max(ratios):.3f} baseline_s={results['baseline']['seconds']:.1f} "
          f"candidate_s={results['candidate']['seconds']:.1f} baseline_mean_error_pct={mean_err['baseline']:.3f} "
          f"candidate_mean_error_pct={mean_err['candidate']:.3f}")


if __name__ == "__main__":
    main()
