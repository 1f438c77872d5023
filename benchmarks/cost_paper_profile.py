"""The paper profile's PSF-model cost on this machine, extrapolated from measured Adam epochs.

The paper profile trains S1..S6 and every PSF-impact chain with the paper's Adam schedule
(``psf_models.paper``, ``psf_impact.paper``; data-driven part on), a cost of (stars x epochs)
per phase. This script measures the seconds per star and epoch of each of the three phase
kinds (parametric with the data-driven part off, as in the first cycle; parametric with it
on; data-driven) on real training stars of the main exposure, then multiplies by the paper
profile's star counts and epochs. The first epoch of each phase (tracing, compilation) is
not counted. Ends with

    RESULT psf_models_h=<...> psf_impact_h=<...> chains=<...> s_per_star_epoch_param=<...> ...

Needs the main exposure (``dvc repro simulate`` or ``dvc pull``).
Usage: ``python benchmarks/cost_paper_profile.py [--stars 256] [--epochs 3]``
"""
from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from starsed.runtime import configure


def phase_costs(model, data, epochs: int, batch: int, seed: int = 0) -> dict[str, float]:
    """Seconds per star and epoch of the phases 'param0' (data-driven off), 'param1' (on) and
    'dd', from ``epochs`` epochs of each after one uncounted epoch."""
    from starsed.psf_model import fit
    from starsed.psf_model.recipes import AdamRecipe

    n = epochs + 1
    recipe = AdamRecipe(cycles=2, param_epochs=(n, n), dd_epochs=(n, 0), batch=batch)
    history = fit(model, data, recipe, seed=seed, init="random", progress=False).history
    seconds = np.diff([0.0] + [h["seconds"] for h in history])
    kinds = ["param0"] * n + ["dd"] * n + ["param1"] * n
    out = {}
    for kind in ("param0", "dd", "param1"):
        s = [t for t, k in zip(seconds, kinds) if k == kind][1:]
        out[kind] = float(np.mean(s)) / len(data.positions)
    return out


def schedule_seconds(costs: dict[str, float], n_stars: int, param_epochs, dd_epochs) -> float:
    """Seconds of one Adam fit of ``n_stars`` with the per-cycle epochs (cycle 0: data-driven off)."""
    total = 0.0
    for cycle, (p, d) in enumerate(zip(param_epochs, dd_epochs)):
        total += p * (costs["param0"] if cycle == 0 else costs["param1"]) + d * costs["dd"]
    return n_stars * total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stars", type=int, default=256, help="training stars of the timing fits")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per phase")
    args = parser.parse_args()
    configure(0, tensorflow=True)

    from starsed import paths
    from starsed.io import read_h5
    from starsed.params import load_sections
    from starsed.psf_model import PSFModel
    from starsed.stages import predict_seds, psf_impact, psf_models

    sections = {**psf_models.SECTIONS, **psf_impact.SECTIONS, **predict_seds.SECTIONS}
    cfg = load_sections(sections, profile="paper")
    psf, impact = cfg.psf_models, cfg.psf_impact
    config = psf.model_config(cfg.field)
    train = read_h5(paths.MAIN, "train", ["positions", "sed_weights", "noisy"], rows=slice(0, args.stars))
    model = PSFModel(cfg.telescope, config)
    data = model.prepare(train["positions"], train["noisy"], train["sed_weights"])
    costs = phase_costs(model, data, args.epochs, psf.paper.batch)
    print("seconds per star and epoch: " + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in costs.items()))

    models_s = []
    for i, n in enumerate(psf.training_sets):
        s = schedule_seconds(costs, n, psf.paper.param_epochs[i], psf.paper.dd_epochs[i])
        models_s.append(s)
        print(f"  psf_models {psf.names[i]} ({n} stars): {s / 60:6.1f} min")
    chain_s = {}
    for base in cfg.predict_seds.bases:
        chain_s[base] = sum(schedule_seconds(costs, base + e, impact.paper.param_epochs[k], impact.paper.dd_epochs[k])
                            for k, e in enumerate(impact.added))
        print(f"  psf_impact chain, base {base}: {chain_s[base] / 3600:6.2f} h")
    n_chains = len(impact.variants) * len(impact.seeds)
    impact_s = n_chains * sum(chain_s.values())
    print(f"psf_models {sum(models_s) / 3600:.2f} h; psf_impact {impact_s / 3600:.1f} h "
          f"({n_chains} chains per base, one after the other, at this process's threads)")
    print(f"RESULT psf_models_h={sum(models_s) / 3600:.2f} psf_impact_h={impact_s / 3600:.1f} "
          f"chains={n_chains * len(chain_s)} " + " ".join(f"s_per_star_epoch_{k}={v:.5f}" for k, v in costs.items()))


if __name__ == "__main__":
    main()
